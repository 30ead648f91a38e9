"""Xero: OAuth 2.0 + PKCE, then GET /connections (xero-identity.yaml) lists the tenants the user has
connected to our app; the user picks one of THIS consent's tenants and its tenantId is kept.

- Scopes: apps created on or after 2 March 2026 get the granular scopes only
  (https://developer.xero.com/faq/granular-scopes): accounting.invoices (bills, credit notes),
  accounting.contacts, accounting.settings (accounts, tax rates, organisation),
  accounting.attachments, and offline_access for a refresh token. No OpenID scopes: nothing reads an
  id_token.
- GET /connections answers with every connection the Xero user has to our app, from every consent.
  Only the tenants of this consent are offered: its auth event id is the access token's
  `authentication_event_id` claim; Xero filters with `?authEventId=` and we filter again.
- Disconnect (`end_grant`): DELETE /connections/{id} removes this tenant's connection. The refresh
  token is then revoked at the revocation endpoint, which "revoke[s] access tokens and remove[s] all a
  user's connections" (XeroAPI/xero-python `TokenApi.revoke_token`), unless the user still has a
  connection to a tenant another live Dext connection uses: revoking would cut that one off too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .base import GrantEnded, GrantRevoked, OAuthProvider, Organisation, ProviderError, TokenSet

logger = logging.getLogger("integrations.providers")


class Xero(OAuthProvider):
    key = "xero"
    remove_access_hint = "remove the app in Xero > Settings > Connected apps"

    def organisations(self, *, tokens: TokenSet, callback: dict[str, str]) -> list[Organisation]:
        auth_event = str(tokens.jwt_claims().get("authentication_event_id") or "")
        if auth_event:
            connections = self._get_json(
                self._conf("CONNECTIONS_URL"), tokens, params={"authEventId": auth_event}
            )
            connections = [c for c in connections if c.get("authEventId") == auth_event]
        else:
            # Xero's access tokens are JWTs carrying the claim; without it every connection of the
            # user is offered, and the user chooses.
            logger.warning("Xero access token carries no authentication_event_id: listing every connection")
            connections = self._get_json(self._conf("CONNECTIONS_URL"), tokens)
        orgs = [
            Organisation(
                id=c["tenantId"],
                name=c.get("tenantName") or c["tenantId"],
                grant={"xero_connection_id": str(c.get("id") or ""), "xero_auth_event_id": auth_event},
            )
            for c in connections
            # Practice tenants (Xero HQ) hold no books to publish bills to.
            if c.get("tenantType", "ORGANISATION") == "ORGANISATION"
        ]
        if not orgs:
            raise ProviderError(
                "No Xero organisation was shared with Dext. Start again and tick the organisation "
                "on Xero's consent screen.",
                code="no_organisation",
            )
        return orgs

    def end_grant(
        self, *, credentials: dict[str, Any], external_id: str, shared: Callable[[list[str]], bool]
    ) -> GrantEnded:
        try:
            tokens = self._fresh_tokens(credentials)
            connections_url = self._conf("CONNECTIONS_URL")
            connection_id = credentials.get("xero_connection_id") or ""
            if not connection_id:
                # Connected before the id was kept: find this tenant's connection.
                listed = self._get_json(connections_url, tokens)
                connection_id = next((c["id"] for c in listed if c.get("tenantId") == external_id), "")
            if connection_id:
                response = self._delete(f"{connections_url}/{connection_id}", tokens)
                removed = "removed the connection" if response != 404 else "the connection was already gone"
            else:
                removed = "the connection was already gone"
            remaining = [c.get("tenantId", "") for c in self._get_json(connections_url, tokens)]
            if remaining and shared(remaining):
                return GrantEnded(
                    detail=f"{removed}; access kept, because the same Xero user's other connections to "
                    "Dext Connect are still in use"
                )
            self._revoke(tokens.refresh_token)
        except GrantRevoked:
            # The grant had already ended (revoked in Xero, or unused for 60 days): nothing to tell.
            return GrantEnded(detail="Xero had already ended Dext Connect's access")
        return GrantEnded(detail=f"{removed} and revoked Dext Connect's access")

    def _delete(self, url: str, tokens: TokenSet) -> int:
        response = self._send("DELETE", url, headers={"Authorization": f"Bearer {tokens.access_token}"})
        if response.status_code == 404:  # xero-identity.yaml deleteConnection: "Resource not found"
            return 404
        self._check(response, f"DELETE {url}")
        return response.status_code

    def _revoke(self, refresh_token: str) -> None:
        """POST token=<refresh token>, client credentials in the body, as Xero's own SDK does."""
        self._revocation(
            data={
                "token": refresh_token,
                "client_id": self._conf("CLIENT_ID"),
                "client_secret": self._conf("CLIENT_SECRET"),
            }
        )

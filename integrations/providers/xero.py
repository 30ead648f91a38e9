"""Xero: OAuth 2.0 + PKCE, then GET /connections (xero-identity.yaml) lists the tenants the user
authorised; the user picks one and its tenantId is kept."""

from __future__ import annotations

from .base import OAuthProvider, Organisation, ProviderError, TokenSet


class Xero(OAuthProvider):
    key = "xero"

    def organisations(self, *, tokens: TokenSet, callback: dict[str, str]) -> list[Organisation]:
        connections = self._get_json(self._conf("CONNECTIONS_URL"), tokens)
        orgs = [
            Organisation(id=c["tenantId"], name=c.get("tenantName") or c["tenantId"])
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

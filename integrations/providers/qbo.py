"""QuickBooks Online: OAuth 2.0 + PKCE; the company (realmId) comes back on the callback, and its name
from the CompanyInfo API.

- Every API call sends `minorversion=75` and `Accept: application/json`. Intuit answers a request
  without minorversion in 75 anyway and documents Accept as optional (see docs/providers.md), so this
  pins what we parse rather than avoiding a refusal.
- Token requests ask for the five-year refresh-token maximum (`x-include-refresh-token-hard-expires-in:
  true`); the rolling and the hard expiry are kept with the tokens (TokenSet).
- Disconnect revokes the refresh token at Intuit's revoke endpoint (JSON `{"token": …}`, HTTP Basic
  client credentials, as intuit/oauth-jsclient and oauth-pythonclient do), unless another live Dext
  connection is to the same company.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import GrantEnded, GrantRevoked, OAuthProvider, Organisation, ProviderError, TokenSet

MINOR_VERSION = "75"


class QuickBooksOnline(OAuthProvider):
    key = "qbo"
    token_headers = {"x-include-refresh-token-hard-expires-in": "true"}
    api_params = {"minorversion": MINOR_VERSION}
    remove_access_hint = "disconnect Dext Connect in QuickBooks Online's list of connected apps"

    def organisations(self, *, tokens: TokenSet, callback: dict[str, str]) -> list[Organisation]:
        realm_id = (callback.get("realmId") or "").strip()
        if not realm_id:
            raise ProviderError(
                "QuickBooks Online did not say which company you chose. Start again and choose a company.",
                code="no_realm",
            )
        info = self._get_json(f"{self._conf('API_URL')}/company/{realm_id}/companyinfo/{realm_id}", tokens)
        name = (info.get("CompanyInfo") or {}).get("CompanyName") or f"Company {realm_id}"
        return [Organisation(id=realm_id, name=name)]

    def end_grant(
        self, *, credentials: dict[str, Any], external_id: str, shared: Callable[[list[str]], bool]
    ) -> GrantEnded:
        if shared([external_id]):
            return GrantEnded(
                detail="access kept, because another Dext Connect account is connected to the same company"
            )
        token = credentials.get("refresh_token") or credentials.get("access_token") or ""
        try:
            self._revocation(
                json={"token": token},
                auth=(self._conf("CLIENT_ID"), self._conf("CLIENT_SECRET")),
            )
        except GrantRevoked:
            return GrantEnded(detail="QuickBooks Online had already ended Dext Connect's access")
        return GrantEnded(detail="revoked Dext Connect's access")

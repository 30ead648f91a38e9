"""QuickBooks Online: OAuth 2.0 + PKCE; the company (realmId) comes back on the callback, and its name
from the CompanyInfo API."""

from __future__ import annotations

from .base import OAuthProvider, Organisation, ProviderError, TokenSet


class QuickBooksOnline(OAuthProvider):
    key = "qbo"

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

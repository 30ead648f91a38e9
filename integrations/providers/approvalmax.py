"""ApprovalMax: OAuth 2.0 + PKCE, then the user chooses an ApprovalMax organisation. An organisation
must itself be connected to Xero or QuickBooks Online, or there is nowhere for approved bills to go.

Checked against ApprovalMax's public API documentation (docs/providers.md has the sources):
- The token endpoint takes `client_id` and `client_secret` in the form body (client_secret_post); HTTP
  Basic is not documented.
- Scopes: `offline_access` and `https://www.approvalmax.com/scopes/public_api/read` (no `openid`,
  which the scope list does not name).
- GET /companies documents only `name` and `companyId`. Which accounting software an organisation is
  connected to is not documented; the sandbox (and, perhaps, ApprovalMax) send `integrationType`.
  Both shapes are handled: with the field, an organisation connected to neither Xero nor QuickBooks
  Online cannot be chosen; without it, the organisation can be chosen and the page says the check
  could not be made (LINKED_UNKNOWN).
- There is no revocation endpoint: a user removes our access in ApprovalMax's Connections list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import LINKED_UNKNOWN, GrantEnded, OAuthProvider, Organisation, ProviderError, TokenSet

# ApprovalMax names the accounting system each organisation is connected to; ours is its provider key.
LINKED = {"xero": "xero", "qbooks": "qbo", "quickbooksonline": "qbo"}
LINKED_LABELS = {"xero": "Xero", "qbo": "QuickBooks Online"}
LINK_FIELD = "integrationType"  # not in the documented answer: see the module docstring


class ApprovalMax(OAuthProvider):
    key = "approvalmax"
    token_auth_method = "client_secret_post"
    remove_access_hint = "delete Dext Connect's connection in ApprovalMax's Connections list"

    def organisations(self, *, tokens: TokenSet, callback: dict[str, str]) -> list[Organisation]:
        companies = self._get_json(f"{self._conf('API_URL')}/companies", tokens)
        orgs = [self._organisation(c) for c in companies]
        if not orgs:
            raise ProviderError(
                "Your ApprovalMax user has no organisations. Create one in ApprovalMax, then start again.",
                code="no_organisation",
            )
        return orgs

    @staticmethod
    def _organisation(company: dict[str, Any]) -> Organisation:
        org_id, name = str(company["companyId"]), company.get("name") or str(company["companyId"])
        if LINK_FIELD not in company:
            return Organisation(
                id=org_id,
                name=name,
                linked=LINKED_UNKNOWN,
                note="ApprovalMax does not say which accounting software it is connected to: make sure "
                "it is your main accounting software",
            )
        linked = LINKED.get((company.get(LINK_FIELD) or "").lower())
        if linked is None:
            return Organisation(
                id=org_id,
                name=name,
                selectable=False,
                reason="This ApprovalMax organisation is not connected to Xero or QuickBooks Online. "
                "Connect it in ApprovalMax first, then start again.",
            )
        return Organisation(id=org_id, name=name, linked=linked, note=f"Connected to {LINKED_LABELS[linked]}")

    def end_grant(
        self, *, credentials: dict[str, Any], external_id: str, shared: Callable[[list[str]], bool]
    ) -> GrantEnded:
        # https://support.approvalmax.com/portal/en/kb/articles/how-to-verify-authorized-organisations-with-access-permissions
        return GrantEnded(
            detail="ApprovalMax has no way for an app to end its own access",
            still_to_do=f"to end Dext Connect's access in ApprovalMax too, {self.remove_access_hint}",
        )

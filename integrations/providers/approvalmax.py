"""ApprovalMax: OAuth 2.0 + PKCE, then the user chooses an ApprovalMax organisation. An organisation
must itself be connected to Xero or QuickBooks Online, or there is nowhere for approved bills to go."""

from __future__ import annotations

from .base import OAuthProvider, Organisation, ProviderError, TokenSet

# ApprovalMax names the accounting system each organisation is connected to; ours is its provider key.
LINKED = {"xero": "xero", "qbooks": "qbo", "quickbooksonline": "qbo"}
LINKED_LABELS = {"xero": "Xero", "qbo": "QuickBooks Online"}


class ApprovalMax(OAuthProvider):
    key = "approvalmax"

    def organisations(self, *, tokens: TokenSet, callback: dict[str, str]) -> list[Organisation]:
        companies = self._get_json(f"{self._conf('API_URL')}/companies", tokens)
        orgs = []
        for c in companies:
            linked = LINKED.get((c.get("integrationType") or "").lower())
            orgs.append(
                Organisation(
                    id=str(c["companyId"]),
                    name=c.get("name") or str(c["companyId"]),
                    selectable=linked is not None,
                    note=f"Connected to {LINKED_LABELS[linked]}" if linked else "",
                    linked=linked or "",
                    reason=""
                    if linked
                    else "This ApprovalMax organisation is not connected to Xero or QuickBooks Online. "
                    "Connect it in ApprovalMax first, then start again.",
                )
            )
        if not orgs:
            raise ProviderError(
                "Your ApprovalMax user has no organisations. Create one in ApprovalMax, then start again.",
                code="no_organisation",
            )
        return orgs

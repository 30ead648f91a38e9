"""The provider catalog: what can be connected, its kind, and how it connects."""

from __future__ import annotations

from dataclasses import dataclass

from .models import ADDITIONAL_PROVIDERS, MAIN_PROVIDERS, Provider


@dataclass(frozen=True)
class ProviderInfo:
    key: str
    label: str
    is_main: bool
    # "oauth" (Xero, QuickBooks Online, ApprovalMax), "login" (Bill.com), "web_connector" (QBD)
    flow: str
    blurb: str


CATALOG: dict[str, ProviderInfo] = {
    Provider.XERO: ProviderInfo(
        Provider.XERO, "Xero", True, "oauth", "Sign in to Xero, allow access, choose the organisation."
    ),
    Provider.QBO: ProviderInfo(
        Provider.QBO, "QuickBooks Online", True, "oauth", "Sign in to Intuit and choose the company."
    ),
    Provider.QBD: ProviderInfo(
        Provider.QBD,
        "QuickBooks Desktop",
        True,
        "web_connector",
        "Add our file to the QuickBooks Web Connector on the computer running QuickBooks.",
    ),
    Provider.BILLCOM: ProviderInfo(
        Provider.BILLCOM,
        "Bill.com",
        False,
        "login",
        "Sign in with your Bill.com user name, password and organisation ID.",
    ),
    Provider.APPROVALMAX: ProviderInfo(
        Provider.APPROVALMAX,
        "ApprovalMax",
        False,
        "oauth",
        "Sign in to ApprovalMax and choose the organisation.",
    ),
}

MAIN = [CATALOG[p] for p in Provider if p in MAIN_PROVIDERS]
ADDITIONAL = [CATALOG[p] for p in Provider if p in ADDITIONAL_PROVIDERS]


def provider_info(key: str) -> ProviderInfo | None:
    return CATALOG.get(key)

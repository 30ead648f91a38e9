"""The sandbox's pretend Xero, Intuit and ApprovalMax logins.

A real provider's consent screen first signs the person in to the provider, then lists only the
organisations that login may connect. The sandbox does the same: each of its provider users has its
own organisations and is meant for one demo account, whose connect page shows its sign-in (as the
Bill.com form shows that account's sandbox Bill.com sign-in). Another tenant can use it only by
knowing its password, which only that account's pages show.

Passwords are not in the code: each is derived from SECRET_KEY, so they differ between deployments
and cannot be guessed from one's own (the demo's pages show them to the people who may see them).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings

from .data import ORGANISATIONS, PROVIDER_LABELS

# Whose sign-in page each provider's consent screen plays: QuickBooks Online's is Intuit's.
SIGN_IN_BRANDS = {"xero": "Xero", "qbo": "Intuit", "approvalmax": "ApprovalMax"}


@dataclass(frozen=True)
class ProviderUser:
    provider: str
    username: str
    # The demo account (slug) this login is meant for: its pages show the sign-in.
    account: str
    # The organisations (tenants, companies) this login may connect.
    org_ids: tuple[str, ...]
    # Tests make users with a known password; the demo's are derived (see `password`).
    given_password: str = ""

    @property
    def key(self) -> str:
        """Who consented, as the sandbox's grants record it (IssuedToken.user_key): one Xero user's
        consents are listed together by GET /connections."""
        return f"{self.provider}:{self.username}"

    @property
    def label(self) -> str:
        return PROVIDER_LABELS[self.provider]

    @property
    def password(self) -> str:
        if self.given_password:
            return self.given_password
        key = hashlib.sha256(f"sandbox-provider-users:{settings.SECRET_KEY}".encode()).digest()
        digest = hmac.new(key, f"{self.provider}:{self.username}".encode(), hashlib.sha256).hexdigest()
        return f"{digest[:4]}-{digest[4:8]}-{digest[8:12]}"

    def checks(self, password: str) -> bool:
        return hmac.compare_digest(self.password.encode(), password.encode())


def _org(provider: str, name: str) -> str:
    return next(org_id for p, org_id, n, _ in ORGANISATIONS if (p, n) == (provider, name))


PROVIDER_USERS: list[ProviderUser] = [
    ProviderUser("xero", "xero@acme.test", "acme", (_org("xero", "Acme Ltd (Demo)"),)),
    ProviderUser(
        "xero",
        "xero@globex.test",
        "globex",
        (_org("xero", "Globex Holdings (Demo)"), _org("xero", "Demo Company (UK)")),
    ),
    ProviderUser("xero", "xero@initech.test", "initech", (_org("xero", "Initech (Demo)"),)),
    ProviderUser("qbo", "intuit@acme.test", "acme", (_org("qbo", "Sandbox Company US"),)),
    ProviderUser("qbo", "intuit@globex.test", "globex", (_org("qbo", "Globex Trading (QuickBooks Demo)"),)),
    ProviderUser("qbo", "intuit@initech.test", "initech", (_org("qbo", "Initech (QuickBooks Demo)"),)),
    ProviderUser(
        "approvalmax",
        "approvalmax@acme.test",
        "acme",
        (_org("approvalmax", "Acme Approvals"), _org("approvalmax", "Draft Organisation")),
    ),
    ProviderUser(
        "approvalmax", "approvalmax@globex.test", "globex", (_org("approvalmax", "Globex Approvals"),)
    ),
    ProviderUser(
        "approvalmax", "approvalmax@initech.test", "initech", (_org("approvalmax", "Initech Approvals"),)
    ),
]


def users_for(account_slugs: set[str] | frozenset[str], provider: str | None = None) -> list[ProviderUser]:
    """The provider users meant for these accounts (of one provider, or all)."""
    return [
        u
        for u in PROVIDER_USERS
        if u.account and u.account in account_slugs and provider in (None, u.provider)
    ]


def bound_accounts() -> set[str]:
    return {u.account for u in PROVIDER_USERS if u.account}


def find(provider: str, username: str) -> ProviderUser | None:
    username = username.strip().lower()
    return next((u for u in PROVIDER_USERS if (u.provider, u.username) == (provider, username)), None)


def authenticate(provider: str, username: str, password: str) -> ProviderUser | None:
    user = find(provider, username)
    return user if user is not None and user.checks(password) else None

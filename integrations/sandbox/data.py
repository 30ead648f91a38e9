"""The sandbox's fixed demo data: clients, organisations and Bill.com users (shown on /sandbox/)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations import catalog

from .models import BillcomUser, IssuedToken, SandboxClient, SandboxOrganisation

ACCESS_TOKEN_LIFE = timedelta(minutes=30)
CODE_LIFE = timedelta(minutes=10)
BILLCOM_IDLE_LIFE = timedelta(minutes=35)

# The registry's labels; for QuickBooks Desktop the sandbox plays the customer's Web Connector.
PROVIDER_LABELS = {info.key: info.label for info in catalog.all_providers()} | {
    "qbd": "QuickBooks Desktop (Web Connector)"
}

ORGANISATIONS = [
    ("xero", "3f1e8c2a-6b0d-4c59-9a51-0c1d2e3f4a01", "Acme Ltd (Demo)", ""),
    ("xero", "3f1e8c2a-6b0d-4c59-9a51-0c1d2e3f4a02", "Globex Holdings (Demo)", ""),
    ("xero", "3f1e8c2a-6b0d-4c59-9a51-0c1d2e3f4a03", "Demo Company (UK)", ""),
    ("qbo", "9341453000000001", "Sandbox Company US", ""),
    ("qbo", "9341453000000002", "Globex Trading (QuickBooks Demo)", ""),
    ("approvalmax", "a7d0b1c2-0000-4000-8000-000000000001", "Acme Approvals", "Xero"),
    ("approvalmax", "a7d0b1c2-0000-4000-8000-000000000002", "Globex Approvals", "QBooks"),
    ("approvalmax", "a7d0b1c2-0000-4000-8000-000000000003", "Draft Organisation", ""),
]

BILLCOM_USERS = [
    ("accounts@acme.test", "billcom-demo-2026", "00801ACMEDEMO01", "Acme Ltd (Bill.com)"),
    ("ap@globex.test", "billcom-demo-2026", "00801GLOBEXDM02", "Globex Inc (Bill.com)"),
]

# The demo account (slug) each sandbox Bill.com sign-in is meant for: the account's Bill.com page and
# /sandbox/ show a sign-in only to people who can open that account.
BILLCOM_USER_ACCOUNTS = {
    "accounts@acme.test": "acme",
    "ap@globex.test": "globex",
}


def billcom_users_for(account_slugs: set[str] | frozenset[str]) -> list[tuple[str, str, str, str]]:
    """The sandbox Bill.com sign-ins (user name, password, organisation id, name) meant for these accounts."""
    return [u for u in BILLCOM_USERS if BILLCOM_USER_ACCOUNTS.get(u[0]) in account_slugs]


def clients() -> list[tuple[str, str, str]]:
    """(provider, client id, secret) as configured, so the sandbox accepts exactly what we send."""
    return [
        (
            info.key,
            getattr(settings, f"{info.settings_prefix}_CLIENT_ID", ""),
            getattr(settings, f"{info.settings_prefix}_CLIENT_SECRET", ""),
        )
        for info in catalog.of_kind("oauth")
    ]


@transaction.atomic
def ensure_seeded() -> None:
    """Create the fixed data if missing (tests flush tables, so this runs lazily, not in a migration)."""
    # The fixed organisations (not the per-account QuickBooks Desktop company files a Web Connector
    # run adds, which may come first, e.g. from `manage.py run_web_connector`).
    if SandboxOrganisation.objects.exclude(provider="qbd").exists() and SandboxClient.objects.exists():
        return
    for provider, client_id, secret in clients():
        if client_id:
            SandboxClient.objects.update_or_create(
                client_id=client_id, defaults={"provider": provider, "client_secret": secret}
            )
    for provider, org_id, name, linked in ORGANISATIONS:
        SandboxOrganisation.objects.get_or_create(
            provider=provider, org_id=org_id, defaults={"name": name, "linked_to": linked}
        )
    for username, password, org_id, org_name in BILLCOM_USERS:
        BillcomUser.objects.get_or_create(
            username=username,
            organisation_id=org_id,
            defaults={"password": password, "organisation_name": org_name},
        )


def issue_tokens(*, provider: str, client_id: str, org_ids: list[str], code=None) -> IssuedToken:
    return IssuedToken.objects.create(
        provider=provider,
        client_id=client_id,
        access_token=secrets.token_urlsafe(32),
        refresh_token=secrets.token_urlsafe(32),
        org_ids=org_ids,
        access_expires_at=timezone.now() + ACCESS_TOKEN_LIFE,
        code=code,
    )

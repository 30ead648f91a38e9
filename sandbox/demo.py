"""The sandbox's demo data (called by `manage.py seed_demo` inside scopes_disabled, only while the
sandbox is installed).

Acme Ltd is connected to Xero's sandbox organisation "Acme Ltd (Demo)" as admin@acme.test, with tokens
the sandbox issued itself, so refreshing them and later API calls work against the sandbox. Globex
and Initech start with nothing connected. Idempotent: once Acme has any connection row (including one
the demo user disconnected), running it again changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import Account, User
from integrations import services
from integrations.models import Connection

from . import data, users
from .models import SandboxOrganisation

ACME_XERO_ORG = "Acme Ltd (Demo)"


def seed(accounts: dict[str, Account]) -> None:
    acme = accounts.get("acme")
    if acme is None or not settings.SANDBOX_ENABLED:
        # Installed but switched off (a test): no Xero organisation whose tokens we could hold.
        return
    if Connection.objects.filter(account=acme).exists():
        return
    data.ensure_seeded()
    org = SandboxOrganisation.objects.get(provider="xero", name=ACME_XERO_ORG)
    admin = User.objects.get(email="admin@acme.test")
    (login,) = users.users_for({"acme"}, "xero")
    issued = data.issue_tokens(
        provider="xero",
        client_id=settings.XERO_CLIENT_ID,
        org_ids=[org.org_id],
        # As if Acme's sandbox Xero login had consented: the same Xero user as its later consents.
        user_key=login.key,
    )
    expires_at = timezone.now() + timedelta(seconds=data.ACCESS_TOKEN_LIFE.total_seconds())
    services.activate_connection(
        account=acme,
        acting_user=admin,
        provider="xero",
        external_id=org.org_id,
        external_name=org.name,
        credentials={
            "access_token": issued.access_token,
            "refresh_token": issued.refresh_token,
            "expires_at": expires_at.isoformat(),
        },
        access_expires_at=expires_at,
    )

"""The sandbox's demo data (called by `manage.py seed_demo` inside scopes_disabled, only while the
sandbox is installed).

Acme Ltd is connected to Xero's sandbox organisation "Acme Ltd (Demo)" as admin@acme.test, with tokens
the sandbox issued itself, so refreshing them and later API calls work against the sandbox. Its lists
(chart of accounts, VAT rates, contacts) are seeded as if they had been read, straight from the data the
sandbox answers with (sandbox/listdata.py: the same ids, codes and names), so the demo has them without a
worker; the first Refresh lists reads them in full (no incremental marker yet) and lands on the same
rows. Globex and Initech start with nothing connected. Idempotent: once Acme has any connection row
(including one the demo user disconnected), running it again changes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Account, User
from integrations import lists, services
from integrations.models import Connection, ListKind, ListSync, ListSyncState
from integrations.providers.lists import EntryData

from . import data, listdata, users
from .models import SandboxOrganisation

ACME_XERO_ORG = "Acme Ltd (Demo)"


# How the Xero adapter names an account's type (the detail shown next to it).
XERO_TYPES = {
    "REVENUE": "Revenue",
    "DIRECTCOSTS": "Direct Costs",
    "OVERHEADS": "Overhead",
    "DEPRECIATN": "Depreciation",
    "CURRENT": "Current Asset",
    "FIXED": "Fixed Asset",
    "CURRLIAB": "Current Liability",
}


def xero_entry(row: dict) -> EntryData:
    """A sandbox Xero list row (listdata.entries_for) as the read would store it."""
    info = row["data"]
    if row["kind"] == ListKind.ACCOUNT:
        revenue = info.get("Class") == "REVENUE"
        return EntryData(
            kind=row["kind"],
            external_id=row["entry_id"],
            code=row["code"],
            name=row["name"],
            detail=XERO_TYPES.get(info.get("Type", ""), info.get("Type", "").title()),
            for_costs=not revenue,
            for_sales=revenue,
        )
    if row["kind"] == ListKind.TAX_RATE:
        rate = Decimal(info["rate"])
        return EntryData(
            kind=row["kind"],
            external_id=row["entry_id"],
            code=row["code"],
            name=row["name"],
            detail=f"{rate.normalize():f}%",
            rate=rate,
            for_costs=bool(info.get("CanApplyToExpenses")),
            for_sales=bool(info.get("CanApplyToRevenue")),
        )
    return EntryData(kind=row["kind"], external_id=row["entry_id"], name=row["name"])


def seed_lists(connection: Connection, org_id: str) -> None:
    """The connection's lists as a read of the sandbox organisation would leave them: every entry, and
    its ListSync done now with no incremental marker (the first Refresh lists reads in full)."""
    listdata.ensure_lists("xero", org_id)
    rows = listdata.entries_for("xero", org_id)
    progress = {}
    for kind in lists.kinds_of(connection):
        entries = [xero_entry(row) for row in rows if row["kind"] == kind]
        lists.store_entries(connection=connection, kind=kind, entries=entries, complete=True)
        progress[kind] = {"read": len(entries), "done": True}
    now = timezone.now()
    ListSync.objects.update_or_create(
        connection=connection,
        defaults={
            "account": connection.account,
            "state": ListSyncState.DONE,
            "requested_at": now,
            "started_at": now,
            "finished_at": now,
            "last_success_at": now,
            "lease_until": None,
            "cursors": {},
            "progress": progress,
            "message": "",
        },
    )


@transaction.atomic  # the connect's read is enqueued at the commit, and finds the lists already read
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
    connection = services.activate_connection(
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
    seed_lists(connection, org.org_id)

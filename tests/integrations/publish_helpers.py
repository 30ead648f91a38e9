"""Helpers for the publishing contract tests (tests/integrations/test_publish_contract_*.py): connections
holding real sandbox tokens or sessions, BillData as the publishing service will build it from an item
and its lists, and what the sandbox received."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

from integrations import services
from integrations.models import Connection
from integrations.providers.publishing import BILL, BillData, BillLine, Party
from sandbox import faults
from sandbox.listdata import ensure_lists
from sandbox.models import SandboxBill, SandboxListEntry
from tests.integrations.sandbox_helpers import a_consent, exchanged, org_ids

BILLCOM_ACME = {
    "username": "accounts@acme.test",
    "password": "billcom-demo-2026",
    "organisation_id": "00801ACMEDEMO01",
}
QBO_COMPANY = "Sandbox Company US"


@contextmanager
def answer_lost(settings, provider: str, kind: str) -> Iterator[faults.Fault]:
    """The next create of `provider` is held by the sandbox ("timeout": before any work; "dropped":
    after the work), and our client gives up on it after half a second (only for this call). On the way
    out the test waits until the sandbox really held it (so a "dropped" document is committed before the
    test looks) and, once released, finished it."""
    held = kind in ("timeout", "dropped")  # "500" and "429" answer at once
    before = settings.PROVIDER_HTTP_TIMEOUT
    if held:
        settings.PROVIDER_HTTP_TIMEOUT = 0.5
    try:
        with faults.injected(provider, kind) as [fault]:
            yield fault
            settings.PROVIDER_HTTP_TIMEOUT = before
            if held:
                assert fault.reached.wait(faults.HOLD_LIMIT), "the sandbox never received the request"
        # Released: wait until the held request has finished with the database (it may share the
        # test's SQLite connection).
        assert fault.done.wait(faults.HOLD_LIMIT), "the sandbox never finished the request"
    finally:
        settings.PROVIDER_HTTP_TIMEOUT = before


def qbo_connection(connect, account, name: str = QBO_COMPANY) -> Connection:
    tokens = exchanged("qbo", a_consent("qbo", [name]))
    realm = org_ids("qbo", name)[0]
    ensure_lists("qbo", realm)
    return connect(
        account,
        "qbo",
        external_id=realm,
        credentials=tokens.as_credentials(),
        access_expires_at=tokens.expires_at,
    )


def billcom_connection(tenant, connect) -> Connection:
    connect(tenant.account, "xero")
    connection = services.connect_billcom(account=tenant.account, acting_user=tenant.admin, **BILLCOM_ACME)
    ensure_lists("billcom", BILLCOM_ACME["organisation_id"])
    return connection


def entry(provider: str, org_id: str, kind: str, name: str) -> SandboxListEntry:
    return SandboxListEntry.objects.get(provider=provider, org_id=org_id, kind=kind, name=name)


def a_bill(key: str, *, supplier: Party, lines: list[BillLine], number: str = "", **fields) -> BillData:
    total = sum((line.amount + (line.tax_amount or Decimal("0")) for line in lines), Decimal("0"))
    return BillData(
        key=key,
        kind=fields.pop("kind", BILL),
        number=number or f"INV-{key}",
        date=fields.pop("on", date(2026, 1, 5)),
        due_date=fields.pop("due", date(2026, 2, 4)),
        supplier=supplier,
        lines=tuple(lines),
        total=fields.pop("total", total),
        **fields,
    )


def received(provider: str, org_id: str) -> list[SandboxBill]:
    return list(SandboxBill.objects.filter(provider=provider, org_id=org_id).order_by("pk"))


def numbers(provider: str, org_id: str) -> list[str]:
    return [b.number for b in received(provider, org_id)]

"""Helpers for the publishing worker tests: items whose lists are those of a sandbox organisation (our
ListEntry rows with the sandbox's ids, codes and names, as a real read stores them), and the task queue
worked off as the database worker would."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils import timezone
from django_scopes import scopes_disabled
from django_tasks import TaskResultStatus

from costs.models import Item, ItemStatus, Supplier, SupplierLink, SupplierMatch
from integrations.lists import normalise
from integrations.models import Connection, ListEntry
from tests.integrations.publish_helpers import entry

PUBLISH_TASK = "costs.tasks.publish_attempt"


def our_entry(connection: Connection, kind: str, name: str, *, code: str | None = None) -> ListEntry:
    """The connection's list entry for the sandbox's entry `name` (code overridable: an entry the
    provider has deleted since our last read)."""
    found = entry(connection.provider, connection.external_id, kind, name)
    row, _ = ListEntry.objects.get_or_create(
        connection=connection,
        kind=kind,
        external_id=found.entry_id if code is None else f"{found.entry_id}-{code}",
        defaults={
            "account": connection.account,
            "code": found.code if code is None else code,
            "name": found.name if code is None else f"{found.name} (old)",
            "match_name": normalise(found.name),
        },
    )
    return row


def ready_item(
    connection: Connection,
    reference: str,
    *,
    supplier: str = "Acme Supplies",
    category: str = "General Expenses",
    tax_rate: str | None = "20% (VAT on Expenses)",
    code: str | None = None,
    to: Connection | None = None,
    **fields,
) -> Item:
    """A Ready bill of `supplier` (linked to the sandbox's contact or vendor) with `connection`'s lists,
    routed to `connection` (or to `to`, an integration that uses those lists: ApprovalMax)."""
    target = to or connection
    account = connection.account
    with scopes_disabled():
        known, _ = Supplier.objects.get_or_create(account=account, name=supplier)
        SupplierLink.objects.get_or_create(
            account=account,
            supplier=known,
            connection=connection,
            defaults={
                "entry": our_entry(connection, "supplier", supplier),
                "matched_by": SupplierMatch.EXACT,
            },
        )
        return Item.objects.create(
            account=account,
            type=fields.pop("type", "bill"),
            status=ItemStatus.READY,
            date=date(2026, 1, 5),
            due_date=date(2026, 2, 4),
            supplier=known,
            reference=reference,
            category_entry=our_entry(connection, "account", category, code=code),
            tax_rate_entry=our_entry(connection, "tax_rate", tax_rate) if tax_rate else None,
            total=Decimal("120.00"),
            tax=Decimal("20.00") if tax_rate else Decimal("0"),
            currency="GBP",
            integration=None if target.is_main else target,
            **fields,
        )


def queued_tasks(*, due_only: bool = True) -> list[dict]:
    """The publish tasks waiting in the database queue (their kwargs), as db_worker would pick them."""
    from django_tasks_db.models import DBTaskResult

    rows = DBTaskResult.objects.filter(task_path=PUBLISH_TASK, status=TaskResultStatus.READY)
    if due_only:
        rows = rows.ready()
    return [row.args_kwargs["kwargs"] for row in rows.order_by("enqueued_at")]


def work_off() -> list[str | None]:
    """Run every due publish task once, as the worker does (each marked done), in order."""
    from django_tasks_db.models import DBTaskResult

    from costs.tasks import publish_attempt

    results = []
    for row in list(
        DBTaskResult.objects.filter(task_path=PUBLISH_TASK, status=TaskResultStatus.READY)
        .ready()
        .order_by("enqueued_at")
    ):
        DBTaskResult.objects.filter(pk=row.pk).update(
            status=TaskResultStatus.SUCCESSFUL, started_at=timezone.now(), finished_at=timezone.now()
        )
        results.append(publish_attempt.func(**row.args_kwargs["kwargs"]))
    return results

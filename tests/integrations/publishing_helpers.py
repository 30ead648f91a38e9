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


def on_redis() -> bool:
    """Is the task backend django-tasks-rq (TASKS_BACKEND=rq: CI's Redis pass)?"""
    from costs.tasks import publish_attempt

    return type(publish_attempt.get_backend()).__name__ == "RQBackend"


def _rq_queue():
    import django_rq
    from django_tasks_rq import Job

    return django_rq.get_queue("default", job_class=Job)


def _rq_publish_jobs(*, due_only: bool, path: str | None = PUBLISH_TASK) -> list:
    """The publish jobs (or those of the task at `path`; None: every task's) in Redis: queued ones, and
    scheduled ones (run_after) when due or asked for."""
    from datetime import UTC, datetime

    queue = _rq_queue()
    registry = queue.scheduled_job_registry
    scheduled = (
        registry.get_job_ids()
        if not due_only
        else registry.get_jobs_to_schedule(int(datetime.now(UTC).timestamp()))
    )
    jobs = [queue.fetch_job(job_id) for job_id in [*queue.get_job_ids(), *scheduled]]
    return [j for j in jobs if j is not None and (path is None or j.func_name == path)]


def empty_queue() -> None:
    """Redis is not rolled back with the test's database: each test starts with no publish jobs."""
    if on_redis():
        queue = _rq_queue()
        for job in _rq_publish_jobs(due_only=False, path=None):
            queue.scheduled_job_registry.remove(job)
            job.delete()
        queue.empty()


def queued_tasks(*, due_only: bool = True) -> list[dict]:
    """The publish tasks waiting in the queue (their kwargs), as the worker would pick them."""
    if on_redis():
        return [dict(job.kwargs) for job in _rq_publish_jobs(due_only=due_only)]
    from django_tasks_db.models import DBTaskResult

    rows = DBTaskResult.objects.filter(task_path=PUBLISH_TASK, status=TaskResultStatus.READY)
    if due_only:
        rows = rows.ready()
    return [row.args_kwargs["kwargs"] for row in rows.order_by("enqueued_at")]


def work_off() -> list[str | None]:
    """Run every due publish task once, as the worker does (each taken off the queue), in order."""
    from costs.tasks import publish_attempt

    results = []
    if on_redis():
        queue = _rq_queue()
        for job in _rq_publish_jobs(due_only=True):
            queue.scheduled_job_registry.remove(job)
            queue.remove(job)
            job.delete()
            results.append(publish_attempt.func(**job.kwargs))
        return results
    from django_tasks_db.models import DBTaskResult

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


def make_due(**attempts) -> None:
    """Time passes: the waiting attempts (all, or `attempts` filters) and their tasks are due now, and
    any Retry-After is over."""
    from datetime import timedelta

    from costs.models import PublishAttempt
    from integrations.models import CallLimit

    with scopes_disabled():
        PublishAttempt.objects.filter(**attempts).update(next_try_at=timezone.now() - timedelta(seconds=1))
    CallLimit.objects.update(blocked_until=None)
    if on_redis():
        queue = _rq_queue()
        for job in _rq_publish_jobs(due_only=False):
            if job.id in queue.scheduled_job_registry:
                queue.scheduled_job_registry.remove(job)
                queue.enqueue_job(job)
        return
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(task_path=PUBLISH_TASK).update(run_after=timezone.now())


def tasks_taken_by_a_worker() -> None:
    """A worker took every waiting publish task (and is about to die with them): none is queued."""
    if on_redis():
        empty_queue()
        return
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(task_path=PUBLISH_TASK).update(status="RUNNING")

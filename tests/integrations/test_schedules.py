"""The worker's own schedule (integrations/schedules.py): `schedule_tasks` starts it and is idempotent
(starting the worker twice, or two workers at once, never makes two schedules); each scheduled task
enqueues its next run before its work; the worker renews access tokens every five minutes and reads
every connection's lists nightly."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from integrations import schedules
from integrations.models import ListEntry, ListSync, ListSyncState
from tests.concurrency import race
from tests.integrations.lists_helpers import BooksLists, account_, books_connection, full

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("books")]

TOKENS = "integrations.tasks.refresh_access_tokens"
NIGHTLY = "integrations.tasks.nightly_lists"


def runs(path: str, status=TaskResultStatus.READY) -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=path, status=status).order_by("run_after"))


def schedule_tasks() -> str:
    out = io.StringIO()
    call_command("schedule_tasks", stdout=out)
    return out.getvalue()


def work() -> None:
    """What `db_worker` does until nothing is due (its --batch mode)."""
    call_command(
        "db_worker", "--batch", "--no-startup-delay", "--interval", "0", "--no-reload", stdout=io.StringIO()
    )


def test_schedule_tasks_starts_each_schedule_once_however_often_it_runs():
    before = timezone.now()
    out = schedule_tasks()
    assert "refresh_access_tokens: next run" in out and "nightly_lists: next run" in out
    schedule_tasks()
    schedule_tasks()
    (tokens,) = runs(TOKENS)
    (nightly,) = runs(NIGHTLY)
    assert before <= tokens.run_after <= timezone.now()  # at once
    local = timezone.localtime(nightly.run_after)
    assert (local.hour, local.minute) == (2, 0) and nightly.run_after > before


def test_the_worker_renews_tokens_and_schedules_its_next_run_first(account, other_account):
    soon = books_connection(account, access_expires_at=timezone.now() + timedelta(minutes=2))
    later = books_connection(other_account)
    schedule_tasks()
    work()

    (done,) = runs(TOKENS, TaskResultStatus.SUCCESSFUL)
    (next_run,) = runs(TOKENS)
    assert done.return_value == 0  # no connection it could not refresh
    assert next_run.enqueued_at <= done.finished_at  # scheduled before the work ended...
    assert next_run.run_after >= done.started_at + schedules.TOKENS_EVERY  # ...for five minutes later
    soon.refresh_from_db()
    later.refresh_from_db()
    assert soon.credentials["access_token"] == "books-access-2"  # was expiring: renewed
    assert later.credentials["access_token"] == "books-access"  # still valid for an hour: left alone
    assert runs(NIGHTLY)  # not due yet: still waiting


def test_the_nightly_run_reads_every_connection_and_schedules_the_next_night(account, other_account):
    mine, theirs = books_connection(account), books_connection(other_account)
    BooksLists.pages = {"account": full(account_("429", "General Expenses"))}
    schedule_tasks()
    DBTaskResult.objects.filter(task_path=NIGHTLY).update(run_after=timezone.now() - timedelta(seconds=1))
    work()  # the nightly run, then the two reads it enqueued

    (ran,) = runs(NIGHTLY, TaskResultStatus.SUCCESSFUL)
    assert ran.return_value == 2
    (next_night,) = runs(NIGHTLY)
    assert next_night.run_after > timezone.now() and timezone.localtime(next_night.run_after).hour == 2
    for connection in (mine, theirs):
        assert ListSync.objects.get(connection=connection).state == ListSyncState.DONE
        assert ListEntry.objects.get(connection=connection, kind="account").name == "General Expenses"


def test_a_run_whose_worker_died_does_not_block_the_schedule():
    schedule_tasks()
    DBTaskResult.objects.filter(task_path=NIGHTLY).update(status=TaskResultStatus.RUNNING)
    schedule_tasks()
    assert len(runs(NIGHTLY)) == 1


def test_finished_runs_are_pruned_when_the_next_is_scheduled():
    schedule_tasks()
    old = timezone.now() - timedelta(days=2)
    DBTaskResult.objects.filter(task_path=TOKENS).update(status=TaskResultStatus.SUCCESSFUL, finished_at=old)
    schedule_tasks()
    assert runs(TOKENS, TaskResultStatus.SUCCESSFUL) == [] and len(runs(TOKENS)) == 1


def test_without_a_task_queue_nothing_is_scheduled(settings):
    # The immediate backend runs a task at once: one that enqueues itself would never stop.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    assert "not scheduled" in schedule_tasks()
    assert not DBTaskResult.objects.exists()


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-12-02 01:30", "2026-12-02 02:00"),
        ("2026-12-02 02:00", "2026-12-03 02:00"),
        ("2026-12-02 23:59", "2026-12-03 02:00"),
        ("2027-03-27 03:00", "2027-03-28 02:00"),  # the night the clocks go forward in London
    ],
)
def test_the_next_night(settings, now, expected):
    settings.TIME_ZONE = "Europe/London"
    london = ZoneInfo("Europe/London")
    at = datetime.fromisoformat(now).replace(tzinfo=london)
    assert schedules.nightly(schedules.NIGHTLY_AT)(at) == datetime.fromisoformat(expected).replace(
        tzinfo=london
    )


@pytest.mark.postgres_only
def test_two_workers_starting_at_once_make_one_schedule():
    for _ in range(3):
        DBTaskResult.objects.all().delete()
        assert race(schedules.start_all, schedules.start_all, schedules.start_all) == ["ok", "ok", "ok"]
        assert len(runs(TOKENS)) == 1 and len(runs(NIGHTLY)) == 1

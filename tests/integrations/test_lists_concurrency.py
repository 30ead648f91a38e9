"""One read of a connection's lists at a time, under real concurrency (PostgreSQL, one database
connection per thread): of two workers reading at once, one reads while the other returns without
reading; of two Refresh lists pressed at once, one read is queued, enqueued and recorded."""

from __future__ import annotations

import threading

import pytest
from django_tasks_db.models import DBTaskResult

from accounts.models import ActivityEntry
from integrations import lists
from integrations.models import ListEntry, ListSync, ListSyncState
from tests.concurrency import race
from tests.factories import AccountFactory
from tests.integrations.lists_helpers import BooksLists, account_, books_connection, full, supplier

ROUNDS = 5

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("books"),
]


def _two_reads(n: int) -> None:
    account, other = AccountFactory(name=f"Race {n}"), AccountFactory(name=f"Other {n}")
    connection, theirs = books_connection(account), books_connection(other)
    BooksLists.pages = {
        "account": full(account_("429", "General Expenses"), account_("461", "Printing")),
        "supplier": full(supplier(1, "Acme Supplies")),
    }
    BooksLists.calls.clear()
    lists.request_sync(account=account, connection=connection)
    loser_returned = threading.Event()
    seen_waiting = []

    def hold_the_read(kind, page):
        # The winner is mid-read (claim held) until the other worker has come and gone.
        if kind == "account" and page == 0:
            seen_waiting.append(loser_returned.wait(timeout=20))

    BooksLists.on_page = hold_the_read
    results: list = [None, None]

    def worker(i):
        results[i] = lists.run_sync(account=account, connection_id=connection.pk)
        if results[i] is None:
            loser_returned.set()

    assert race(lambda: worker(0), lambda: worker(1)) == ["ok", "ok"]
    winners = [r for r in results if r is not None]
    assert len(winners) == 1 and winners[0].state == ListSyncState.DONE, results
    assert seen_waiting == [True]  # the other returned while this read held the claim
    assert [kind for _, kind, _ in BooksLists.calls] == ["account", "tax_rate", "supplier"]  # read once
    assert ListEntry.objects.filter(connection=connection).count() == 3
    assert not ListEntry.objects.filter(connection=theirs).exists()


def test_two_reads_at_once_one_reads_the_other_returns_without_reading():
    for n in range(ROUNDS):
        _two_reads(n)


def _two_refreshes(n: int) -> None:
    account = AccountFactory(name=f"Tabs {n}")
    connection = books_connection(account)

    def refresh():
        lists.refresh_lists(account=account, acting_user=account.owner, connection_id=connection.pk)

    assert race(refresh, refresh) == ["ok", "ok"]
    assert ListSync.objects.get(connection=connection).state == ListSyncState.QUEUED
    tasks = DBTaskResult.objects.filter(task_path="integrations.tasks.sync_lists")
    assert [t.args_kwargs["kwargs"]["connection_id"] for t in tasks].count(connection.pk) == 1
    requested = ActivityEntry.objects.filter(account=account, action="integration.lists_requested")
    assert requested.count() == 1


def test_two_refreshes_at_once_queue_one_read():
    for n in range(ROUNDS):
        _two_refreshes(n)

"""Reading a connection's lists (integrations/lists.py run_sync), against a provider registered for the
test whose adapter serves the pages we set (tests/integrations/lists_helpers.py): what a read stores,
one read at a time, a dead worker's read taken over, a slow one fenced off, a connection disconnected
meanwhile, and a provider error half-way that keeps the last good lists. Always two tenants."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.errors import DomainError
from integrations import lists
from integrations.models import ListEntry, ListSync, ListSyncState
from integrations.providers import ProviderUnavailable
from integrations.providers.lists import ListPage
from tests.integrations.lists_helpers import BooksLists, account_, books_connection, full, supplier, tax

pytestmark = pytest.mark.usefixtures("books")


def chart():
    return {
        "account": full(
            account_("429", "General Expenses", detail="Overhead"),
            account_("461", "Printing & Stationery"),
            account_("200", "Sales", for_costs=False),
            cursor="acc-cursor",
        ),
        "tax_rate": full(tax("INPUT2", "20% (VAT on Expenses)", rate=Decimal("20"))),
        "supplier": full(supplier(1, "Acme Supplies"), supplier(2, "Northwind Traders Ltd")),
    }


def asked(connection):
    return lists.request_sync(account=connection.account, connection=connection)


def read(connection):
    return lists.run_sync(account=connection.account, connection_id=connection.pk)


def names(connection, kind, active=True):
    return sorted(
        ListEntry.objects.filter(connection=connection, kind=kind, active=active).values_list(
            "name", flat=True
        )
    )


def test_a_read_stores_every_kind_and_only_for_its_connection(account, other_account):
    mine, theirs = books_connection(account), books_connection(other_account)
    BooksLists.pages = chart()
    asked(mine)
    row = read(mine)

    assert row.state == ListSyncState.DONE and row.message == ""
    assert row.last_success_at is not None and row.lease_until is None
    assert row.cursors == {"account": "acc-cursor", "tax_rate": "", "supplier": ""}
    assert row.progress == {
        k: {"read": n, "done": True} for k, n in (("account", 3), ("tax_rate", 1), ("supplier", 2))
    }
    assert names(mine, "account") == ["General Expenses", "Printing & Stationery", "Sales"]
    rate = ListEntry.objects.get(connection=mine, kind="tax_rate")
    assert (rate.external_id, rate.code, rate.rate) == ("INPUT2", "INPUT2", Decimal("20"))
    sales = ListEntry.objects.get(connection=mine, code="200")
    assert (sales.for_costs, sales.for_sales, sales.account_id) == (False, True, account.pk)
    assert BooksLists.calls == [(mine.external_id, kind, "") for kind in ("account", "tax_rate", "supplier")]
    assert not ListEntry.objects.filter(connection=theirs).exists()
    assert not ListSync.objects.filter(connection=theirs).exists()


def test_a_read_nobody_asked_for_or_of_another_account_does_nothing(account, other_account):
    mine = books_connection(account)
    BooksLists.pages = chart()
    assert read(mine) is None  # never requested: a stray task reads nothing
    asked(mine)
    assert lists.run_sync(account=other_account, connection_id=mine.pk) is None
    assert BooksLists.calls == [] and not ListEntry.objects.exists()
    assert ListSync.objects.get(connection=mine).state == ListSyncState.QUEUED


def test_a_second_read_while_one_runs_returns_without_reading(account):
    connection = books_connection(account)
    BooksLists.pages = chart()
    asked(connection)
    ListSync.objects.filter(connection=connection).update(
        state=ListSyncState.RUNNING,
        started_at=timezone.now(),
        lease_until=timezone.now() + timedelta(minutes=10),
    )
    assert read(connection) is None
    assert BooksLists.calls == []
    assert ListSync.objects.get(connection=connection).state == ListSyncState.RUNNING


def test_a_read_whose_worker_died_is_taken_over_once_its_lease_runs_out(account):
    connection = books_connection(account)
    BooksLists.pages = chart()
    asked(connection)
    long_ago = timezone.now() - timedelta(hours=1)
    ListSync.objects.filter(connection=connection).update(
        state=ListSyncState.RUNNING, started_at=long_ago, lease_until=long_ago + lists.LEASE
    )
    # Asking again re-queues it (the dead read is not "on its way"), and the read then runs.
    assert asked(connection).state == ListSyncState.QUEUED
    row = read(connection)
    assert row.state == ListSyncState.DONE and row.started_at > long_ago
    assert names(connection, "supplier") == ["Acme Supplies", "Northwind Traders Ltd"]


def test_a_running_read_with_an_expired_lease_is_taken_over_by_the_next_task_too(account):
    connection = books_connection(account)
    BooksLists.pages = chart()
    asked(connection)
    ListSync.objects.filter(connection=connection).update(
        state=ListSyncState.RUNNING,
        started_at=timezone.now() - timedelta(hours=1),
        lease_until=timezone.now(),
    )
    assert read(connection).state == ListSyncState.DONE


def test_a_slow_read_taken_over_meanwhile_stops_and_changes_nothing_more(account):
    connection = books_connection(account)
    BooksLists.pages = chart()
    asked(connection)

    def overtaken(kind, n):
        if kind == "tax_rate":  # another worker took over while this one was slow
            ListSync.objects.filter(connection=connection).update(
                started_at=timezone.now() + timedelta(seconds=1), lease_until=timezone.now() + lists.LEASE
            )

    BooksLists.on_page = overtaken
    assert read(connection) is None
    row = ListSync.objects.get(connection=connection)
    assert row.state == ListSyncState.RUNNING and row.last_success_at is None  # the other read's to finish
    assert names(connection, "account")  # stored before it was overtaken
    assert not names(connection, "tax_rate") and not names(connection, "supplier")


def test_a_provider_error_half_way_keeps_the_last_good_lists_and_says_so(account, other_account):
    connection, other = books_connection(account), books_connection(other_account)
    BooksLists.pages = chart()
    asked(connection)
    first = read(connection)
    when = lists.when(first.last_success_at)

    # The next read: accounts change, then the tax rates fail on their second page.
    BooksLists.pages = {
        "account": full(account_("429", "General Expenses"), account_("999", "New Account")),
        "tax_rate": [
            ListPage(entries=[tax("NONE", "No VAT")]),
            ProviderUnavailable("Xero is not answering (HTTP 503). Try again later."),
        ],
        "supplier": full(supplier(3, "Someone New")),
    }
    asked(connection)
    row = read(connection)

    assert row.state == ListSyncState.FAILED
    assert row.message == (
        "Could not read the tax rates from Test Books: Xero is not answering (HTTP 503). Try again later. "
        f"The lists read on {when} are kept."
    )
    assert row.last_success_at == first.last_success_at and row.lease_until is None
    assert names(connection, "tax_rate") == ["20% (VAT on Expenses)"]  # no half list
    assert names(connection, "supplier") == ["Acme Supplies", "Northwind Traders Ltd"]  # never reached
    assert "New Account" in names(connection, "account")  # read in full before the failure: kept
    assert row.cursors["tax_rate"] == ""
    assert not ListSync.objects.filter(connection=other).exists()


def test_a_first_read_that_fails_says_what_failed_without_earlier_lists(account):
    connection = books_connection(account)
    BooksLists.pages = {"account": [ProviderUnavailable("Test Books is down.")]}
    asked(connection)
    row = read(connection)
    assert row.message == "Could not read the chart of accounts from Test Books: Test Books is down."
    assert not ListEntry.objects.exists()


def test_an_unexpected_error_fails_the_read_instead_of_leaving_it_running(account):
    connection = books_connection(account)
    BooksLists.pages = {"account": [KeyError("Accounts")]}
    asked(connection)
    row = read(connection)
    assert row.state == ListSyncState.FAILED and row.lease_until is None
    assert (
        row.message
        == "Could not read the chart of accounts from Test Books: something unexpected went wrong."
    )


def test_a_read_for_a_connection_disconnected_since_reads_and_changes_nothing(account):
    connection = books_connection(account)
    BooksLists.pages = chart()
    asked(connection)
    read(connection)
    before = sorted(ListEntry.objects.values_list("pk", "name", "active"))
    asked_again = asked(connection)
    assert asked_again.state == ListSyncState.QUEUED
    type(connection).objects.filter(pk=connection.pk).update(status="disconnected", credentials={})
    BooksLists.calls.clear()

    row = read(connection)
    assert BooksLists.calls == []
    assert sorted(ListEntry.objects.values_list("pk", "name", "active")) == before
    assert row.state == ListSyncState.FAILED and "Test Books is no longer connected." in row.message


def test_a_connection_disconnected_during_the_read_stores_nothing_more(account):
    connection = books_connection(account)
    BooksLists.pages = chart()
    asked(connection)

    def disconnect(kind, n):
        if kind == "supplier":
            type(connection).objects.filter(pk=connection.pk).update(status="disconnected")

    BooksLists.on_page = disconnect
    row = read(connection)
    assert row.state == ListSyncState.FAILED
    assert names(connection, "supplier") == [] and names(connection, "tax_rate")


def test_a_connection_that_needs_reconnecting_says_so(account):
    connection = books_connection(account)
    asked(connection)
    type(connection).objects.filter(pk=connection.pk).update(status="needs_reconnect")
    row = read(connection)
    assert row.message == (
        "Could not read the lists from Test Books: Test Books needs reconnecting: reconnect it in Business "
        "settings > Connections."
    )


def test_the_next_read_is_incremental_and_a_full_read_retires_what_is_gone(account):
    connection = books_connection(account)
    BooksLists.pages = chart()
    asked(connection)
    read(connection)

    # Incremental: only what changed since the cursor; nothing else is retired.
    BooksLists.pages = {
        "account": [ListPage(entries=[account_("461", "Printing and Stationery")], last=True, cursor="c2")]
    }
    BooksLists.calls.clear()
    asked(connection)
    read(connection)
    assert BooksLists.calls[0] == (connection.external_id, "account", "acc-cursor")
    assert names(connection, "account") == ["General Expenses", "Printing and Stationery", "Sales"]

    # A full read that no longer returns "Sales": archived, not deleted (a published item names it).
    BooksLists.pages = {"account": full(account_("429", "General Expenses"), account_("461", "Printing"))}
    asked(connection)
    read(connection)
    assert names(connection, "account") == ["General Expenses", "Printing"]
    assert names(connection, "account", active=False) == ["Sales"]


def test_an_entry_archived_in_the_provider_becomes_inactive(account):
    connection = books_connection(account)
    BooksLists.pages = chart()
    asked(connection)
    read(connection)
    BooksLists.pages = {
        "supplier": full(supplier(1, "Acme Supplies", active=False), supplier(2, "Northwind"))
    }
    asked(connection)
    read(connection)
    assert names(connection, "supplier", active=False) == ["Acme Supplies"]


# --- asking for a read -----------------------------------------------------------------------------


def enqueued(connection=None) -> list[dict]:
    from django_tasks_db.models import DBTaskResult

    rows = DBTaskResult.objects.filter(task_path="integrations.tasks.sync_lists")
    found = [r.args_kwargs["kwargs"] for r in rows]
    return [k for k in found if connection is None or k["connection_id"] == connection.pk]


def test_a_request_is_enqueued_once_after_the_commit(account, django_capture_on_commit_callbacks):
    connection = books_connection(account)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        asked(connection)
        asked(connection)  # already queued: nothing more
    assert len(callbacks) == 1
    assert enqueued() == [{"account_id": account.pk, "connection_id": connection.pk}]


def test_a_request_rolled_back_enqueues_nothing(account, django_capture_on_commit_callbacks):
    from django.db import transaction

    connection = books_connection(account)
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                asked(connection)
                raise RuntimeError("the connect failed later")
        except RuntimeError:
            pass
    assert enqueued() == []
    assert not ListSync.objects.filter(connection=connection, state=ListSyncState.QUEUED).exists()


def test_a_request_no_longer_queued_at_the_commit_enqueues_nothing(
    account, django_capture_on_commit_callbacks
):
    """The demo seeds the lists as read in the connect's own transaction: no read is enqueued for them."""
    connection = books_connection(account)
    with django_capture_on_commit_callbacks(execute=True):
        asked(connection)
        ListSync.objects.filter(connection=connection).update(state=ListSyncState.DONE)
    assert enqueued() == []


def test_a_queue_whose_task_went_missing_is_asked_again_after_a_lease(
    account, django_capture_on_commit_callbacks
):
    connection = books_connection(account)
    asked(connection)
    ListSync.objects.filter(connection=connection).update(requested_at=timezone.now() - lists.LEASE * 2)
    with django_capture_on_commit_callbacks(execute=True):
        row = asked(connection)
    assert row.requested_at > timezone.now() - timedelta(minutes=1)
    assert len(enqueued(connection)) == 1


def test_software_without_lists_of_its_own_or_not_active_is_refused(account, connect):
    connect(account, "xero")
    approvalmax = connect(account, "approvalmax")
    with pytest.raises(DomainError, match="ApprovalMax has no lists of its own to read."):
        asked(approvalmax)
    broken = books_connection(
        account.__class__.objects.create(name="Third", slug="third", owner=account.owner)
    )
    type(broken).objects.filter(pk=broken.pk).update(status="needs_reconnect")
    broken.refresh_from_db()
    with pytest.raises(DomainError, match="must be connected and working"):
        asked(broken)
    assert not ListSync.objects.filter(connection=broken).exists()


def test_quickbooks_desktop_is_queued_for_the_web_connector_not_enqueued(
    account, connect, django_capture_on_commit_callbacks
):
    qbd = connect(account, "qbd")
    with django_capture_on_commit_callbacks(execute=True):
        row = asked(qbd)
    assert row.state == ListSyncState.QUEUED and enqueued() == []
    # It waits for the Web Connector however long that takes: still on its way a day later.
    ListSync.objects.filter(pk=row.pk).update(requested_at=timezone.now() - timedelta(days=1))
    row.refresh_from_db()
    assert lists.is_on_its_way(row, qbd)
    assert lists.run_sync(account=account, connection_id=qbd.pk) is None  # not read over the API

"""When a read of the lists is asked for: on connect and on reconnect (after the commit), QuickBooks
Desktop once its company file is confirmed, Refresh lists (recorded in the activity log), and nightly
for every active connection with lists of its own, in every account."""

from __future__ import annotations

import pytest
import time_machine
from django.utils import timezone

from accounts.errors import DomainError
from accounts.models import ActivityEntry
from integrations import lists, services
from integrations.models import ConnectionStatus, ListEntry, ListSync, ListSyncState
from integrations.providers.lists import ListPage
from tests.factories import AccountFactory, ConnectionFactory
from tests.integrations.lists_helpers import books_connection, fresh_token_credentials
from tests.integrations.test_lists_sync import enqueued

pytestmark = pytest.mark.usefixtures("books")


def state_of(connection) -> str | None:
    return ListSync.objects.filter(connection=connection).values_list("state", flat=True).first()


def activate(account, provider="books", **kwargs):
    return services.activate_connection(
        account=account,
        acting_user=account.owner,
        provider=provider,
        external_id=kwargs.pop("external_id", "books-org"),
        external_name="Books Trading Ltd",
        credentials=fresh_token_credentials(),
        access_expires_at=timezone.now() + timezone.timedelta(hours=1),
        **kwargs,
    )


def test_connecting_and_reconnecting_ask_for_the_lists_after_the_commit(
    account, other_account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        connection = activate(account)
    assert state_of(connection) == ListSyncState.QUEUED
    assert enqueued() == [{"account_id": account.pk, "connection_id": connection.pk}]

    ListSync.objects.filter(connection=connection).update(state=ListSyncState.DONE)
    services.disconnect(account=account, acting_user=account.owner, connection_id=connection.pk)
    with django_capture_on_commit_callbacks(execute=True):
        activate(account)  # reconnect: the same row, read again
    assert state_of(connection) == ListSyncState.QUEUED
    assert len(enqueued(connection)) == 2
    assert not ListSync.objects.filter(account=other_account).exists()


def test_a_connect_refused_under_the_lock_asks_for_nothing(account, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        books = activate(account)
        with pytest.raises(DomainError):
            activate(account, provider="xero")  # a second main software: refused, rolled back
    assert enqueued() == [{"account_id": account.pk, "connection_id": books.pk}]
    assert not ListSync.objects.filter(connection__provider="xero").exists()


def test_approvalmax_uses_the_main_lists_and_asks_for_none(account, connect):
    xero = connect(account, "xero")
    connection = activate(account, provider="approvalmax", external_id="am-org")
    assert state_of(connection) is None
    assert lists.source_for(connection) == xero


def test_quickbooks_desktop_asks_once_its_company_file_is_confirmed(account, other_account):
    qbd = ConnectionFactory(
        account=account, provider="qbd", external_id="", credentials={"file_id": "{F11E}"}, external_name=""
    )
    assert state_of(qbd) is None
    services.qbwc_company_answered(account=account, connection=qbd, company_name="Acme", file_ids=["{f11e}"])
    assert state_of(qbd) == ListSyncState.QUEUED
    assert enqueued() == []  # the Web Connector reads them; no task

    # Confirmed already: later runs do not ask again (the nightly read and Refresh lists do).
    ListSync.objects.filter(connection=qbd).update(state=ListSyncState.DONE)
    qbd.refresh_from_db()
    services.qbwc_company_answered(account=account, connection=qbd, company_name="Acme", file_ids=["{f11e}"])
    assert state_of(qbd) == ListSyncState.DONE
    assert not ListSync.objects.filter(account=other_account).exists()


def test_refresh_lists_queues_and_records_it_once(account, other_account):
    connection = books_connection(account)
    theirs = books_connection(other_account)
    row = lists.refresh_lists(account=account, acting_user=account.owner, connection_id=connection.pk)
    assert row.state == ListSyncState.QUEUED
    lists.refresh_lists(account=account, acting_user=account.owner, connection_id=connection.pk)  # on its way
    entries = list(
        ActivityEntry.objects.filter(action="integration.lists_requested").values_list("account", "summary")
    )
    assert entries == [(account.pk, "Asked for Test Books's lists to be read again (Refresh lists)")]
    assert state_of(theirs) is None


def test_refresh_lists_of_another_account_or_a_disconnected_connection_is_refused(account, other_account):
    theirs = books_connection(other_account)
    with pytest.raises(DomainError, match="not connected to this account"):
        lists.refresh_lists(account=account, acting_user=account.owner, connection_id=theirs.pk)
    gone = books_connection(AccountFactory(), status=ConnectionStatus.DISCONNECTED)
    with pytest.raises(DomainError):
        lists.refresh_lists(account=gone.account, acting_user=gone.account.owner, connection_id=gone.pk)
    assert (
        not ListSync.objects.exists() and not ActivityEntry.objects.filter(action__contains="lists").exists()
    )


def test_refresh_lists_of_quickbooks_desktop_waits_for_the_web_connector(account, connect):
    qbd = connect(account, "qbd")
    lists.refresh_lists(account=account, acting_user=account.owner, connection_id=qbd.pk)
    assert state_of(qbd) == ListSyncState.QUEUED
    assert ActivityEntry.objects.get(action="integration.lists_requested").summary == (
        "Asked for QuickBooks Desktop's lists to be read again (Refresh lists): the Web Connector reads them "
        "on its next run"
    )


def test_the_nightly_read_asks_every_active_connection_with_lists_in_every_account(
    account, other_account, connect, django_capture_on_commit_callbacks
):
    xero = connect(account, "xero")
    connect(account, "approvalmax")  # uses Xero's
    billcom = connect(account, "billcom")
    qbd = connect(other_account, "qbd")
    broken = connect(AccountFactory(), "qbo", status=ConnectionStatus.NEEDS_RECONNECT)
    gone = connect(AccountFactory(), "xero", status=ConnectionStatus.DISCONNECTED)
    busy = books_connection(AccountFactory())
    lists.request_sync(account=busy.account, connection=busy)

    with django_capture_on_commit_callbacks(execute=True):
        assert lists.request_every_night() == 3  # Xero, Bill.com, QuickBooks Desktop; busy is queued already
    assert {state_of(c) for c in (xero, billcom, qbd, busy)} == {ListSyncState.QUEUED}
    assert state_of(broken) is None and state_of(gone) is None
    assert sorted(k["connection_id"] for k in enqueued()) == sorted([xero.pk, billcom.pk])


def test_refresh_lists_reads_everything_again_and_learns_of_deletions(account, other_account):
    """An incremental read cannot learn that an entry was deleted (Xero's deleted accounts, QuickBooks
    Desktop's deleted list entries are not in "changed since" answers): Refresh lists forgets the
    markers, the read is full, and what the provider no longer has becomes inactive."""
    from tests.integrations.lists_helpers import BooksLists, account_

    connection = books_connection(account)
    theirs = books_connection(other_account)
    BooksLists.pages = {
        "account": [ListPage([account_("400", "Advertising"), account_("429", "General")], True, True, "c1")]
    }
    lists.request_sync(account=account, connection=connection)
    lists.run_sync(account=account, connection_id=connection.pk)
    # The provider deleted 400; an incremental answer says nothing about it.
    BooksLists.pages = {"account": [ListPage([account_("429", "General")], True, False, "c2")]}
    lists.request_sync(account=account, connection=connection)
    lists.run_sync(account=account, connection_id=connection.pk)
    assert BooksLists.calls[-3][1:] == ("account", "c1")
    assert ListEntry.objects.get(connection=connection, code="400").active

    BooksLists.pages = {"account": [ListPage([account_("429", "General")], True, True, "c3")]}
    lists.refresh_lists(account=account, acting_user=account.owner, connection_id=connection.pk)
    lists.run_sync(account=account, connection_id=connection.pk)
    assert BooksLists.calls[-3][1:] == ("account", "")  # asked for everything
    assert not ListEntry.objects.get(connection=connection, code="400").active  # kept, no longer chosen
    assert ListEntry.objects.get(connection=connection, code="429").active
    assert ListSync.objects.get(connection=connection).cursors["account"] == "c3"
    assert not ListEntry.objects.filter(connection=theirs).exists()


def test_each_connection_s_nightly_read_is_full_once_a_week_on_its_own_night(account):
    connection = books_connection(account)
    monday = timezone.datetime(2026, 11, 30).date()
    nights = [monday + timezone.timedelta(days=n) for n in range(7)]
    full = [night for night in nights if lists.full_tonight(connection, night)]
    assert len(full) == 1 and full[0].weekday() == connection.pk % 7

    ListSync.objects.create(account=account, connection=connection, cursors={"account": "c1"})
    with time_machine.travel(timezone.datetime.combine(full[0], timezone.datetime.min.time()), tick=False):
        lists.request_every_night()
    assert ListSync.objects.get(connection=connection).cursors == {}
    ListSync.objects.filter(connection=connection).update(state=ListSyncState.DONE, cursors={"account": "c1"})
    other_night = nights[(nights.index(full[0]) + 1) % 7]
    with time_machine.travel(
        timezone.datetime.combine(other_night, timezone.datetime.min.time()), tick=False
    ):
        lists.request_every_night()
    assert ListSync.objects.get(connection=connection).cursors == {"account": "c1"}

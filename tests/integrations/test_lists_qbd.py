"""QuickBooks Desktop's lists, read through the Web Connector: Refresh lists queues the read, the
Web Connector's next run asks QuickBooks (the sandbox's Web Connector and pretend QuickBooks, over
HTTP against our /qbwc/ service on live_server), and the answers become the connection's ListEntry rows.

The contract with the sandbox, as for every provider: ListEntry.external_id == SandboxListEntry.entry_id
(QuickBooks' ListID), .code and .name the same."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from costs.models import SupplierLink
from integrations import lists
from integrations.models import Connection, ListEntry, ListReadPage, ListSync, ListSyncState
from integrations.providers import qbd, qbd_lists
from integrations.providers.lists import EntryData
from sandbox import listdata, webconnector
from sandbox.models import SandboxListEntry
from tests.integrations.sandbox_helpers import sandbox  # noqa: F401
from tests.integrations.test_qbwc_contract import computer_for, qbd_set_up, run

pytestmark = pytest.mark.usefixtures("sandbox")


def set_up_qbd(tenant) -> tuple[Connection, str, webconnector.Computer]:
    """QuickBooks Desktop set up by the tenant's Admin and connected by a first Web Connector run
    (which identifies the company file): (connection, Web Connector password, the customer's computer)."""
    conn, password = qbd_set_up(tenant)
    computer = computer_for(conn)
    first = run(conn, password, computer)
    assert first.ok, first.message
    conn.refresh_from_db()
    # Connecting reads the lists in that first run (test_connecting_reads_the_lists_in_the_first_run);
    # these tests start from a connection whose lists were never read, as one connected before
    # Dext Connect read lists: what the first run read is forgotten.
    assert sync_of(conn).state == ListSyncState.DONE
    SupplierLink.objects.filter(connection=conn).delete()
    ListEntry.objects.filter(connection=conn).delete()
    ListSync.objects.filter(connection=conn).delete()
    for received in _RECORDING:  # and so is the `lists_read` signal it sent
        received[:] = [r for r in received if r[0] != conn.pk]
    return conn, password, computer


def test_connecting_reads_the_lists_in_the_first_run(tenant, other_tenant):
    conn, password = qbd_set_up(tenant)
    result = run(conn, password, computer_for(conn))
    assert result.ok, result.message
    sent = requests_sent(result)
    assert any("<AccountQueryRq" in r for r in sent) and any("<VendorQueryRq" in r for r in sent)
    assert sync_of(conn).state == ListSyncState.DONE
    assert entries_of(conn) == expected(conn)
    assert not ListEntry.objects.filter(account=other_tenant.account).exists()


def requests_sent(result: webconnector.Run) -> list[str]:
    return [c.result for c in result.calls if c.method == "sendRequestXML"]


def sandbox_entries(conn, kind: str | None = None):
    """The company file's lists in the sandbox (its organisation is the Web Connector user name)."""
    org_id = qbd.username_for(conn)
    listdata.ensure_lists("qbd", org_id)
    entries = SandboxListEntry.objects.filter(provider="qbd", org_id=org_id)
    return entries.filter(kind=kind) if kind else entries


def add_vendors(conn, count: int) -> None:
    org_id = qbd.username_for(conn)
    listdata.ensure_lists("qbd", org_id)
    SandboxListEntry.objects.bulk_create(
        SandboxListEntry(
            provider="qbd",
            org_id=org_id,
            kind="supplier",
            entry_id=f"7100{n:0>4}-1700000000",
            name=f"Added Vendor {n:02}",
            updated_at=listdata.SEEDED_AT,
        )
        for n in range(count)
    )


def entries_of(conn, kind: str | None = None) -> dict[str, tuple]:
    rows = ListEntry.objects.filter(connection=conn)
    if kind:
        rows = rows.filter(kind=kind)
    return {r.external_id: (r.kind, r.code, r.name, r.active) for r in rows}


def expected(conn, kind: str | None = None) -> dict[str, tuple]:
    return {e.entry_id: (e.kind, e.code, e.name, e.status == "ACTIVE") for e in sandbox_entries(conn, kind)}


def sync_of(conn) -> ListSync:
    return ListSync.objects.get(connection=conn)


def lists_world(account) -> tuple:
    """Everything about an account's lists that another account's read must not change."""
    return (
        sorted(ListEntry.objects.filter(account=account).values_list("pk", "external_id", "name", "active")),
        list(ListSync.objects.filter(account=account).values_list("state", "cursors", "last_success_at")),
    )


@pytest.fixture
def small_pages(monkeypatch):
    """Ten vendors per iterator page, so a few dozen vendors take several pages."""
    monkeypatch.setattr(qbd_lists, "PAGE_SIZE", 10)


_RECORDING: list[list] = []  # the `signals` fixtures' lists, while they record


@pytest.fixture
def signals():
    received = []
    _RECORDING.append(received)

    def receiver(sender, **kwargs):
        received.append((kwargs["connection"].pk, kwargs["kinds"]))

    lists.lists_read.connect(receiver)
    yield received
    lists.lists_read.disconnect(receiver)
    _RECORDING.remove(received)


def test_refresh_waits_for_the_web_connector_whose_next_run_reads_every_list(
    tenant, other_tenant, small_pages, signals
):
    conn, password, computer = set_up_qbd(tenant)
    other, other_password, other_computer = set_up_qbd(other_tenant)
    lists.request_sync(account=other.account, connection=other)
    assert run(other, other_password, other_computer).ok
    assert signals == [(other.pk, ("account", "tax_rate", "supplier"))]
    signals.clear()
    other_before = lists_world(other_tenant.account)
    add_vendors(conn, 15)
    sandbox_entries(conn, "supplier").filter(name="Shell").update(status="ARCHIVED")
    tasks_before = DBTaskResult.objects.count()

    row = lists.request_sync(account=tenant.account, connection=conn)

    # Queued, and nothing else: no background task, no request until the Web Connector comes.
    assert row.state == ListSyncState.QUEUED
    assert DBTaskResult.objects.count() == tasks_before
    assert (
        lists.waiting_message(conn)
        == "QuickBooks Desktop reads its lists the next time the Web Connector runs."
    )
    assert not ListEntry.objects.filter(connection=conn).exists()

    result = run(conn, password, computer)

    assert result.ok, result.message
    sent = requests_sent(result)
    assert "<CompanyQueryRq" in sent[0]
    assert "<AccountQueryRq" in sent[1] and "iterator" not in sent[1]
    assert "<SalesTaxCodeQueryRq" in sent[2]
    vendor_requests = sent[3:]
    assert len(vendor_requests) == 5  # 47 vendors, ten a page
    assert 'iterator="Start"' in vendor_requests[0]
    ids = {re.search(r'iteratorID="([^"]+)"', r).group(1) for r in vendor_requests[1:]}
    assert len(ids) == 1 and all('iterator="Continue"' in r for r in vendor_requests[1:])
    for request in sent[1:]:
        assert "<ActiveStatus>All</ActiveStatus>" in request and "FromModifiedDate" not in request
    # The Web Connector was told how far the run had got, then that it was done.
    percents = [int(c.result) for c in result.calls if c.method == "receiveResponseXML"]
    assert percents[-1] == 100 and all(0 < p < 100 for p in percents[:-1])
    assert percents[:-1] == sorted(percents[:-1])

    assert entries_of(conn) == expected(conn)
    assert entries_of(conn, "supplier")["70000018-1700000000"] == ("supplier", "", "Shell", False)
    account = ListEntry.objects.get(connection=conn, kind="account", code="6110")
    assert (account.name, account.detail, account.for_costs, account.for_sales) == (
        "Travel",
        "Expense",
        True,
        False,
    )
    tax = ListEntry.objects.get(connection=conn, kind="tax_rate", code="NON")
    assert (tax.detail, tax.changed_at) == ("Non-taxable", listdata.SEEDED_AT)
    sync = sync_of(conn)
    assert sync.state == ListSyncState.DONE and sync.last_success_at and sync.message == ""
    assert sync.progress["supplier"] == {"read": 47, "done": True}
    assert set(sync.cursors) == {"account", "tax_rate", "supplier"}
    assert not ListReadPage.objects.exists()
    assert signals == [(conn.pk, ("account", "tax_rate", "supplier"))]
    assert lists_world(other_tenant.account) == other_before

    idle = run(conn, password, computer)
    assert idle.message == "Signed in; there was no work to do."


def test_an_incremental_run_asks_for_what_changed_and_learns_an_entry_made_inactive(tenant, small_pages):
    conn, password, computer = set_up_qbd(tenant)
    lists.request_sync(account=tenant.account, connection=conn)
    assert run(conn, password, computer).ok
    cursor = sync_of(conn).cursors["supplier"]
    assert cursor == "2026-01-05T09:00:00+00:00"  # QuickBooks' TimeModified of the newest vendor
    changed = timezone.now().replace(microsecond=0) + timedelta(minutes=5)
    sandbox_entries(conn, "supplier").filter(name="Uber").update(status="ARCHIVED", updated_at=changed)
    sandbox_entries(conn, "account").filter(code="6160").update(name="Phone and Internet", updated_at=changed)

    lists.request_sync(account=tenant.account, connection=conn)
    second = run(conn, password, computer)

    assert second.ok, second.message
    for request in requests_sent(second)[1:]:
        assert (
            "<ActiveStatus>All</ActiveStatus><FromModifiedDate>2026-01-05T09:00:00+00:00</FromModifiedDate>"
            in (request)
        )
    assert entries_of(conn) == expected(conn)
    assert entries_of(conn, "supplier")["70000015-1700000000"] == ("supplier", "", "Uber", False)
    sync = sync_of(conn)
    assert sync.cursors["supplier"] == sync.cursors["account"] == changed.isoformat()
    assert sync.cursors["tax_rate"] == "2026-01-05T09:00:00+00:00"  # no tax code changed

    # The next read asks each list for what changed since its newest change: the vendor and the account
    # changed above (the tax codes, changed at the seeding, are all returned again).
    lists.request_sync(account=tenant.account, connection=conn)
    third = run(conn, password, computer)
    assert third.ok, third.message
    _, accounts, tax_codes, vendors = requests_sent(third)
    assert f"<FromModifiedDate>{changed.isoformat()}</FromModifiedDate>" in accounts
    assert f"<FromModifiedDate>{changed.isoformat()}</FromModifiedDate>" in vendors
    assert "<FromModifiedDate>2026-01-05T09:00:00+00:00</FromModifiedDate>" in tax_codes
    progress = sync_of(conn).progress
    read = (progress["supplier"]["read"], progress["account"]["read"], progress["tax_rate"]["read"])
    assert read == (1, 1, 4)
    # An incremental read says nothing about entries it did not return: they stay as they were.
    assert entries_of(conn) == expected(conn)


def test_a_quickbooks_error_on_the_second_vendor_page_fails_the_read_and_keeps_the_last_lists(
    tenant, other_tenant, small_pages, signals
):
    conn, password, computer = set_up_qbd(tenant)
    lists.request_sync(account=tenant.account, connection=conn)
    assert run(conn, password, computer).ok
    first_read = sync_of(conn).last_success_at
    vendors_before = entries_of(conn, "supplier")
    signals.clear()
    later = timezone.now() + timedelta(minutes=5)
    sandbox_entries(conn, "supplier").filter(name="Staples").update(name="Staples Inc.", updated_at=later)
    add_vendors(conn, 15)
    other_before = lists_world(other_tenant.account)

    lists.request_sync(account=tenant.account, connection=conn)
    failing = run(conn, password, computer_for(conn, list_query_failures={"VendorQueryRq": 2}))

    assert not failing.ok
    assert [c.method for c in failing.calls][-3:] == ["receiveResponseXML", "getLastError", "closeConnection"]
    kept = f" The lists read on {timezone.localtime(first_read):%-d %b %Y at %H:%M} are kept."
    message = (
        "Could not read the suppliers from QuickBooks Desktop: QuickBooks answered with statusCode 1000 "
        "(There has been an internal error when processing the request.)." + kept
    )
    assert failing.message == message
    sync = sync_of(conn)
    assert (sync.state, sync.message, sync.last_success_at) == (ListSyncState.FAILED, message, first_read)
    # Not one vendor of the half-read list was stored; nothing waits half-read.
    assert entries_of(conn, "supplier") == vendors_before
    assert not ListReadPage.objects.exists()
    assert signals == []
    conn.refresh_from_db()
    assert conn.last_error == message
    assert lists_world(other_tenant.account) == other_before

    # A failed read waits to be asked for again (Refresh lists, nightly), not every 15 minutes.
    assert run(conn, password, computer).message == "Signed in; there was no work to do."
    lists.request_sync(account=tenant.account, connection=conn)
    assert run(conn, password, computer).ok
    assert entries_of(conn) == expected(conn)
    assert "Staples Inc." in {name for _, _, name, _ in entries_of(conn, "supplier").values()}
    assert sync_of(conn).state == ListSyncState.DONE


def test_two_refreshes_before_the_web_connector_comes_make_one_read(tenant, signals):
    conn, password, computer = set_up_qbd(tenant)
    first = lists.request_sync(account=tenant.account, connection=conn)
    second = lists.request_sync(account=tenant.account, connection=conn)
    assert first.pk == second.pk and second.state == ListSyncState.QUEUED
    assert second.requested_at == first.requested_at

    result = run(conn, password, computer)

    assert result.ok
    assert sum("<AccountQueryRq" in r for r in requests_sent(result)) == 1
    assert signals == [(conn.pk, ("account", "tax_rate", "supplier"))]
    assert run(conn, password, computer).message == "Signed in; there was no work to do."


# --- a run that stops half-way --------------------------------------------------------------------


class Session:
    """One Web Connector session driven a call at a time (as webconnector.run drives it), so that a
    test can stop it anywhere: what the real Web Connector does when the computer sleeps or QuickBooks
    is closed mid-run."""

    def __init__(self, conn, password: str, computer: webconnector.Computer):
        self.conn, self.computer = conn, computer
        self.username = qbd.username_for(conn)
        self.url = webconnector.our_app_url()
        answer = self.call("authenticate", strUserName=self.username, strPassword=password)
        self.ticket, requested = answer[0], answer[1]
        self.company = computer.begin_session(requested)
        self.company.org_id = self.username
        self.hcp = computer.hcp_response(self.company, webconnector.qwc_of(self.username).owner_id)

    def call(self, method: str, **params):
        return webconnector._call(self.url, method, params, username=self.username)

    def send(self) -> str:
        request = self.call(
            "sendRequestXML",
            ticket=self.ticket,
            strHCPResponse=self.hcp,
            strCompanyFileName=self.company.path,
            qbXMLCountry="US",
            qbXMLMajorVers=16,
            qbXMLMinorVers=0,
        )
        self.hcp = ""
        return str(request)

    def receive(self, request: str) -> int:
        response, hresult, message = self.computer.process_request(self.company, request)
        return int(
            self.call(
                "receiveResponseXML", ticket=self.ticket, response=response, hresult=hresult, message=message
            )
        )


def half_way(conn, password, computer) -> Session:
    """A session that has read the accounts, the tax codes and the first page of vendors."""
    session = Session(conn, password, computer)
    for _ in range(4):  # company, accounts, tax codes, vendors page 1
        assert 0 < session.receive(session.send()) < 100
    sync = sync_of(conn)
    assert sync.state == ListSyncState.RUNNING and sync.progress["supplier"] == {"read": 10, "done": False}
    assert ListReadPage.objects.filter(connection=conn, kind="supplier").count() == 1
    return session


@pytest.mark.parametrize("ending", ["closeConnection", "connectionError"])
def test_a_run_ended_half_way_stores_no_half_list_and_the_next_run_reads_again(
    tenant, small_pages, signals, ending
):
    conn, password, computer = set_up_qbd(tenant)
    lists.request_sync(account=tenant.account, connection=conn)
    session = half_way(conn, password, computer)

    if ending == "closeConnection":
        assert session.call("closeConnection", ticket=session.ticket) == "OK"
    else:
        hresult, message = webconnector.COULD_NOT_ACCESS
        assert (
            session.call("connectionError", ticket=session.ticket, hresult=hresult, message=message) == "done"
        )

    sync = sync_of(conn)
    assert sync.state == ListSyncState.QUEUED
    assert sync.message == (
        "The Web Connector's last run ended before QuickBooks Desktop had sent every list, so nothing from "
        "it was kept; the lists are read again at the Web Connector's next run."
    )
    assert not ListEntry.objects.filter(connection=conn, kind="supplier").exists()
    assert not ListReadPage.objects.exists()
    assert signals == []

    again = run(conn, password, computer)
    assert again.ok, again.message
    assert 'iterator="Start"' in requests_sent(again)[3]
    assert entries_of(conn) == expected(conn)
    assert sync_of(conn).state == ListSyncState.DONE and sync_of(conn).message == ""


def test_a_new_session_starts_a_read_left_half_way_again_and_the_old_one_can_store_nothing(
    tenant, small_pages, signals
):
    conn, password, computer = set_up_qbd(tenant)
    lists.request_sync(account=tenant.account, connection=conn)
    stale = half_way(conn, password, computer)
    pending = stale.send()  # the old session's next vendor page, asked for but not yet answered
    assert 'iterator="Continue"' in pending

    # The Web Connector starts again (the old session never closed): QuickBooks' iterators are gone.
    fresh = run(conn, password, computer)

    assert fresh.ok, fresh.message
    assert 'iterator="Start"' in requests_sent(fresh)[3]
    assert entries_of(conn) == expected(conn)
    done = sync_of(conn)
    assert done.state == ListSyncState.DONE

    # The old session's answer arrives late: its ticket no longer works, nothing changes.
    before = lists_world(tenant.account)
    assert stale.receive(pending) == -1
    assert stale.send() == ""
    assert lists_world(tenant.account) == before
    assert entries_of(conn) == expected(conn) and not ListReadPage.objects.exists()
    assert sync_of(conn).started_at == done.started_at and sync_of(conn).state == ListSyncState.DONE
    assert signals == [(conn.pk, ("account", "tax_rate", "supplier"))]


# --- the qbXML itself ----------------------------------------------------------------------------


def test_the_queries_follow_the_osr_order_and_old_company_files_get_no_iterator():
    step = qbd_lists.ListStep(kind="supplier", page=2, since="2026-01-05T01:00:00-08:00", iterator_id="{abc}")
    assert qbd_lists.list_query(step, version="16.0") == (
        '<?xml version="1.0" encoding="utf-8"?><?qbxml version="16.0"?><QBXML>'
        '<QBXMLMsgsRq onError="stopOnError">'
        '<VendorQueryRq requestID="lists-supplier-2" iterator="Continue" iteratorID="{abc}">'
        "<MaxReturned>500</MaxReturned><ActiveStatus>All</ActiveStatus>"
        "<FromModifiedDate>2026-01-05T01:00:00-08:00</FromModifiedDate>"
        "<IncludeRetElement>ListID</IncludeRetElement><IncludeRetElement>TimeModified</IncludeRetElement>"
        "<IncludeRetElement>Name</IncludeRetElement><IncludeRetElement>IsActive</IncludeRetElement>"
        "</VendorQueryRq></QBXMLMsgsRq></QBXML>"
    )
    # Iterators came with qbXML 5.0, IncludeRetElement with 4.0: an old Canadian edition gets neither.
    old = qbd_lists.list_query(qbd_lists.ListStep(kind="supplier"), version="CA3.0")
    assert "iterator" not in old and "MaxReturned" not in old and "IncludeRetElement" not in old
    assert "<ActiveStatus>All</ActiveStatus></VendorQueryRq>" in old


def test_answers_are_read_only_for_the_request_they_answer():
    step = qbd_lists.ListStep(kind="tax_rate")
    answer = (
        '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><SalesTaxCodeQueryRs requestID="lists-tax_rate-1" '
        'statusCode="0" statusSeverity="Info" statusMessage="Status OK"><SalesTaxCodeRet>'
        "<ListID>10000-999</ListID><TimeModified>2026-01-05T01:00:00-08:00</TimeModified><Name>Tax</Name>"
        "<IsActive>true</IsActive><IsTaxable>true</IsTaxable><Desc>Taxable Sales</Desc></SalesTaxCodeRet>"
        "</SalesTaxCodeQueryRs></QBXMLMsgsRs></QBXML>"
    )
    read = qbd_lists.list_answer_from(answer, step)
    (entry,) = read.entries
    assert (entry.external_id, entry.code, entry.name, entry.detail) == (
        "10000-999",
        "Tax",
        "Taxable Sales",
        "Taxable",
    )
    assert entry.changed_at.isoformat() == "2026-01-05T01:00:00-08:00"
    assert qbd_lists.list_answer_from(answer, qbd_lists.ListStep(kind="tax_rate", page=2)) is None
    assert qbd_lists.list_answer_from("<QBXML><not-closed>", step) is None
    unreadable = answer.replace('statusCode="0"', 'statusCode="OK"')
    assert not qbd_lists.list_answer_from(unreadable, step).answered


# --- the pretend QuickBooks refuses what QuickBooks refuses ----------------------------------------


def ask(computer: webconnector.Computer, query: str, version: str = "16.0") -> tuple[str, str, str]:
    company = computer.files[webconnector._key(computer.open_file)]
    return computer.process_request(
        company,
        f'<?xml version="1.0"?><?qbxml version="{version}"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
        f"{query}</QBXMLMsgsRq></QBXML>",
    )


def test_the_pretend_quickbooks_refuses_malformed_list_queries_as_quickbooks_does(db):
    computer = webconnector.Computer.with_company("Initech")
    computer.begin_session("")
    parse_error = ("", *webconnector.PARSE_ERROR)
    # Elements out of the OSR's order, an element or attribute the query does not have, a value
    # outside an enum: the request processor refuses the whole message (0x80040400).
    assert ask(
        computer,
        "<VendorQueryRq><ActiveStatus>All</ActiveStatus><MaxReturned>5</MaxReturned></VendorQueryRq>",
    ) == (parse_error)
    assert ask(
        computer, '<AccountQueryRq iterator="Start"><MaxReturned>5</MaxReturned></AccountQueryRq>'
    ) == (parse_error)
    assert ask(computer, "<VendorQueryRq><Colour>red</Colour></VendorQueryRq>") == parse_error
    assert ask(computer, "<VendorQueryRq><ActiveStatus>Some</ActiveStatus></VendorQueryRq>") == parse_error
    assert ask(computer, "<VendorQueryRq><MaxReturned>ten</MaxReturned></VendorQueryRq>") == parse_error
    assert ask(computer, '<VendorQueryRq iterator="Begin"/>') == parse_error
    assert ask(computer, "<VendorQueryRq><ListID>1</ListID><MaxReturned>5</MaxReturned></VendorQueryRq>") == (
        parse_error
    )
    # Iterators exist from qbXML 5.0.
    assert ask(computer, '<VendorQueryRq iterator="Start"/>', version="4.0") == parse_error
    # Well-formed but wrong: a statusCode in the answer.
    bad_date = ask(
        computer,
        '<VendorQueryRq requestID="1"><FromModifiedDate>yesterday</FromModifiedDate></VendorQueryRq>',
    )
    assert 'statusCode="3020"' in bad_date[0]
    assert 'the date value "yesterday" in the field "FromModifiedDate"' in bad_date[0]
    unknown = ask(
        computer,
        '<VendorQueryRq iterator="Continue" iteratorID="{nope}"><MaxReturned>5</MaxReturned></VendorQueryRq>',
    )
    assert 'statusCode="3391"' in unknown[0] and 'The iteratorID "{nope}" is not valid.' in unknown[0]
    future = ask(
        computer, "<AccountQueryRq><FromModifiedDate>2999-01-01T00:00:00</FromModifiedDate></AccountQueryRq>"
    )
    assert 'statusCode="1" statusSeverity="Info"' in future[0] and "<AccountRet>" not in future[0]
    unplayed = ask(
        computer,
        "<VendorQueryRq><NameFilter><MatchCriterion>StartsWith</MatchCriterion><Name>A</Name></NameFilter></VendorQueryRq>",
    )
    assert 'statusCode="1030"' in unplayed[0]


def test_the_pretend_quickbooks_pages_with_iterators_for_one_session_only(db):
    computer = webconnector.Computer.with_company("Initech")
    company = computer.files[webconnector._key(computer.open_file)]
    computer.begin_session("")
    listdata.ensure_lists("qbd", company.lists_org)
    SandboxListEntry.objects.filter(provider="qbd", org_id=company.lists_org, name="Uber").update(
        status="ARCHIVED"
    )

    first = ask(
        computer,
        '<VendorQueryRq requestID="a" iterator="Start"><MaxReturned>30</MaxReturned></VendorQueryRq>',
    )[0]
    # ActiveOnly unless asked otherwise: 31 active vendors, 30 on this page, one left.
    assert first.count("<VendorRet>") == 30 and 'iteratorRemainingCount="1"' in first
    iterator_id = re.search(r'iteratorID="([^"]+)"', first).group(1)
    rest = ask(
        computer,
        f'<VendorQueryRq requestID="b" iterator="Continue" iteratorID="{iterator_id}">'
        "<MaxReturned>30</MaxReturned><IncludeRetElement>ListID</IncludeRetElement></VendorQueryRq>",
    )[0]
    assert rest.count("<VendorRet>") == 1 and 'iteratorRemainingCount="0"' in rest
    assert re.search(r"<VendorRet><ListID>[^<]+</ListID></VendorRet>", rest)  # only what was asked for
    everything = ask(computer, "<VendorQueryRq><ActiveStatus>All</ActiveStatus></VendorQueryRq>")[0]
    assert (
        everything.count("<VendorRet>") == 32 and "<Name>Uber</Name><IsActive>false</IsActive>" in everything
    )

    again = ask(
        computer, '<VendorQueryRq requestID="c" iterator="Start"><MaxReturned>5</MaxReturned></VendorQueryRq>'
    )[0]
    next_id = re.search(r'iteratorID="([^"]+)"', again).group(1)
    computer.begin_session("")  # QuickBooks' next session: its iterators are gone
    gone = ask(
        computer,
        f'<VendorQueryRq iterator="Continue" iteratorID="{next_id}">'
        "<MaxReturned>5</MaxReturned></VendorQueryRq>",
    )
    assert 'statusCode="3391"' in gone[0]


def test_an_answer_for_a_read_another_session_took_over_stores_nothing(tenant, connect):
    from integrations import qbwc_lists

    conn = connect(tenant.account, "qbd", external_id="C:\\Acme.qbw", external_name="Acme")
    lists.request_sync(account=tenant.account, connection=conn)
    assert qbwc_lists.start(account=tenant.account, connection=conn)
    old = qbwc_lists.current(account=tenant.account, connection=conn)
    # A new session: the read is queued again and claimed anew before the old answer arrives.
    qbwc_lists.session_started(account=tenant.account, connection=conn)
    assert qbwc_lists.start(account=tenant.account, connection=conn)
    new_claim = sync_of(conn).started_at
    answer = qbd_lists.ListAnswer(
        status_code=0,
        status_message="Status OK",
        entries=(EntryData(kind="account", external_id="8000-1", name="Travel", code="6110"),),
    )

    percent = qbwc_lists.answered(
        account=tenant.account, connection=conn, reading=old, answer=answer, version="16.0"
    )

    assert percent == 100  # nothing more for the old session to do
    assert not ListEntry.objects.filter(connection=conn).exists() and not ListReadPage.objects.exists()
    sync = sync_of(conn)
    assert (sync.state, sync.started_at, sync.progress) == (ListSyncState.RUNNING, new_claim, {})


def test_quickbooks_failing_to_answer_a_list_query_fails_the_read(tenant, small_pages):
    conn, password, computer = set_up_qbd(tenant)
    lists.request_sync(account=tenant.account, connection=conn)
    session = half_way(conn, password, computer)
    session.send()

    hresult, message = webconnector.COULD_NOT_ACCESS
    answer = session.call(
        "receiveResponseXML", ticket=session.ticket, response="", hresult=hresult, message=message
    )

    assert answer == "-1"
    expected_message = (
        "Could not read the suppliers from QuickBooks Desktop: QuickBooks could not answer (0x80040401: "
        "Could not access QuickBooks.)."
    )
    assert session.call("getLastError", ticket=session.ticket) == expected_message
    sync = sync_of(conn)
    assert (sync.state, sync.message) == (ListSyncState.FAILED, expected_message)
    assert not ListEntry.objects.filter(connection=conn, kind="supplier").exists()
    assert not ListReadPage.objects.exists()


def test_an_empty_list_is_quickbooks_no_match_not_an_error(tenant):
    conn, password, computer = set_up_qbd(tenant)
    sandbox_entries(conn, "tax_rate").delete()
    lists.request_sync(account=tenant.account, connection=conn)

    result = run(conn, password, computer)

    assert result.ok, result.message
    assert entries_of(conn) == expected(conn) and not entries_of(conn, "tax_rate")
    sync = sync_of(conn)
    assert sync.state == ListSyncState.DONE and sync.progress["tax_rate"] == {"read": 0, "done": True}
    assert sync.cursors["tax_rate"] == ""  # nothing seen: the next read of the list is full again

"""Publishing to QuickBooks Desktop through the Web Connector's queue (costs/qbwc_publishing.py), end to
end over real HTTP: our /qbwc/ SOAP service (live_server) driven by the sandbox's Web Connector, whose
pretend QuickBooks runs the qbXML with QuickBooks' validation (sandbox/qbdbills.py).

request_publish queues the attempt (no task runs it); the Web Connector's next run confirms the company
file, then sendRequestXML hands BillAddRq/VendorCreditAddRq in one continueOnError message set
(requestID = the attempt's key) and receiveResponseXML records each answer by its statusCode. A lost
answer is in doubt and looked up (BillQuery by vendor and RefNumber) before it is ever added again:
0 lost, 0 duplicates."""

from __future__ import annotations

import html
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from django_scopes import scopes_disabled

from costs import publishing, qbwc_publishing
from costs.models import (
    AttemptState,
    Item,
    ItemStatus,
    PublishAttempt,
    Supplier,
    SupplierLink,
    SupplierMatch,
)
from integrations import lists
from integrations.models import Connection, ListEntry, ListSyncState
from integrations.providers import qbd
from sandbox import webconnector
from sandbox.models import SandboxBill, SandboxListEntry
from tests.conftest import client_for
from tests.integrations.publishing_helpers import queued_tasks
from tests.integrations.sandbox_helpers import sandbox  # noqa: F401
from tests.integrations.test_lists_qbd import Session as ListSession
from tests.integrations.test_lists_qbd import sync_of
from tests.integrations.test_qbwc_contract import computer_for, qbd_set_up, run

pytestmark = pytest.mark.usefixtures("sandbox")


class QBD:
    """A tenant's QuickBooks Desktop, set up and connected by a first Web Connector run (which also
    read its lists), and the customer's computer."""

    def __init__(self, tenant) -> None:
        self.tenant = tenant
        self.conn, self.password = qbd_set_up(tenant)
        self.computer = computer_for(self.conn)
        first = run(self.conn, self.password, self.computer)
        assert first.ok, first.message
        self.conn.refresh_from_db()
        assert sync_of(self.conn).state == ListSyncState.DONE

    @property
    def org(self) -> str:
        return qbd.username_for(self.conn)

    def run(self) -> webconnector.Run:
        return run(self.conn, self.password, self.computer)

    def item(
        self,
        reference: str,
        *,
        supplier: str = "Staples",
        category: str = "Advertising",
        type: str = "bill",
        total: str = "120.00",
    ) -> Item:
        account = self.conn.account
        with scopes_disabled():
            known, _ = Supplier.objects.get_or_create(account=account, name=supplier)
            vendor = ListEntry.objects.filter(connection=self.conn, kind="supplier", name=supplier).first()
            if vendor is not None:
                SupplierLink.objects.get_or_create(
                    account=account,
                    supplier=known,
                    connection=self.conn,
                    defaults={"entry": vendor, "matched_by": SupplierMatch.EXACT},
                )
            return Item.objects.create(
                account=account,
                type=type,
                status=ItemStatus.READY,
                date=date(2026, 1, 5),
                due_date=date(2026, 2, 4),
                supplier=known,
                reference=reference,
                category_entry=ListEntry.objects.get(connection=self.conn, kind="account", name=category),
                total=Decimal(total),
                tax=Decimal("0"),
                currency="USD",
            )

    def publish(self, *items: Item) -> list[PublishAttempt]:
        result = publishing.request_publish(
            account=self.conn.account, acting_user=self.tenant.admin, item_ids=[i.pk for i in items]
        )
        assert not result.skipped, result.skipped
        return result.queued

    def bills(self) -> list[SandboxBill]:
        return list(SandboxBill.objects.filter(provider="qbd", org_id=self.org).order_by("pk"))


class Session(ListSession):
    def receive_raw(self, response: str) -> int:
        return int(
            self.call("receiveResponseXML", ticket=self.ticket, response=response, hresult="", message="")
        )


def sent(result: webconnector.Run) -> list[str]:
    return [c.result for c in result.calls if c.method == "sendRequestXML"]


def authenticate_status(result: webconnector.Run) -> str:
    [auth] = [c.result for c in result.calls if c.method == "authenticate"]
    return auth.split(" | ")[1]


def state_of(item: Item) -> tuple[str, str, str]:
    with scopes_disabled():
        item.refresh_from_db()
        return item.status, item.external_id, item.publish_error


def attempt_of(item: Item) -> PublishAttempt:
    with scopes_disabled():
        return PublishAttempt.objects.filter(item=item).latest("pk")


@pytest.fixture
def qbd_world(tenant) -> QBD:
    return QBD(tenant)


def test_a_publish_waits_for_the_web_connector_which_adds_each_document_and_records_its_txnid(
    qbd_world, other_tenant
):
    world = qbd_world
    other = QBD(other_tenant)
    bill = world.item("INV-100")
    credit = world.item("CN-7", supplier="FedEx", type="credit_note", total="15.00")
    theirs = other.item("INV-100")
    [a1, a2] = world.publish(bill, credit)
    other.publish(theirs)
    # No task: the attempts wait in the connection's queue, and the sweeper leaves them alone.
    assert queued_tasks(due_only=False) == []
    assert publishing.sweep(timezone.now() + timedelta(hours=1)) == 0
    assert publishing.run_attempt(account=world.conn.account, attempt_id=a1.pk) is None
    assert attempt_of(bill).message == qbwc_publishing.WAITING

    result = world.run()

    assert result.ok, result.message
    [company_query, documents] = sent(result)
    assert "<CompanyQueryRq" in company_query
    assert 'onError="continueOnError"' in documents
    assert f'<BillAddRq requestID="{a1.key}">' in documents
    assert f'<VendorCreditAddRq requestID="{a2.key}">' in documents
    made = world.bills()
    assert [(b.kind, b.supplier, b.number, b.total, b.idempotency_key) for b in made] == [
        ("Bill", "Staples", "INV-100", Decimal("120.00"), a1.key),
        ("VendorCredit", "FedEx", "CN-7", Decimal("15.00"), a2.key),
    ]
    assert state_of(bill) == (ItemStatus.PUBLISHED, made[0].bill_id, "")
    assert state_of(credit) == (ItemStatus.PUBLISHED, made[1].bill_id, "")
    assert attempt_of(bill).state == AttemptState.PUBLISHED
    # The other tenant's item went nowhere: its own Web Connector has not run.
    assert state_of(theirs)[0] == ItemStatus.PUBLISHING and other.bills() == []

    # Nothing left: the next run is "none", QuickBooks is not even opened.
    idle = world.run()
    assert idle.ok and authenticate_status(idle) == "none" and sent(idle) == []

    # The other tenant's run publishes its item, to its own company file.
    assert other.run().ok
    [their_bill] = other.bills()
    assert state_of(theirs) == (ItemStatus.PUBLISHED, their_bill.bill_id, "")
    assert len(world.bills()) == 2
    # /sandbox/ lists each account's bills as received, with the requestID they came with, to it alone.
    ours_page = html.unescape(client_for(world.tenant.admin).get("/sandbox/").content.decode())
    theirs_page = html.unescape(client_for(other_tenant.admin).get("/sandbox/").content.decode())
    assert made[0].bill_id in ours_page and a1.key in ours_page and "CN-7" in ours_page
    assert made[0].bill_id not in theirs_page and their_bill.bill_id in theirs_page
    assert their_bill.bill_id not in ours_page


def test_authenticate_is_none_with_nothing_queued_and_a_list_read_then_a_publish_share_a_run(qbd_world):
    world = qbd_world
    idle = world.run()
    assert authenticate_status(idle) == "none"
    lists.request_sync(account=world.conn.account, connection=world.conn)
    item = world.item("INV-200")
    world.publish(item)

    result = world.run()

    assert result.ok, result.message
    requests_sent = sent(result)
    assert "<CompanyQueryRq" in requests_sent[0]
    assert any("<AccountQueryRq" in r for r in requests_sent)
    assert "<BillAddRq" in requests_sent[-1]  # after the lists
    assert sync_of(world.conn).state == ListSyncState.DONE
    assert state_of(item)[0] == ItemStatus.PUBLISHED
    assert authenticate_status(world.run()) == "none"


def test_quickbooks_refusing_one_document_fails_that_item_alone_with_its_words(qbd_world):
    world = qbd_world
    good = world.item("INV-300")
    bad = world.item("INV-301")
    # An account QuickBooks does not have (deleted there since our last read).
    gone = ListEntry.objects.create(
        account=world.conn.account,
        connection=world.conn,
        kind="account",
        external_id="80009999-1700000000",
        name="Old advertising",
        match_name="old advertising",
    )
    with scopes_disabled():
        Item.objects.filter(pk=bad.pk).update(category_entry=gone)
    world.publish(good, bad)

    assert world.run().ok

    assert state_of(good)[0] == ItemStatus.PUBLISHED
    status, external_id, error = state_of(bad)
    assert status == ItemStatus.FAILED and external_id == ""
    assert error.startswith(
        "QuickBooks Desktop refused it (3140): There is an invalid reference to QuickBooks "
    )
    assert "80009999-1700000000" in error
    assert attempt_of(bad).state == AttemptState.FAILED
    assert [b.number for b in world.bills()] == ["INV-300"]
    # Retry sends it again once the Category is fixed.
    with scopes_disabled():
        Item.objects.filter(pk=bad.pk).update(
            category_entry=ListEntry.objects.get(connection=world.conn, kind="account", name="Advertising")
        )
    publishing.retry(account=world.conn.account, acting_user=world.tenant.admin, item_id=bad.pk)
    assert world.run().ok
    assert state_of(bad)[0] == ItemStatus.PUBLISHED
    assert [b.number for b in world.bills()] == ["INV-300", "INV-301"]


def test_a_lost_answer_is_in_doubt_then_found_by_billquery_never_added_twice(qbd_world):
    world = qbd_world
    item = world.item("INV-400")
    [attempt] = world.publish(item)
    world.computer.lost_answers = ["stop"]

    lost = world.run()

    assert not lost.ok and "lost the connection" in lost.message
    assert lost.calls[-1].method == "sendRequestXML"  # no receiveResponseXML, no closeConnection
    [made] = world.bills()  # QuickBooks created it; we never heard
    assert state_of(item)[0] == ItemStatus.PUBLISHING
    held = attempt_of(item)
    assert held.state == AttemptState.SENDING and held.sent_at is not None
    # The session that was handed it still holds it: nobody sends it meanwhile.
    assert authenticate_status(world.run()) == "none"

    with time_machine.travel(timezone.now() + qbwc_publishing.LEASE + timedelta(seconds=5), tick=True):
        again = world.run()

    assert again.ok, again.message
    documents = sent(again)[-1]
    assert "<BillQueryRq" in documents and "<BillAddRq" not in documents
    assert "<RefNumberFilter><MatchCriterion>StartsWith</MatchCriterion><RefNumber>INV-400" in documents
    assert state_of(item) == (ItemStatus.PUBLISHED, made.bill_id, "")
    assert attempt_of(item).key == attempt.key
    assert len(world.bills()) == 1  # 0 lost, 0 duplicates


def test_a_run_closed_before_the_answer_looks_up_first_and_adds_only_what_is_not_there(qbd_world):
    world = qbd_world
    first, second = world.item("INV-500"), world.item("INV-501", supplier="FedEx")
    world.publish(first, second)
    world.computer.lost_answers = ["close"]

    closed = world.run()

    assert "closeConnection" in [c.method for c in closed.calls]
    assert {attempt_of(first).state, attempt_of(second).state} == {AttemptState.IN_DOUBT}
    assert len(world.bills()) == 2
    # As if QuickBooks had not kept the second one after all.
    SandboxBill.objects.filter(provider="qbd", org_id=world.org, number="INV-501").delete()

    again = world.run()

    assert again.ok, again.message
    lookups, adds = sent(again)[1:]
    assert "<BillQueryRq" in lookups and "<BillAddRq" not in lookups
    assert "<BillAddRq" in adds and "INV-501" in adds and "INV-500" not in adds
    assert state_of(first)[0] == state_of(second)[0] == ItemStatus.PUBLISHED
    assert sorted(b.number for b in world.bills()) == ["INV-500", "INV-501"]


def test_two_sessions_never_hand_out_the_same_attempt(qbd_world):
    world = qbd_world
    item = world.item("INV-600")
    world.publish(item)
    username = world.org
    # Session A gets as far as being handed the bill (QuickBooks never runs it).
    a = Session(world.conn, world.password, world.computer)
    assert 0 < a.receive(a.send()) < 100  # the company check
    handed = a.send()
    assert "<BillAddRq" in handed
    # A second session (another Web Connector) starts meanwhile: the bill is A's, not to be sent.
    b = webconnector._call(
        webconnector.our_app_url(), "authenticate", {"strUserName": username, "strPassword": world.password}
    )
    assert b[1] == "none"
    with scopes_disabled():
        conn = Connection.objects.get(pk=world.conn.pk)
    assert qbwc_publishing.next_request(account=conn.account, connection=conn, ticket="another") is None
    # A's answer comes back without a word about the bill (QuickBooks never ran it): in doubt, so A's
    # next request looks it up (not there), and only then is it added, once.
    assert 0 < a.receive_raw("") < 100
    assert attempt_of(item).state == AttemptState.IN_DOUBT
    lookup = a.send()
    assert "<BillQueryRq" in lookup and "<BillAddRq" not in lookup
    assert 0 < a.receive(lookup) < 100
    add = a.send()
    assert "<BillAddRq" in add
    assert a.receive(add) == 100
    assert [b.number for b in world.bills()] == ["INV-600"]
    assert state_of(item)[0] == ItemStatus.PUBLISHED
    assert world.bills()[0].bill_id == state_of(item)[1]


def test_a_queued_publish_can_be_cancelled_before_the_web_connector_takes_it(qbd_world, other_tenant):
    world = qbd_world
    item = world.item("INV-700")
    world.publish(item)
    with pytest.raises(Exception) as refused:
        publishing.cancel(account=other_tenant.account, acting_user=other_tenant.admin, item_id=item.pk)
    assert "not in this account" in str(refused.value)
    publishing.cancel(account=world.conn.account, acting_user=world.tenant.admin, item_id=item.pk)
    assert state_of(item)[0] == ItemStatus.READY
    assert authenticate_status(world.run()) == "none"
    assert world.bills() == []


def test_a_supplier_quickbooks_does_not_have_is_added_as_a_vendor_just_before_its_first_bill(qbd_world):
    world = qbd_world
    first = world.item("INV-800", supplier="Brand New Supplies")
    world.publish(first)

    result = world.run()

    assert result.ok, result.message
    documents = sent(result)[-1]
    assert documents.index("<VendorAddRq") < documents.index("<BillAddRq")
    assert "<VendorRef><FullName>Brand New Supplies</FullName></VendorRef>" in documents
    [made] = world.bills()
    assert (made.supplier, state_of(first)) == (
        "Brand New Supplies",
        (ItemStatus.PUBLISHED, made.bill_id, ""),
    )
    vendor = SandboxListEntry.objects.get(
        provider="qbd", org_id=world.org, kind="supplier", name="Brand New Supplies"
    )
    with scopes_disabled():
        ours = ListEntry.objects.get(connection=world.conn, kind="supplier", external_id=vendor.entry_id)
        link = SupplierLink.objects.get(connection=world.conn, supplier__name="Brand New Supplies")
    assert (link.entry, link.matched_by) == (ours, SupplierMatch.CREATED)

    # Its next bill names the vendor by ListID: no second VendorAdd.
    second = world.item("INV-801", supplier="Brand New Supplies")
    world.publish(second)
    again = world.run()
    assert "<VendorAddRq" not in sent(again)[-1]
    assert f"<VendorRef><ListID>{vendor.entry_id}</ListID></VendorRef>" in sent(again)[-1]
    assert state_of(second)[0] == ItemStatus.PUBLISHED
    assert (
        SandboxListEntry.objects.filter(provider="qbd", org_id=world.org, name="Brand New Supplies").count()
        == 1
    )


def test_a_vendor_quickbooks_has_under_that_name_already_is_used_not_duplicated(qbd_world):
    world = qbd_world
    # Made in QuickBooks since our last lists read: our lists do not know it.
    SandboxListEntry.objects.create(
        provider="qbd", org_id=world.org, kind="supplier", entry_id="ABCD1234-1700000000", name="Late Vendor"
    )
    item = world.item("INV-900", supplier="Late Vendor")
    world.publish(item)

    assert world.run().ok

    [made] = world.bills()
    assert made.payload["party_id"] == "ABCD1234-1700000000"
    assert state_of(item)[0] == ItemStatus.PUBLISHED
    assert SandboxListEntry.objects.filter(provider="qbd", org_id=world.org, name="Late Vendor").count() == 1

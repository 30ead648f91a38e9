"""QuickBooks Desktop's publishing qbXML (integrations/providers/qbd_publish.py) round-tripped through
the sandbox's pretend QuickBooks (sandbox/webconnector.Computer.process_request, which refuses what
the request processor refuses, and sandbox/qbdbills.py): BillAdd, VendorCreditAdd and InvoiceAdd in a
continueOnError message set, answers read by statusCode, a lost answer looked up with BillQuery by
vendor and number (compared exactly here) before anything is added again."""

from __future__ import annotations

from decimal import Decimal

import pytest
from lxml import etree

from integrations.providers import qbd_publish
from integrations.providers.publishing import (
    CREDIT_NOTE,
    SALES_INVOICE,
    BillLine,
    InDoubt,
    NotFound,
    Party,
    Published,
    Rejected,
)
from sandbox import webconnector
from sandbox.listdata import ensure_lists
from sandbox.models import SandboxBill
from tests.integrations.publish_helpers import a_bill, entry

pytestmark = pytest.mark.django_db

VERSION = "13.0"


@pytest.fixture
def quickbooks():
    computer = webconnector.Computer.with_company("Acme")
    company = computer.files[webconnector._key(computer.open_file)]
    org = company.lists_org
    ensure_lists("qbd", org)
    return computer, company, org


def vendor(org: str, name: str = "Staples") -> Party:
    return Party(external_id=entry("qbd", org, "supplier", name).entry_id, name=name)


def line(
    org: str, amount: str = "100.00", account: str = "Advertising", tax: str | None = "20.00"
) -> BillLine:
    return BillLine(
        description="Flyers",
        amount=Decimal(amount),
        tax_amount=Decimal(tax) if tax else None,
        account_id=entry("qbd", org, "account", account).entry_id if account else "",
    )


def run(quickbooks, requests_: list[str], version: str = VERSION) -> str:
    computer, company, _ = quickbooks
    response, hresult, message = computer.process_request(
        company, qbd_publish.message_set(requests_, version=version)
    )
    assert not hresult, message
    return response


def children(request_xml: str) -> list[str]:
    add = etree.fromstring(request_xml)[0]
    return [child.tag for child in add]


def test_documents_are_added_in_one_message_set_each_answered_on_its_own(quickbooks):
    _, _, org = quickbooks
    bills = [
        a_bill("b1", supplier=vendor(org), lines=[line(org)]),
        a_bill(
            "bad",
            supplier=vendor(org),
            lines=[BillLine(description="x", amount=Decimal("5"), account_id="8000XXXX-1")],
        ),
        a_bill("c1", kind=CREDIT_NOTE, supplier=vendor(org, "FedEx"), lines=[line(org, "10.00", tax=None)]),
        a_bill(
            "s1",
            kind=SALES_INVOICE,
            number="S-1",
            supplier=Party(name="Cool Cars"),
            lines=[BillLine("Work", Decimal("300"), item_id="1")],
        ),
    ]
    adds = [qbd_publish.add_request(b, version=VERSION) for b in bills]
    xml = qbd_publish.message_set(adds, version=VERSION)
    assert 'onError="continueOnError"' in xml and '<?qbxml version="13.0"?>' in xml
    outcomes = qbd_publish.read_adds(run(quickbooks, adds), bills)
    assert [type(o) for o in outcomes] == [Published, Rejected, Published, Published]
    assert outcomes[1].code == "3140" and "invalid reference to QuickBooks Account" in outcomes[1].message
    made = list(SandboxBill.objects.filter(provider="qbd", org_id=org).order_by("pk"))
    assert [(b.kind, b.supplier, b.number, b.total, b.idempotency_key) for b in made] == [
        ("Bill", "Staples", "INV-b1", Decimal("120.00"), "b1"),  # US: tax included in the line
        ("VendorCredit", "FedEx", "INV-c1", Decimal("10.00"), "c1"),
        ("Invoice", "Cool Cars", "S-1", Decimal("300.00"), "s1"),
    ]
    assert [o.external_id for o in outcomes if isinstance(o, Published)] == [b.bill_id for b in made]


def test_elements_follow_intuits_order():
    bill = a_bill(
        "b1",
        supplier=Party(external_id="7000-1"),
        lines=[BillLine("x", Decimal("1"), account_id="8000-1")],
        memo="m",
    )
    assert children(qbd_publish.add_request(bill, version=VERSION)) == [
        "VendorRef", "TxnDate", "DueDate", "RefNumber", "Memo", "ExternalGUID", "ExpenseLineAdd",
    ]  # fmt: skip
    credit = a_bill(
        "c1",
        kind=CREDIT_NOTE,
        supplier=Party(external_id="7000-1"),
        lines=[BillLine("x", Decimal("1"), account_id="8000-1")],
    )
    assert children(qbd_publish.add_request(credit, version=VERSION)) == [
        "VendorRef", "TxnDate", "RefNumber", "ExternalGUID", "ExpenseLineAdd",
    ]  # fmt: skip
    sale = a_bill(
        "s1",
        kind=SALES_INVOICE,
        number="S1",
        supplier=Party(external_id="1"),
        lines=[BillLine("x", Decimal("1"), item_id="1")],
    )
    assert children(qbd_publish.add_request(sale, version=VERSION)) == [
        "CustomerRef", "TxnDate", "RefNumber", "DueDate", "ExternalGUID", "InvoiceLineAdd",
    ]  # fmt: skip
    # Before qbXML 8.0 there is no ExternalGUID; outside the US a line carries its tax code.
    assert "ExternalGUID" not in children(qbd_publish.add_request(bill, version="7.0"))
    uk = a_bill(
        "u",
        supplier=Party(external_id="7000-1"),
        lines=[BillLine("x", Decimal("1"), account_id="8000-1", tax_rate_code="S")],
    )
    assert "<SalesTaxCodeRef><FullName>S</FullName></SalesTaxCodeRef>" in qbd_publish.add_request(
        uk, version=VERSION, country="UK"
    )


def test_what_quickbooks_would_refuse_is_not_queued(quickbooks):
    _, _, org = quickbooks
    long_ref = a_bill("b", number="X" * 21, supplier=vendor(org), lines=[line(org)])
    long_sale = a_bill(
        "s",
        kind=SALES_INVOICE,
        number="INV-2026-001",
        supplier=Party(name="Cool Cars"),
        lines=[BillLine("w", Decimal("1"), item_id="1")],
    )
    no_account = a_bill("a", supplier=vendor(org), lines=[line(org, account="")])
    results = [qbd_publish.add_request(b, version=VERSION) for b in (long_ref, long_sale, no_account)]
    assert [r.code for r in results] == ["3070", "3070", "no_account"]
    assert "at most 20 characters" in results[0].message and "at most 11 characters" in results[1].message
    # And the pretend QuickBooks does refuse what was sent anyway.
    forced = qbd_publish.add_request(
        a_bill("f", number="X" * 20, supplier=vendor(org), lines=[line(org)]), version=VERSION
    )
    response = run(quickbooks, [forced.replace("X" * 20, "X" * 21)])
    [outcome] = qbd_publish.read_adds(response, [a_bill("f", supplier=vendor(org), lines=[])])
    assert outcome.code == "3070"


def test_a_lost_answer_is_in_doubt_then_found_by_vendor_and_exact_number(quickbooks):
    _, _, org = quickbooks
    ours = a_bill("b1", number="INV-7", supplier=vendor(org), lines=[line(org)])
    longer = a_bill("b2", number="INV-77", supplier=vendor(org), lines=[line(org)])
    response = run(quickbooks, [qbd_publish.add_request(b, version=VERSION) for b in (longer, ours)])
    # The Web Connector's receiveResponseXML never arrived: no answer at all.
    assert qbd_publish.read_adds("", [ours]) == [InDoubt(qbd_publish.read_adds("", [ours])[0].message)]
    # An answer with ours missing from it.
    root = etree.fromstring(response.encode())
    root.find("QBXMLMsgsRs").remove(root.find("QBXMLMsgsRs")[1])
    [lost] = qbd_publish.read_adds(etree.tostring(root).decode(), [ours])
    assert isinstance(lost, InDoubt)
    # Before adding it again: look it up. INV-77 starts with INV-7 too; only INV-7 is ours.
    query = qbd_publish.lookup_query(ours)
    assert "<MatchCriterion>StartsWith</MatchCriterion>" in query and "<EntityFilter><ListID>" in query
    found = qbd_publish.read_lookup(run(quickbooks, [query]), ours)
    made = {b.number: b.bill_id for b in SandboxBill.objects.filter(provider="qbd", org_id=org)}
    assert found == Published(made["INV-7"])
    never = a_bill("b3", number="INV-8", supplier=vendor(org), lines=[line(org)])
    assert isinstance(
        qbd_publish.read_lookup(run(quickbooks, [qbd_publish.lookup_query(never)]), never), NotFound
    )
    assert SandboxBill.objects.filter(provider="qbd", org_id=org).count() == 2  # 0 lost, 0 duplicates


def test_a_document_typed_by_hand_with_our_number_is_not_taken_for_ours(quickbooks):
    _, _, org = quickbooks
    by_hand = a_bill("someone-else", number="INV-9", supplier=vendor(org), lines=[line(org)])
    run(quickbooks, [qbd_publish.add_request(by_hand, version=VERSION)])
    ours = a_bill("ours", number="INV-9", supplier=vendor(org), lines=[line(org)])
    found = qbd_publish.read_lookup(run(quickbooks, [qbd_publish.lookup_query(ours)]), ours)
    assert isinstance(found, NotFound) and "not made by Dext Connect" in found.detail

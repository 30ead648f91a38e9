"""Publishing to QuickBooks Online through our adapter (integrations/providers/qbo_publish.py), against
the sandbox over real HTTP: Bill, VendorCredit, Purchase and Invoice under `requestid` with
minorversion 75, Intuit's Fault as a rejection in its own words, the throttle, and faults with 0 lost
and 0 duplicate documents (the same requestid is the lookup)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrations.provider_calls import caller_for
from integrations.providers import qbo_publish
from integrations.providers.publishing import (
    CREDIT_NOTE,
    PAID_RECEIPT,
    SALES_INVOICE,
    BillLine,
    InDoubt,
    Party,
    Published,
    Rejected,
    RetryAfter,
)
from integrations.providers.qbo import request_id
from sandbox import faults
from sandbox.models import RequestLogEntry
from tests.integrations.publish_helpers import (  # noqa: F401
    a_bill,
    answer_lost,
    numbers,
    qbo_connection,
    received,
)
from tests.integrations.sandbox_helpers import other_tenant_untouched, sandbox  # noqa: F401

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_untouched")

STAPLES, ADVERTISING, TAX = "56", "7", "TAX"


@pytest.fixture
def qbo(tenant, connect):
    return qbo_connection(connect, tenant.account)


def line(amount: str = "200.00", account: str = ADVERTISING, **fields) -> BillLine:
    return BillLine(description="Flyers", amount=Decimal(amount), account_id=account, **fields)


def send(connection, bills):
    return qbo_publish.send(caller_for(connection), organisation=connection.external_id, bills=bills)


def vendor(external_id: str = STAPLES) -> Party:
    return Party(external_id=external_id, name="Staples")


def creates_received() -> list[str]:
    return list(
        RequestLogEntry.objects.filter(
            provider="qbo", method="POST", path__regex=r"/(bill|vendorcredit|purchase|invoice)$"
        )
        .order_by("id")
        .values_list("summary", flat=True)
    )


def test_each_kind_of_document_is_created_under_its_requestid_with_a_link(qbo):
    bills = [
        a_bill("b1", supplier=vendor(), lines=[line(tax_rate_id=TAX)]),
        a_bill("c1", kind=CREDIT_NOTE, supplier=vendor(), lines=[line("20.00")]),
        a_bill(
            "r1",
            kind=PAID_RECEIPT,
            supplier=vendor(),
            lines=[line("12.00")],
            payment_account_id="35",
            payment_type="Check",
        ),
        a_bill(
            "s1", kind=SALES_INVOICE, supplier=Party(external_id="1"), lines=[line("300.00", "", item_id="1")]
        ),
    ]
    outcomes = send(qbo, bills)
    assert all(isinstance(o, Published) for o in outcomes), outcomes
    made = received("qbo", qbo.external_id)
    assert [(b.kind, b.supplier, b.number, b.total, b.idempotency_key) for b in made] == [
        ("Bill", "Staples", "INV-b1", Decimal("200.00"), "b1"),
        ("VendorCredit", "Staples", "INV-c1", Decimal("20.00"), "c1"),
        ("Purchase", "Staples", "INV-r1", Decimal("12.00"), "r1"),
        ("Invoice", "Amy's Bird Sanctuary", "INV-s1", Decimal("300.00"), "s1"),
    ]
    assert [o.external_id for o in outcomes] == [b.bill_id for b in made]
    assert outcomes[0].url.endswith(f"/qbo/app/bill?txnId={made[0].bill_id}")
    assert outcomes[2].url.endswith(f"/qbo/app/expense?txnId={made[2].bill_id}")
    assert all("minorversion=75" in note and "requestid" in note for note in creates_received())


def test_intuits_fault_is_a_rejection_in_its_own_words_for_that_document_only(qbo):
    outcomes = send(
        qbo,
        [
            a_bill("bad", supplier=vendor(), lines=[line(account="999")]),
            a_bill("ok", supplier=vendor(), lines=[line()]),
            a_bill(
                "card",
                kind=PAID_RECEIPT,
                supplier=vendor(),
                lines=[line()],
                payment_account_id="35",
                payment_type="CreditCard",
            ),
        ],
    )
    assert isinstance(outcomes[0], Rejected) and outcomes[0].code == "2500"
    assert "Invalid Reference Id" in outcomes[0].message
    assert isinstance(outcomes[1], Published)
    assert outcomes[2].code == "6000" and "CreditCard must specify credit card account" in outcomes[2].message
    assert numbers("qbo", qbo.external_id) == ["INV-ok"]


def test_what_quickbooks_cannot_take_is_refused_before_anything_is_sent(qbo):
    outcomes = send(
        qbo,
        [
            a_bill("r", kind=PAID_RECEIPT, supplier=vendor(), lines=[line()]),
            a_bill("n", supplier=Party(name="Nobody Yet"), lines=[line()]),
            a_bill("s", kind=SALES_INVOICE, supplier=Party(external_id="1"), lines=[line()]),
            a_bill("a", supplier=vendor(), lines=[line(account="")]),
        ],
    )
    assert [o.code for o in outcomes] == ["no_payment_account", "no_party", "no_item", "no_account"]
    assert "bank or credit card account it was paid from" in outcomes[0].message
    assert creates_received() == []


def test_an_inactive_vendor_is_refused(qbo):
    from tests.integrations.publish_helpers import entry

    staples = entry("qbo", qbo.external_id, "supplier", "Staples")
    staples.status = "ARCHIVED"
    staples.save()
    [outcome] = send(qbo, [a_bill("b1", supplier=vendor(), lines=[line()])])
    assert outcome.code == "2500"


def test_the_throttle_is_retry_after(qbo):
    with faults.injected("qbo", "429"):
        [outcome] = send(qbo, [a_bill("b1", supplier=vendor(), lines=[line()])])
    assert isinstance(outcome, RetryAfter) and outcome.seconds > 0
    assert received("qbo", qbo.external_id) == []


@pytest.mark.parametrize("fault", ["500", "timeout", "dropped"])
def test_a_lost_answer_is_in_doubt_and_the_same_requestid_creates_it_once(qbo, settings, fault):
    bill = a_bill("b1", supplier=vendor(), lines=[line()])
    with answer_lost(settings, "qbo", fault):
        [first] = send(qbo, [bill])
    assert isinstance(first, InDoubt)
    assert len(received("qbo", qbo.external_id)) == (1 if fault == "dropped" else 0)
    [again] = send(qbo, [bill])
    assert isinstance(again, Published)
    made = received("qbo", qbo.external_id)
    assert [b.bill_id for b in made] == [again.external_id]  # 0 lost, 0 duplicates


def test_a_long_key_becomes_a_requestid_intuit_takes(qbo):
    key = "attempt-" + "x" * 80
    [outcome] = send(qbo, [a_bill(key, supplier=vendor(), lines=[line()])])
    assert isinstance(outcome, Published)
    assert (
        received("qbo", qbo.external_id)[0].idempotency_key == request_id(key) and len(request_id(key)) == 50
    )

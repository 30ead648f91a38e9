"""Publishing to Bill.com through our adapter (integrations/providers/billcom_publish.py), against the
sandbox over real HTTP with the connection's kept session: POST /v3/bills with what BILL requires, its
refusals, and the rule that stands in for the idempotency key BILL does not have: look the bill up
(vendor, then the invoice number compared here) before any resend. 0 lost, 0 duplicates."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.utils import timezone

from integrations import services
from integrations.provider_calls import caller_for
from integrations.providers import billcom_publish
from integrations.providers.base import setting
from integrations.providers.publishing import (
    CREDIT_NOTE,
    PAID_RECEIPT,
    BillLine,
    InDoubt,
    NotFound,
    Party,
    Published,
    Rejected,
    RetryAfter,
)
from sandbox import faults
from sandbox.models import SandboxBill
from tests.integrations.publish_helpers import (  # noqa: F401
    BILLCOM_ACME,
    a_bill,
    answer_lost,
    billcom_connection,
    entry,
    numbers,
    received,
)
from tests.integrations.sandbox_helpers import other_tenant_untouched, sandbox  # noqa: F401

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_untouched")

ORG = BILLCOM_ACME["organisation_id"]


@pytest.fixture
def billcom(tenant, connect):
    return billcom_connection(tenant, connect)


def vendor(name: str = "Acme Supplies") -> Party:
    return Party(external_id=entry("billcom", ORG, "supplier", name).entry_id, name=name)


def line(amount: str = "100.00", tax: str | None = "20.00") -> BillLine:
    return BillLine(
        description="Paper",
        amount=Decimal(amount),
        tax_amount=Decimal(tax) if tax else None,
        account_id=entry("billcom", ORG, "account", "General Expenses").entry_id,
    )


def send(connection, bills):
    return billcom_publish.send(caller_for(connection), organisation=ORG, bills=bills)


def find(connection, bills, since=None):
    return billcom_publish.find(caller_for(connection), organisation=ORG, bills=bills, since=since)


def test_a_bill_is_created_with_what_bill_requires(billcom):
    outcomes = send(
        billcom,
        [
            a_bill("b1", supplier=vendor(), lines=[line(), line("5.00", None)]),
            a_bill("r1", kind=PAID_RECEIPT, supplier=vendor("Contoso Energy"), lines=[line()], due=None),
        ],
    )
    assert all(isinstance(o, Published) and o.external_id.startswith("00n") and o.url == "" for o in outcomes)
    made = received("billcom", ORG)
    assert [(b.supplier, b.number, b.total, b.idempotency_key) for b in made] == [
        ("Acme Supplies", "INV-b1", Decimal("125.00"), ""),  # tax included: BILL keeps none
        ("Contoso Energy", "INV-r1", Decimal("120.00"), ""),
    ]
    assert made[1].payload["dueDate"] == made[1].payload["invoice"]["invoiceDate"]


def test_bills_refusals_and_what_it_does_not_take(billcom):
    archived = entry("billcom", ORG, "supplier", "Tailspin Travel")
    archived.status = "ARCHIVED"
    archived.save()
    outcomes = send(
        billcom,
        [
            a_bill("v", supplier=Party(external_id=archived.entry_id), lines=[line()]),
            a_bill("c", kind=CREDIT_NOTE, supplier=vendor(), lines=[line()]),
            a_bill("n", supplier=Party(name="Not in Bill.com"), lines=[line()]),
        ],
    )
    assert isinstance(outcomes[0], Rejected) and outcomes[0].code == "BDC_1119"
    assert archived.entry_id in outcomes[0].message
    assert [o.code for o in outcomes[1:]] == ["not_a_bill", "no_party"]
    assert received("billcom", ORG) == []


def test_the_concurrency_limit_is_retry_after(billcom):
    with faults.injected("billcom", "429"):
        [outcome] = send(billcom, [a_bill("b1", supplier=vendor(), lines=[line()])])
    assert isinstance(outcome, RetryAfter)
    assert received("billcom", ORG) == []


def test_a_dropped_answer_is_found_by_the_lookup_and_never_sent_again(billcom, settings):
    bill = a_bill("b1", supplier=vendor(), lines=[line()])
    started = timezone.now()
    with answer_lost(settings, "billcom", "dropped"):
        [first] = send(billcom, [bill])
    assert isinstance(first, InDoubt)
    [found] = find(billcom, [bill], since=started - timedelta(minutes=5))
    made = received("billcom", ORG)
    assert isinstance(found, Published) and [b.bill_id for b in made] == [found.external_id]
    assert numbers("billcom", ORG) == ["INV-b1"]  # 0 lost, 0 duplicates


@pytest.mark.parametrize("fault", ["500", "timeout"])
def test_a_failed_create_is_not_found_so_it_is_sent_once_more(billcom, settings, fault):
    bill = a_bill("b1", supplier=vendor(), lines=[line()])
    with answer_lost(settings, "billcom", fault):
        [first] = send(billcom, [bill])
    assert isinstance(first, InDoubt)
    assert isinstance(find(billcom, [bill])[0], NotFound)
    assert isinstance(send(billcom, [bill])[0], Published)
    assert numbers("billcom", ORG) == ["INV-b1"]


def test_bill_com_honours_no_idempotency_key_so_a_blind_resend_duplicates(billcom):
    """Why the lookup exists: the sandbox, like BILL, ignores any idempotency header."""
    [sent] = send(billcom, [a_bill("b1", supplier=vendor(), lines=[line()])])
    body = billcom_publish.document(a_bill("b1", supplier=vendor(), lines=[line()]))
    session = services.credentials_of(billcom)["session_id"]
    for _ in range(2):
        answer = requests.post(
            f"{setting('BILLCOM_API_URL')}/v3/bills",
            json=body,
            headers={
                "devKey": setting("BILLCOM_DEV_KEY"),
                "sessionId": session,
                "Idempotency-Key": "same-key",
            },
            timeout=10,
        )
        assert answer.status_code == 200 and answer.json()["id"] != sent.external_id
    assert numbers("billcom", ORG) == ["INV-b1"] * 3


def test_the_lookup_reads_every_page_and_compares_the_number_exactly(billcom):
    acme = vendor()
    SandboxBill.objects.bulk_create(
        SandboxBill(
            provider="billcom",
            org_id=ORG,
            bill_id=f"00nFILLER{n:011d}",
            kind="bill",
            number=f"INV-b1{n}",  # starts like ours, is not ours
            payload={
                "id": f"00nFILLER{n:011d}",
                "vendorId": acme.external_id,
                "archived": False,
                "invoice": {"invoiceNumber": f"INV-b1{n}"},
                "amount": 1.0,
                "createdTime": "2026-01-05T09:00:00.000+00:00",
            },
        )
        for n in range(230)
    )
    bill = a_bill("b1", supplier=acme, lines=[line()])
    assert isinstance(find(billcom, [bill])[0], NotFound)
    [published] = send(billcom, [bill])
    assert find(billcom, [bill])[0] == published
    by_number = billcom_publish.find_bill(
        caller_for(billcom), vendor_id=acme.external_id, invoice_number="INV-b1"
    )
    assert by_number == published

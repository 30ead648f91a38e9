"""Publishing to Xero through our adapter (integrations/providers/xero_publish.py), against the sandbox
over real HTTP: batches with per-document outcomes, Xero's limits, faults with 0 lost and 0 duplicate
documents, the 6-minute Idempotency-Key and the look-up-before-retry rule, credit notes, bills awaiting
approval, and every request body validated against Xero's own OpenAPI document."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest

from integrations import services
from integrations.provider_calls import caller_for
from integrations.providers import xero_publish
from integrations.providers.publishing import (
    CREDIT_NOTE,
    NO_TAX,
    SALES_INVOICE,
    TAX_INCLUSIVE,
    AuthExpired,
    BillLine,
    InDoubt,
    NotFound,
    Party,
    Published,
    Rejected,
    RetryAfter,
)
from sandbox import bills as sandbox_bills
from sandbox import clock, faults
from sandbox.models import SandboxApiCall, SandboxBill
from tests.integrations.publish_helpers import (
    a_bill,
    answer_lost,
    entry,
    numbers,
    received,
)
from tests.integrations.sandbox_helpers import (  # noqa: F401  (fixtures: other_tenant_untouched, sandbox)
    XERO_ACME,
    org_ids,
    other_tenant_untouched,
    sandbox,
    xero_connection,
)

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_untouched")

# Xero's official OpenAPI document (MIT), kept in the repository: tests/provider_specs/README.md.
SPEC = Path(__file__).resolve().parents[1] / "provider_specs" / "xero_accounting.yaml"


@pytest.fixture
def xero(tenant, connect):
    connection = xero_connection(connect, tenant.account)
    yield connection
    clock.reset()


def tenant_of(connection) -> str:
    return connection.external_id


def supplier(connection, name: str = "Acme Supplies") -> Party:
    return Party(external_id=entry("xero", tenant_of(connection), "supplier", name).entry_id)


def line(amount: str = "100.00", code: str = "429", tax: str = "INPUT2", tax_amount: str | None = "20.00"):
    return BillLine(
        description="Paper and toner",
        amount=Decimal(amount),
        tax_amount=Decimal(tax_amount) if tax_amount is not None else None,
        account_code=code,
        tax_rate_code=tax,
    )


def send(connection, bills, **kwargs):
    return xero_publish.send(
        caller_for(connection), organisation=tenant_of(connection), bills=bills, **kwargs
    )


def created(connection) -> list[SandboxBill]:
    return received("xero", tenant_of(connection))


# --- published, rejected -----------------------------------------------------------------------


def test_a_batch_of_bills_is_published_each_with_its_id_and_deep_link(xero):
    code = xero_publish.organisation_short_code(caller_for(xero), organisation=tenant_of(xero))
    bills = [
        a_bill("b1", supplier=supplier(xero), lines=[line()]),
        a_bill(
            "b2", supplier=supplier(xero, "Contoso Energy"), lines=[line("50.00", "445", "RRINPUT", "2.50")]
        ),
    ]
    batch = send(xero, bills, short_code=code)
    assert [type(o) for o in batch.outcomes] == [Published, Published]
    made = created(xero)
    assert [o.external_id for o in batch.outcomes] == [b.bill_id for b in made]
    assert [(b.kind, b.supplier, b.number, b.total, b.status) for b in made] == [
        ("ACCPAY", "Acme Supplies", "INV-b1", Decimal("120.00"), "DRAFT"),
        ("ACCPAY", "Contoso Energy", "INV-b2", Decimal("52.50"), "DRAFT"),
    ]
    assert {b.idempotency_key for b in made} == {batch.key} and batch.key == xero_publish.batch_key(bills)
    assert code.startswith("!") and f"shortcode={code}" in batch.outcomes[0].url
    assert batch.outcomes[0].url.endswith(f"/AccountsPayable/Edit.aspx?InvoiceID={made[0].bill_id}")


def test_the_deep_link_opens_the_bill_for_its_account_only(xero, tenant, other_tenant):
    from tests.conftest import client_for

    [outcome] = send(xero, [a_bill("b1", supplier=supplier(xero), lines=[line()])]).outcomes
    path = outcome.url.split("/sandbox", 1)[1]
    assert "INV-b1" in client_for(tenant.admin).get(f"/sandbox{path}").content.decode()
    assert client_for(other_tenant.admin).get(f"/sandbox{path}").status_code == 404


def test_one_bad_bill_fails_alone_in_a_mixed_batch_with_xeros_own_words(xero):
    bills = [
        a_bill("ok-1", supplier=supplier(xero), lines=[line()]),
        a_bill("bad", supplier=supplier(xero), lines=[line(code="999")]),
        a_bill("bad-tax", supplier=supplier(xero), lines=[line(tax="OUTPUT2")]),
        a_bill("ok-2", supplier=supplier(xero), lines=[line()]),
    ]
    outcomes = send(xero, bills).outcomes
    assert isinstance(outcomes[0], Published) and isinstance(outcomes[3], Published)
    assert outcomes[1] == Rejected(
        "Xero refused it: Account code '999' is not a valid code for this document.", "validation"
    )
    assert isinstance(outcomes[2], Rejected)
    assert "The TaxType code OUTPUT2 does not exist or cannot be used" in outcomes[2].message
    assert numbers("xero", tenant_of(xero)) == ["INV-ok-1", "INV-ok-2"]


def test_an_archived_account_or_contact_is_refused(xero):
    account = entry("xero", tenant_of(xero), "account", "Cleaning")
    account.status = "ARCHIVED"
    account.save()
    contact = entry("xero", tenant_of(xero), "supplier", "Fabrikam Print")
    contact.status = "ARCHIVED"
    contact.save()
    outcomes = send(
        xero,
        [
            a_bill("a", supplier=supplier(xero), lines=[line(code="408")]),
            a_bill("c", supplier=Party(external_id=contact.entry_id), lines=[line()]),
        ],
    ).outcomes
    assert "Account code '408' has been archived" in outcomes[0].message
    assert "archived" in outcomes[1].message
    assert not created(xero)


def test_a_supplier_known_by_name_only_is_found_or_created_by_xero(xero):
    outcomes = send(
        xero,
        [
            a_bill("n1", supplier=Party(name="acme supplies"), lines=[line()]),
            a_bill("n2", supplier=Party(name="Brand New Stationers"), lines=[line()]),
        ],
    ).outcomes
    assert all(isinstance(o, Published) for o in outcomes)
    assert [b.supplier for b in created(xero)] == ["Acme Supplies", "Brand New Stationers"]
    assert entry("xero", tenant_of(xero), "supplier", "Brand New Stationers").status == "ACTIVE"


def test_credit_notes_sales_invoices_and_bills_awaiting_approval(xero):
    bills = [
        a_bill("cn", kind=CREDIT_NOTE, supplier=supplier(xero), lines=[line()]),
        a_bill("si", kind=SALES_INVOICE, supplier=supplier(xero), lines=[line(code="200", tax="OUTPUT2")]),
        a_bill("ap", supplier=supplier(xero), lines=[line()], awaiting_approval=True, amounts=TAX_INCLUSIVE),
        a_bill("nt", supplier=supplier(xero), lines=[line(tax="NONE", tax_amount=None)], amounts=NO_TAX),
    ]
    outcomes = [o for batch in xero_publish.batches(bills) for o in send(xero, batch).outcomes]
    assert all(isinstance(o, Published) for o in outcomes), outcomes
    by_number = {b.number: b for b in created(xero)}
    assert by_number["INV-cn"].kind == "ACCPAYCREDIT"
    assert by_number["INV-si"].kind == "ACCREC"
    assert by_number["INV-ap"].status == "SUBMITTED" and by_number["INV-ap"].total == Decimal("100.00")
    assert by_number["INV-nt"].total == Decimal("100.00")
    # A second sales invoice with the same number: Xero keeps ACCREC numbers unique.
    [again] = send(
        xero,
        [
            a_bill(
                "si2",
                number="INV-si",
                kind=SALES_INVOICE,
                supplier=supplier(xero),
                lines=[line(code="200", tax="OUTPUT2")],
            )
        ],
    ).outcomes
    assert again == Rejected("Xero refused it: Invoice # must be unique.", "validation")


# --- limits --------------------------------------------------------------------------------------


def test_a_429_is_retry_after_xeros_wait_and_creates_nothing(xero):
    with faults.injected("xero", "429", retry_after=17):
        outcomes = send(xero, [a_bill("b1", supplier=supplier(xero), lines=[line()])]).outcomes
    assert outcomes == [RetryAfter(17.0, outcomes[0].message)]
    assert not created(xero)


def test_the_minute_limit_is_per_organisation_and_says_when_to_come_back(xero):
    now = clock.now()
    SandboxApiCall.objects.bulk_create(
        SandboxApiCall(
            provider="xero",
            org_id=tenant_of(xero),
            started_at=now - timedelta(seconds=50 - n),
            finished_at=now,
        )
        for n in range(sandbox_bills.XERO_PER_MINUTE)
    )
    [outcome] = send(xero, [a_bill("b1", supplier=supplier(xero), lines=[line()])]).outcomes
    assert isinstance(outcome, RetryAfter) and 1 <= outcome.seconds <= 10
    assert not created(xero)
    clock.advance(timedelta(seconds=61))  # the minute has passed
    assert isinstance(
        send(xero, [a_bill("b1", supplier=supplier(xero), lines=[line()])]).outcomes[0], Published
    )


def test_five_calls_in_progress_refuse_a_sixth_without_a_retry_after(xero):
    now = clock.now()
    SandboxApiCall.objects.bulk_create(
        SandboxApiCall(provider="xero", org_id=tenant_of(xero), started_at=now) for _ in range(5)
    )
    answer = requests.get(
        xero_publish._url("Invoices"),
        headers={
            "Authorization": f"Bearer {services.credentials_of(xero)['access_token']}",
            "xero-tenant-id": tenant_of(xero),
        },
        timeout=10,
    )
    assert answer.status_code == 429 and answer.headers["X-Rate-Limit-Problem"] == "Concurrent"
    assert "Retry-After" not in answer.headers
    [outcome] = send(xero, [a_bill("b1", supplier=supplier(xero), lines=[line()])]).outcomes
    assert isinstance(outcome, RetryAfter) and outcome.seconds > 0


def test_a_sped_up_clock_shortens_the_wait_in_real_seconds(xero):
    clock.set_speed(60)
    now = clock.now()
    SandboxApiCall.objects.bulk_create(
        SandboxApiCall(provider="xero", org_id=tenant_of(xero), started_at=now, finished_at=now)
        for _ in range(sandbox_bills.XERO_PER_MINUTE)
    )
    [outcome] = send(xero, [a_bill("b1", supplier=supplier(xero), lines=[line()])]).outcomes
    assert outcome.seconds == 1.0  # a sandbox minute at 60× lasts a real second


# --- faults: 0 lost, 0 duplicates ----------------------------------------------------------------


@pytest.mark.parametrize("fault", ["500", "timeout"])
def test_a_500_or_a_timeout_is_in_doubt_and_the_same_batch_resent_is_created_once(xero, settings, fault):
    bills = [a_bill(f"b{n}", supplier=supplier(xero), lines=[line()]) for n in range(3)]
    with answer_lost(settings, "xero", fault):
        first = send(xero, bills)
    assert all(isinstance(o, InDoubt) for o in first.outcomes)
    assert not created(xero)
    again = send(xero, bills, key=first.key, body=first.body)
    assert all(isinstance(o, Published) for o in again.outcomes)
    assert numbers("xero", tenant_of(xero)) == ["INV-b0", "INV-b1", "INV-b2"]


def test_an_answer_dropped_after_the_write_is_replayed_under_the_same_key_within_6_minutes(xero, settings):
    bills = [a_bill(f"b{n}", supplier=supplier(xero), lines=[line()]) for n in range(3)]
    with answer_lost(settings, "xero", "dropped"):
        first = send(xero, bills)
    assert all(isinstance(o, InDoubt) for o in first.outcomes)
    assert len(created(xero)) == 3  # Xero made them; we did not hear
    clock.advance(timedelta(minutes=4))
    again = send(xero, bills, key=first.key, body=first.body)
    assert [o.external_id for o in again.outcomes] == [b.bill_id for b in created(xero)]
    assert numbers("xero", tenant_of(xero)) == ["INV-b0", "INV-b1", "INV-b2"]  # 0 lost, 0 duplicates


def test_after_6_minutes_the_key_is_forgotten_so_the_bills_are_looked_up_first(xero, settings):
    bills = [a_bill(f"b{n}", supplier=supplier(xero), lines=[line()]) for n in range(2)]
    first_sent = clock.now()
    with answer_lost(settings, "xero", "dropped"):
        first = send(xero, bills)
    clock.advance(timedelta(minutes=7))
    assert not xero_publish.resend_is_safe(first_sent, clock.now())
    never_sent = a_bill("b9", supplier=supplier(xero), lines=[line()])
    found = xero_publish.find(caller_for(xero), organisation=tenant_of(xero), bills=[*bills, never_sent])
    assert [f.external_id for f in found[:2]] == [b.bill_id for b in created(xero)]
    assert isinstance(found[2], NotFound)
    # Only what Xero does not have is sent, as a new batch under a new key.
    rest = send(xero, [never_sent])
    assert rest.key != first.key and isinstance(rest.outcomes[0], Published)
    assert numbers("xero", tenant_of(xero)) == ["INV-b0", "INV-b1", "INV-b9"]
    # What the rule prevents: the same batch resent blindly after 6 minutes is created again.
    send(xero, bills, key=first.key, body=first.body)
    assert numbers("xero", tenant_of(xero)).count("INV-b0") == 2


def test_the_same_key_with_another_body_is_refused_and_in_doubt(xero):
    bill = a_bill("b1", supplier=supplier(xero), lines=[line()])
    first = send(xero, [bill])
    changed = send(xero, [a_bill("b1", supplier=supplier(xero), lines=[line("99.00")])], key=first.key)
    assert isinstance(changed.outcomes[0], InDoubt) and "different request" in changed.outcomes[0].message
    assert len(created(xero)) == 1


def test_credit_notes_are_looked_up_by_number_and_contact(xero):
    note = a_bill("cn", kind=CREDIT_NOTE, supplier=supplier(xero), lines=[line()])
    [published] = send(xero, [note]).outcomes
    other = a_bill("cn2", kind=CREDIT_NOTE, supplier=supplier(xero), lines=[line()])
    found = xero_publish.find(caller_for(xero), organisation=tenant_of(xero), bills=[note, other])
    assert found[0] == published and isinstance(found[1], NotFound)
    assert found[0].url.endswith(f"ViewCreditNote.aspx?creditNoteID={published.external_id}")


def test_an_organisation_no_longer_connected_is_auth_expired(xero):
    from sandbox.models import XeroConnection

    XeroConnection.objects.filter(org_id=tenant_of(xero)).delete()
    [outcome] = send(xero, [a_bill("b1", supplier=supplier(xero), lines=[line()])]).outcomes
    assert isinstance(outcome, AuthExpired)
    assert not created(xero)


# --- the request bodies against Xero's OpenAPI document ------------------------------------------


class Recording:
    """A caller that records what the adapter sends, then sends it."""

    def __init__(self, inner):
        self.inner, self.label, self.sent = inner, inner.label, []

    def request(self, method, url, **kwargs):
        self.sent.append((method, url, kwargs))
        return self.inner.request(method, url, **kwargs)


def spec_check(api, method: str, url: str, kwargs: dict) -> None:
    path = "/api.xro/2.0/" + url.rsplit("/", 1)[1]
    api.validate_request(
        MockRequest(
            "https://api.xero.com",
            method.lower(),
            path,
            headers=kwargs.get("headers") or {},
            args={k: str(v) for k, v in (kwargs.get("params") or {}).items()},
            data=json.dumps(kwargs["json"]).encode() if kwargs.get("json") is not None else None,
            content_type="application/json",
        )
    )


# openapi-core skips Xero's OAuth2 security scheme with a warning: tokens are not what is checked here.
@pytest.mark.filterwarnings("ignore:Unsupported scheme type")
def test_every_request_body_validates_against_xeros_openapi_document(xero):
    api = OpenAPI.from_file_path(str(SPEC), config=Config(spec_validator_cls=None))
    caller = Recording(caller_for(xero))
    bills = [
        a_bill(
            "b1",
            supplier=supplier(xero),
            lines=[line(), line("5.00", "463", "INPUT2", None)],
            currency="GBP",
            source_url="https://dext.example/i/1",
        ),
        a_bill(
            "b2",
            supplier=Party(name="Someone New"),
            lines=[line()],
            awaiting_approval=True,
            amounts=TAX_INCLUSIVE,
            due=None,
        ),
        a_bill("b3", supplier=supplier(xero), lines=[line(tax="NONE", tax_amount=None)], amounts=NO_TAX),
        a_bill("cn", kind=CREDIT_NOTE, supplier=supplier(xero), lines=[line()]),
        a_bill("si", kind=SALES_INVOICE, supplier=supplier(xero), lines=[line(code="200", tax="OUTPUT2")]),
    ]
    for batch in xero_publish.batches(bills):
        xero_publish.send(caller, organisation=tenant_of(xero), bills=batch)
    xero_publish.find(caller, organisation=tenant_of(xero), bills=bills)
    assert {m for m, _, _ in caller.sent} == {"PUT", "GET"}
    for method, url, kwargs in caller.sent:
        spec_check(api, method, url, kwargs)
    # The validator does refuse what Xero's document forbids: a read-only field, a wrong type.
    method, url, kwargs = next(s for s in caller.sent if s[0] == "PUT")
    wrong = json.loads(json.dumps(kwargs["json"]))
    wrong["Invoices"][0]["Total"] = 120
    with pytest.raises(Exception, match="validation error"):
        spec_check(api, method, url, {**kwargs, "json": wrong})
    with pytest.raises(Exception, match="xero-tenant-id"):
        spec_check(api, method, url, {**kwargs, "headers": {}})

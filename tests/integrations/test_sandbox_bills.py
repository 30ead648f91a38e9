"""The sandbox's create endpoints for publishing, called directly over HTTP: provider-shaped answers and
refusals, Xero's summarised errors (valid invoices created all the same), its Idempotency-Key window,
QuickBooks Online's requestid, Bill.com honouring no key at all, ApprovalMax's read endpoints (and no
invented create), the pretend QuickBooks Desktop's answers, and /sandbox/ listing what each received.
The adapters' side of the same calls: test_publish_contract_*.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from integrations import services
from integrations.providers import ProviderError
from sandbox import clock, data, webconnector
from sandbox.approvalmax_reads import PULLS_FROM_XERO
from sandbox.listdata import ensure_lists
from sandbox.models import SandboxBill
from tests.conftest import client_for
from tests.integrations.sandbox_helpers import XERO_ACME, org_ids, other_tenant_untouched, sandbox, start_url  # noqa: F401

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_untouched")


@pytest.fixture(autouse=True)
def _clock_reset():
    yield
    clock.reset()


def bearer(provider: str, client_id: str, orgs: list[str]) -> dict[str, str]:
    issued = data.issue_tokens(provider=provider, client_id=client_id, org_ids=orgs)
    return {"Authorization": f"Bearer {issued.access_token}"}


LINE = {"Description": "Paper", "Quantity": 1, "UnitAmount": 12.5, "AccountCode": "429", "TaxType": "INPUT2"}
INVOICE = {
    "Type": "ACCPAY",
    "Contact": {"Name": "Acme Supplies"},
    "InvoiceNumber": "INV-1",
    "LineItems": [LINE],
}


def xero_put(settings, body, *, key: str = "", summarize: bool = False, tenant: str = ""):
    tenant_id = tenant or org_ids("xero", XERO_ACME)[0]
    headers = {**bearer("xero", settings.XERO_CLIENT_ID, [tenant_id]), "xero-tenant-id": tenant_id}
    if key:
        headers["Idempotency-Key"] = key
    return requests.put(
        f"{settings.SANDBOX_BASE_URL}/xero/api.xro/2.0/Invoices",
        params={} if summarize else {"summarizeErrors": "false"},
        json=body,
        headers=headers,
        timeout=10,
    )


def test_xero_invoices_replay_within_6_minutes_and_refuse_a_reused_key(settings):
    first = xero_put(settings, {"Invoices": [INVOICE]}, key="batch-1")
    retry = xero_put(settings, {"Invoices": [INVOICE]}, key="batch-1")
    assert first.status_code == retry.status_code == 200
    [invoice] = first.json()["Invoices"]
    assert invoice["Type"] == "ACCPAY" and invoice["Total"] == 15.0 and invoice["TotalTax"] == 2.5
    assert invoice["Date"].startswith("/Date(") and invoice["StatusAttributeString"] == "OK"
    assert retry.json() == first.json()
    other = xero_put(settings, {"Invoices": [{**INVOICE, "InvoiceNumber": "INV-2"}]}, key="batch-1")
    assert other.status_code == 400
    assert other.json()["Detail"] == "Idempotency Key: batch-1 is used with a different request."
    assert SandboxBill.objects.filter(provider="xero").count() == 1
    clock.advance(timedelta(minutes=6, seconds=1))
    late = xero_put(settings, {"Invoices": [INVOICE]}, key="batch-1")
    assert late.status_code == 200 and late.json()["Invoices"][0]["InvoiceID"] != invoice["InvoiceID"]
    assert SandboxBill.objects.filter(provider="xero").count() == 2


def test_xero_without_summarize_errors_refuses_with_400_yet_creates_the_valid_ones(settings):
    bad = {**INVOICE, "InvoiceNumber": "INV-bad", "Contact": {}}
    answer = xero_put(settings, {"Invoices": [INVOICE, bad]}, summarize=True)
    assert answer.status_code == 400 and answer.json()["Type"] == "ValidationException"
    [element] = answer.json()["Elements"]
    assert element["ValidationErrors"] == [
        {"Message": "A Contact must be specified for this type of transaction"}
    ]
    assert list(SandboxBill.objects.values_list("number", flat=True)) == ["INV-1"]


def test_xero_refusals_per_invoice_and_for_the_request(settings):
    tenant_id = org_ids("xero", XERO_ACME)[0]
    ensure_lists("xero", tenant_id)
    answer = xero_put(
        settings,
        {
            "Invoices": [
                {"Type": "ACCPAY", "LineItems": []},
                {**INVOICE, "CurrencyCode": "EUR"},
                {**INVOICE, "Status": "AUTHORISED", "LineItems": [{**LINE, "AccountCode": ""}]},
            ]
        },
    )
    assert answer.status_code == 200
    errors = [[e["Message"] for e in i["ValidationErrors"]] for i in answer.json()["Invoices"]]
    assert "A Contact must be specified for this type of transaction" in errors[0]
    assert "Invoices must contain at least one line item." in errors[0]
    assert errors[1] == ["Organisation is not subscribed to currency EUR"]
    assert errors[2] == ["Account code or ID must be specified"]
    assert all("InvoiceID" not in i for i in answer.json()["Invoices"])
    other_org = requests.put(
        f"{settings.SANDBOX_BASE_URL}/xero/api.xro/2.0/Invoices",
        json={"Invoices": [INVOICE]},
        headers={
            **bearer("xero", settings.XERO_CLIENT_ID, [tenant_id]),
            "xero-tenant-id": org_ids("xero", "Demo Company (UK)")[0],
        },
        timeout=10,
    )
    assert other_org.status_code == 403
    too_long = xero_put(settings, {"Invoices": [INVOICE]}, key="k" * 129)
    assert too_long.status_code == 400
    # 50 a call is Xero's recommendation, not a limit: 51 are taken.
    many = xero_put(settings, {"Invoices": [{**INVOICE, "InvoiceNumber": f"N{n}"} for n in range(51)]})
    assert many.status_code == 200 and len(many.json()["Invoices"]) == 51
    assert SandboxBill.objects.filter(provider="xero").count() == 51


def test_quickbooks_online_bill_uses_requestid(settings):
    realm = org_ids("qbo", "Sandbox Company US")[0]
    token = bearer("qbo", settings.QBO_CLIENT_ID, [realm])
    url = f"{settings.SANDBOX_BASE_URL}/qbo/v3/company/{realm}/bill?minorversion=75&requestid=item-7"
    bill = {
        "VendorRef": {"value": "56"},
        "Line": [
            {
                "Amount": 200.0,
                "DetailType": "AccountBasedExpenseLineDetail",
                "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "7"}},
            }
        ],
    }
    first = requests.post(url, json=bill, headers=token, timeout=10).json()
    again = requests.post(url, json={**bill, "DocNumber": "changed"}, headers=token, timeout=10).json()
    assert first["Bill"]["Id"] == again["Bill"]["Id"] and first["Bill"]["TotalAmt"] == 200.0
    fault = requests.post(url.replace("item-7", "item-8"), json={"Line": []}, headers=token, timeout=10)
    assert fault.status_code == 400 and fault.json()["Fault"]["type"] == "ValidationFault"
    no_account = {**bill, "Line": [{"Amount": 5.0, "DetailType": "AccountBasedExpenseLineDetail"}]}
    refused = requests.post(url.replace("item-7", "item-9"), json=no_account, headers=token, timeout=10)
    assert refused.json()["Fault"]["Error"][0]["code"] == "2020"
    assert SandboxBill.objects.filter(provider="qbo").count() == 1


def test_bill_com_requires_its_fields_and_honours_no_idempotency_key(tenant, connect):
    connect(tenant.account, "xero")
    client_for(tenant.admin).post(
        start_url(tenant.account, "billcom"),
        {
            "username": "accounts@acme.test",
            "password": "billcom-demo-2026",
            "organisation_id": "00801ACMEDEMO01",
        },
    )
    conn = tenant.account.connections.get(provider="billcom")
    ensure_lists("billcom", "00801ACMEDEMO01")
    from tests.integrations.publish_helpers import entry

    vendor = entry("billcom", "00801ACMEDEMO01", "supplier", "Acme Supplies").entry_id
    body = {
        "vendorId": vendor,
        "invoice": {"invoiceNumber": "INV-1", "invoiceDate": "2026-01-05"},
        "dueDate": "2026-02-04",
        "billLineItems": [{"amount": 5}],
    }
    call = dict(account=tenant.account, connection=conn, method="POST", path="/v3/bills")
    created = services.billcom_call(**call, json=body)
    again = services.billcom_call(**call, json=body)
    assert created["id"].startswith("00n") and created["approvalStatus"] == "UNASSIGNED"
    assert again["id"] != created["id"]  # no key, no duplicate check: BILL makes a second bill
    with pytest.raises(ProviderError) as missing:
        services.billcom_call(**call, json={**body, "dueDate": ""})
    assert missing.value.code == "BDC_1117"
    assert SandboxBill.objects.filter(provider="billcom", org_id="00801ACMEDEMO01").count() == 2


def test_approvalmax_has_no_create_and_reads_the_bills_it_pulled_from_xero(settings):
    company = org_ids("approvalmax", "Acme Approvals")[0]
    token = bearer("approvalmax", settings.APPROVALMAX_CLIENT_ID, [company])
    base = f"{settings.SANDBOX_BASE_URL}/approvalmax/api/v1/companies/{company}"
    assert (
        requests.post(f"{base}/bills", json={"supplier": "Acme"}, headers=token, timeout=10).status_code
        == 404
    )
    tenant = PULLS_FROM_XERO[company]
    xero_put(
        settings,
        {"Invoices": [{**INVOICE, "Status": "SUBMITTED"}, {**INVOICE, "InvoiceNumber": "D-1"}]},
        tenant=tenant,
    )
    listed = requests.get(f"{base}/xero/bills", headers=token, timeout=10).json()
    [request] = listed["payload"]  # the draft is not pulled
    assert request["documentNumber"] == "INV-1" and request["requestStatus"] == "onApproval"
    assert listed["continuationToken"] is None
    SandboxBill.objects.filter(number="INV-1").update(status="AUTHORISED")  # approved in ApprovalMax
    one = requests.get(f"{base}/xero/bills/{request['requestId']}", headers=token, timeout=10).json()
    assert one["requestStatus"] == "approved"


def test_the_pretend_quickbooks_answers_bill_add():
    answer = webconnector.answer_qbxml(
        '<?xml version="1.0"?><QBXML><QBXMLMsgsRq onError="stopOnError"><BillAddRq requestID="item-9">'
        "<BillAdd><VendorRef><FullName>Acme</FullName></VendorRef></BillAdd></BillAddRq></QBXMLMsgsRq></QBXML>"
    )
    assert 'requestID="item-9"' in answer and "BillAddRs" in answer


def _nul_bodies(settings) -> list[tuple[str, dict, dict]]:
    """(url, JSON body carrying a NUL, headers) for every sandbox endpoint that reads a JSON body."""
    xero, qbo = org_ids("xero", XERO_ACME)[0], org_ids("qbo", "Sandbox Company US")[0]
    base = settings.SANDBOX_BASE_URL
    nul_invoice = {**INVOICE, "Contact": {"Name": "Acme\x00 Supplies"}}
    return [
        (
            f"{base}/billcom/connect/v3/login",
            {
                "devKey": settings.BILLCOM_DEV_KEY,
                "username": "accounts@acme.test\x00",
                "password": "billcom-demo-2026",
                "organizationId": "00801ACMEDEMO01",
            },
            {},
        ),
        (
            f"{base}/xero/api.xro/2.0/Invoices",
            {"Invoices": [nul_invoice]},
            {**bearer("xero", settings.XERO_CLIENT_ID, [xero]), "xero-tenant-id": xero},
        ),
        (
            f"{base}/qbo/v3/company/{qbo}/bill",
            {"VendorRef": {"value": "56\x00"}, "Line": [{"Amount": 2.0}]},
            bearer("qbo", settings.QBO_CLIENT_ID, [qbo]),
        ),
    ]


def test_a_json_body_carrying_a_nul_gets_the_endpoints_invalid_answer_not_a_500(settings):
    """PostgreSQL refuses NUL in text and JSON columns: each endpoint answers as it does for a body
    it cannot use, and stores nothing."""
    from sandbox.models import BillcomSession

    for url, body, headers in _nul_bodies(settings):
        answer = requests.post(url, json=body, headers=headers, timeout=10)
        assert answer.status_code in (400, 422), (url, answer.status_code, answer.text[:200])
        assert answer.headers["Content-Type"].startswith("application/json"), url
    assert not SandboxBill.objects.exists()
    assert not BillcomSession.objects.exists()


def test_the_sandbox_page_lists_each_organisations_bills(settings, tenant, connect):
    from django_scopes import scopes_disabled

    tenant_id = org_ids("xero", XERO_ACME)[0]
    with scopes_disabled():
        connect(tenant.account, "xero", external_id=tenant_id)
    xero_put(settings, {"Invoices": [INVOICE]}, key="batch-9")
    page = client_for(tenant.admin).get("/sandbox/").content.decode()
    for shown in ("Acme Supplies", "INV-1", "15.00", "batch-9", "ACCPAY"):
        assert shown in page, shown


def test_the_sandbox_clock_command_speeds_up_moves_on_and_resets():
    from io import StringIO

    from django.core.management import call_command
    from django.utils import timezone

    out = StringIO()
    call_command("sandbox_clock", speed=10, advance=600, stdout=out)
    assert "(×10.0)" in out.getvalue()
    assert clock.speed() == 10 and clock.now() - timezone.now() >= timedelta(minutes=10)
    assert clock.real_seconds(60) == 6
    call_command("sandbox_clock", reset=True, stdout=out)
    from sandbox.models import SandboxClock

    assert clock.speed() == 1.0 and not SandboxClock.objects.exists()

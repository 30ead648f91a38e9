"""The sandbox's create-bill endpoints (for publishing): provider-shaped answers, validation errors,
and idempotency keys that make a retry return the first bill instead of a duplicate."""

from __future__ import annotations

import pytest
import requests

from integrations import services
from sandbox import data, webconnector
from sandbox.models import SandboxBill
from tests.conftest import client_for
from tests.integrations.sandbox_helpers import XERO_ACME, org_ids, other_tenant_untouched, sandbox, start_url  # noqa: F401

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_untouched")


def bearer(provider: str, client_id: str, orgs: list[str]) -> dict[str, str]:
    issued = data.issue_tokens(provider=provider, client_id=client_id, org_ids=orgs)
    return {"Authorization": f"Bearer {issued.access_token}"}


INVOICE = {
    "Type": "ACCPAY",
    "Contact": {"Name": "Acme Supplies"},
    "LineItems": [{"Description": "Paper", "Quantity": 1, "UnitAmount": 12.5, "LineAmount": 12.5}],
}


def test_xero_invoices_are_created_once_per_idempotency_key(settings):
    tenant_id = org_ids("xero", XERO_ACME)[0]
    headers = {
        **bearer("xero", settings.XERO_CLIENT_ID, [tenant_id]),
        "xero-tenant-id": tenant_id,
        "Idempotency-Key": "item-42-attempt",
    }
    url = f"{settings.SANDBOX_BASE_URL}/xero/api.xro/2.0/Invoices"
    first = requests.put(url, json={"Invoices": [INVOICE]}, headers=headers, timeout=10)
    retry = requests.put(url, json={"Invoices": [INVOICE]}, headers=headers, timeout=10)
    assert first.status_code == retry.status_code == 200
    [invoice] = first.json()["Invoices"]
    assert invoice["Type"] == "ACCPAY" and invoice["Total"] == 12.5
    assert retry.json()["Invoices"][0]["InvoiceID"] == invoice["InvoiceID"]
    assert SandboxBill.objects.filter(provider="xero").count() == 1


def test_xero_validation_errors_and_tenant_checks(settings):
    tenant_id = org_ids("xero", XERO_ACME)[0]
    token = bearer("xero", settings.XERO_CLIENT_ID, [tenant_id])
    url = f"{settings.SANDBOX_BASE_URL}/xero/api.xro/2.0/Invoices"
    invalid = requests.put(
        url,
        json={"Invoices": [{"Type": "ACCPAY", "LineItems": []}]},
        headers={**token, "xero-tenant-id": tenant_id},
        timeout=10,
    )
    assert invalid.status_code == 400
    body = invalid.json()
    assert body["Type"] == "ValidationException"
    messages = [e["Message"] for e in body["Elements"][0]["ValidationErrors"]]
    assert "A Contact must be specified for this type of transaction" in messages
    other_org = requests.put(
        url,
        json={"Invoices": [INVOICE]},
        headers={**token, "xero-tenant-id": org_ids("xero", "Demo Company (UK)")[0]},
        timeout=10,
    )
    assert other_org.status_code == 403
    too_many = requests.put(
        url, json={"Invoices": [INVOICE] * 51}, headers={**token, "xero-tenant-id": tenant_id}, timeout=10
    )
    assert too_many.status_code == 400
    assert not SandboxBill.objects.exists()


def test_quickbooks_online_bill_uses_requestid(settings):
    realm = org_ids("qbo", "Sandbox Company US")[0]
    token = bearer("qbo", settings.QBO_CLIENT_ID, [realm])
    url = f"{settings.SANDBOX_BASE_URL}/qbo/v3/company/{realm}/bill?requestid=item-7"
    bill = {
        "VendorRef": {"value": "56"},
        "Line": [{"Amount": 200.0, "DetailType": "AccountBasedExpenseLineDetail"}],
    }
    first = requests.post(url, json=bill, headers=token, timeout=10).json()
    again = requests.post(url, json=bill, headers=token, timeout=10).json()
    assert first["Bill"]["Id"] == again["Bill"]["Id"] and first["Bill"]["TotalAmt"] == 200.0
    fault = requests.post(url.replace("item-7", "item-8"), json={"Line": []}, headers=token, timeout=10)
    assert fault.status_code == 400 and fault.json()["Fault"]["type"] == "ValidationFault"
    assert SandboxBill.objects.filter(provider="qbo").count() == 1


def test_bill_com_bill_through_the_session_client(tenant, connect):
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
    created = services.billcom_call(
        account=tenant.account,
        connection=conn,
        method="POST",
        path="/v3/bills",
        json={"vendorId": "009abc", "billLineItems": [{"amount": 5}]},
    )
    assert created["id"].startswith("00n") and created["approvalStatus"] == "UNASSIGNED"
    assert SandboxBill.objects.get(provider="billcom").org_id == "00801ACMEDEMO01"


def test_approvalmax_bill_goes_for_approval(settings):
    company = org_ids("approvalmax", "Acme Approvals")[0]
    token = bearer("approvalmax", settings.APPROVALMAX_CLIENT_ID, [company])
    url = f"{settings.SANDBOX_BASE_URL}/approvalmax/api/v1/companies/{company}/bills"
    answer = requests.post(
        url,
        json={"supplier": "Acme Supplies", "lineItems": [{"amount": 9}]},
        headers={**token, "Idempotency-Key": "k1"},
        timeout=10,
    )
    assert answer.json()["status"] == "OnApproval"
    refused = requests.post(url, json={"supplier": "Acme Supplies"}, headers=token, timeout=10)
    assert refused.status_code == 422


def test_the_pretend_quickbooks_answers_bill_add():
    answer = webconnector.answer_qbxml(
        '<?xml version="1.0"?><QBXML><QBXMLMsgsRq onError="stopOnError"><BillAddRq requestID="item-9">'
        "<BillAdd><VendorRef><FullName>Acme</FullName></VendorRef></BillAdd></BillAddRq></QBXMLMsgsRq></QBXML>"
    )
    assert '<BillAddRs requestID="item-9" statusCode="0"' in answer and "<TxnID>" in answer


def _nul_bodies(settings) -> list[tuple[str, dict, dict]]:
    """(url, JSON body carrying a NUL, headers) for every sandbox endpoint that reads a JSON body."""
    xero, qbo, am = (
        org_ids("xero", XERO_ACME)[0],
        org_ids("qbo", "Sandbox Company US")[0],
        org_ids("approvalmax", "Acme Approvals")[0],
    )
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
        (
            f"{base}/approvalmax/api/v1/companies/{am}/bills",
            {"supplier": "Acme", "lineItems": [{"amount": 9, "note\x00": "x"}]},
            bearer("approvalmax", settings.APPROVALMAX_CLIENT_ID, [am]),
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

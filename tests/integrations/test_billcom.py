"""Bill.com's sign-in form: v3 login with user name, password, organisation id and our developer key;
every refusal leaves the connections as they were. The session's life and every refusal Bill.com
answers with, against the sandbox: test_billcom_contract.py."""

from __future__ import annotations

import html

import pytest

from integrations.models import Connection, ConnectionStatus
from sandbox.models import BillcomSession, RequestLogEntry
from tests.conftest import client_for
from tests.integrations.sandbox_helpers import (  # noqa: F401
    other_tenant_untouched,
    raw_credentials,
    sandbox,
    snapshot,
    start_url,
)

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_untouched")

ACME = {
    "username": "accounts@acme.test",
    "password": "billcom-demo-2026",
    "organisation_id": "00801ACMEDEMO01",
}


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_bill_com_connects_with_the_right_credentials(tenant, other_tenant, connect):
    connect(tenant.account, "xero")
    client = client_for(tenant.admin)
    page = client.get(start_url(tenant.account, "billcom"))
    for label in ("User name", "Password", "Organisation ID"):
        assert label in text(page)

    response = client.post(start_url(tenant.account, "billcom"), ACME, follow=True)

    assert "Bill.com is connected – Acme Ltd (Bill.com)." in text(response)
    conn = Connection.objects.get(account=tenant.account, provider="billcom")
    assert (conn.status, conn.external_id, conn.connected_by) == (
        ConnectionStatus.ACTIVE,
        "00801ACMEDEMO01",
        tenant.admin,
    )
    creds = conn.credentials
    assert BillcomSession.objects.filter(session_id=creds["session_id"]).exists()
    assert "billcom-demo-2026" not in raw_credentials(conn)  # the password is stored encrypted only
    assert not Connection.objects.filter(account=other_tenant.account).exists()


@pytest.mark.parametrize(
    "field, value",
    [
        ("password", "wrong-password"),
        ("username", "nobody@acme.test"),
        ("organisation_id", "00801GLOBEXDM02"),
    ],
)
def test_wrong_bill_com_credentials_are_refused_and_change_nothing(tenant, connect, field, value):
    connect(tenant.account, "xero")
    before = snapshot(tenant.account)
    response = client_for(tenant.admin).post(start_url(tenant.account, "billcom"), {**ACME, field: value})
    assert response.status_code == 200  # the form again with its message: a form error, no HTTP error
    assert "Bill.com did not accept that user name, password and organisation ID" in text(response)
    assert "Check them in Bill.com and try again." in text(response)
    assert snapshot(tenant.account) == before
    assert RequestLogEntry.objects.filter(provider="billcom", status=400).exists()


def test_bill_com_without_a_main_software_is_refused(tenant):
    client = client_for(tenant.admin)
    page = client.get(start_url(tenant.account, "billcom"))
    assert "Connect your main accounting software" in text(page)
    response = client.post(start_url(tenant.account, "billcom"), ACME, follow=True)
    assert (
        "Connect your main accounting software (Xero, QuickBooks Online or QuickBooks Desktop) first: "
        "Bill.com works alongside it." in text(response)
    )
    assert not Connection.objects.exists()
    assert not RequestLogEntry.objects.filter(provider="billcom").exists()  # never even tried


def test_an_empty_form_says_what_is_missing(tenant, connect):
    connect(tenant.account, "xero")
    before = snapshot(tenant.account)
    response = client_for(tenant.admin).post(start_url(tenant.account, "billcom"), {})
    assert response.status_code == 200 and "This field is required." in text(response)
    assert snapshot(tenant.account) == before


def test_a_standard_user_cannot_connect_bill_com(tenant, connect):
    connect(tenant.account, "xero")
    before = snapshot(tenant.account)
    assert client_for(tenant.staff).post(start_url(tenant.account, "billcom"), ACME).status_code == 403
    assert snapshot(tenant.account) == before

"""The sandbox's attachment endpoints refuse what the providers refuse (sandbox/attachments.py), over
real HTTP: no access, another organisation, too many or too big, a file that is not what it says,
missing parts; a held request stores nothing; /sandbox/ shows a file only to those who see its bill."""

from __future__ import annotations

import pytest
import requests
from django.conf import settings as django_settings

from accounts.errors import DomainError
from integrations.provider_calls import caller_for
from integrations.providers import xero_attach
from integrations.providers.base import ProviderRefused
from sandbox import clock
from sandbox.models import SandboxAttachment
from tests.conftest import client_for
from tests.integrations.attach_helpers import JPEG_1PX, pdf_bytes
from tests.integrations.publish_helpers import answer_lost, billcom_connection, qbo_connection  # noqa: F401
from tests.integrations.sandbox_helpers import other_tenant_untouched, sandbox, xero_connection  # noqa: F401
from tests.integrations.test_attach_contract import a_file, billcom_bill, qbo_bill, xero_bill

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_untouched")


@pytest.fixture
def xero(tenant, connect):
    connection = xero_connection(connect, tenant.account)
    yield connection
    clock.reset()


def put(
    xero,
    invoice: str,
    name: str,
    body: bytes,
    *,
    tenant_id: str | None = None,
    content_type="application/octet-stream",
):
    url = f"{django_settings.SANDBOX_BASE_URL}/xero/api.xro/2.0/Invoices/{invoice}/Attachments/{name}"
    return caller_for(xero).request(
        "PUT",
        url,
        data=body,
        headers={"xero-tenant-id": tenant_id or xero.external_id, "Content-Type": content_type},
    )


def test_xero_refuses_no_token_another_organisation_and_a_mismatched_type(xero):
    invoice = xero_bill(xero)
    url = f"{django_settings.SANDBOX_BASE_URL}/xero/api.xro/2.0/Invoices/{invoice}/Attachments/a.pdf"
    assert (
        requests.put(
            url, data=pdf_bytes(), headers={"xero-tenant-id": xero.external_id}, timeout=10
        ).status_code
        == 401
    )
    with pytest.raises(DomainError) as refused:
        put(xero, invoice, "a.pdf", pdf_bytes(), tenant_id="3f1e8c2a-0000-0000-0000-000000000000")
    assert isinstance(refused.value, ProviderRefused) and refused.value.status == 403
    with pytest.raises(ProviderRefused) as mismatch:
        put(xero, invoice, "a.pdf", pdf_bytes(), content_type="image/png")
    assert "does not match the file name" in str(mismatch.value.answer)
    with pytest.raises(ProviderRefused) as unknown:
        put(xero, invoice, "a.exe", b"MZ\x90\x00")
    assert "cannot be attached" in str(unknown.value.answer)
    assert SandboxAttachment.objects.count() == 0


def test_xero_takes_ten_attachments_a_document_and_no_more_than_10_mb(xero):
    invoice = xero_bill(xero)
    for n in range(10):
        put(xero, invoice, f"page-{n}.jpg", JPEG_1PX)
    with pytest.raises(ProviderRefused) as eleventh:
        put(xero, invoice, "page-10.jpg", JPEG_1PX)
    assert "at most 10 attachments" in str(eleventh.value.answer)
    put(xero, invoice, "page-0.jpg", JPEG_1PX)  # the same name replaces: still ten
    with pytest.raises(ProviderRefused) as big:
        put(xero, invoice, "page-1.pdf", b"%PDF-" + b"0" * 10_000_000)
    assert big.value.status == 413
    assert SandboxAttachment.objects.filter(bill__bill_id=invoice).count() == 10


def test_a_request_held_until_the_client_gave_up_stores_nothing(xero, settings):
    invoice = xero_bill(xero)
    with answer_lost(settings, "xero", "timeout") as fault:
        fault.path = "/Attachments"
        outcome = xero_attach.send(
            caller_for(xero), organisation=xero.external_id, attachment=a_file(invoice)
        )
    assert type(outcome).__name__ == "InDoubt"
    assert SandboxAttachment.objects.count() == 0


def test_qbo_refuses_an_upload_without_its_metadata_part(tenant, connect):
    qbo = qbo_connection(connect, tenant.account)
    qbo_bill(qbo)
    url = f"{django_settings.SANDBOX_BASE_URL}/qbo/v3/company/{qbo.external_id}/upload"
    from urllib3.filepost import encode_multipart_formdata

    body, content_type = encode_multipart_formdata(
        {"file_content_01": ("r.pdf", pdf_bytes(), "application/pdf")}
    )
    with pytest.raises(DomainError, match="Required parameter file_metadata_01 is missing") as refused:
        caller_for(qbo).request("POST", url, data=body, headers={"Content-Type": content_type})
    assert refused.value.code == "2020"
    assert SandboxAttachment.objects.count() == 0


def test_billcom_refuses_without_its_developer_key_and_without_a_name(tenant, connect):
    billcom = billcom_connection(tenant, connect)
    bill = billcom_bill(billcom)
    url = f"{django_settings.SANDBOX_BASE_URL}/billcom/connect/v3/documents/bills/{bill}?name=a.pdf"
    assert requests.post(url, data=pdf_bytes(), timeout=10).json()[0]["code"] == "BDC_1102"
    with pytest.raises(DomainError, match="name"):
        caller_for(billcom).request(
            "POST",
            f"/v3/documents/bills/{bill}",
            data=pdf_bytes(),
            headers={"Content-Type": "application/octet-stream"},
        )
    assert SandboxAttachment.objects.count() == 0


def test_the_sandbox_page_shows_a_file_only_to_those_who_see_its_bill(xero, tenant, other_tenant):
    invoice = xero_bill(xero)
    xero_attach.send(
        caller_for(xero), organisation=xero.external_id, attachment=a_file(invoice, name="secret.pdf")
    )
    [file] = SandboxAttachment.objects.all()
    assert (
        f'data-attachment="{file.attachment_id}"'
        in client_for(tenant.admin).get("/sandbox/").content.decode()
    )
    assert "secret.pdf" not in client_for(other_tenant.admin).get("/sandbox/").content.decode()

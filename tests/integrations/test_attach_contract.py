"""Attaching the document to a published bill through our adapters (integrations/providers/*_attach.py),
against the sandbox over real HTTP: Xero (invoices and credit notes, every request validated against
Xero's OpenAPI document), QuickBooks Online (the multipart upload with its Attachable) and Bill.com
(the bill document upload): attached with the provider's id and listed beside the bill, refusals in the
provider's words, faults with 0 lost and 0 duplicate attachments. The other tenant never changes."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest

from integrations.provider_calls import caller_for
from integrations.providers import (
    billcom_attach,
    billcom_publish,
    qbo_attach,
    qbo_publish,
    xero_attach,
    xero_publish,
)
from integrations.providers.attaching import AttachmentData, file_name_for
from integrations.providers.publishing import (
    CREDIT_NOTE,
    InDoubt,
    NotFound,
    Party,
    Published,
    Rejected,
    RetryAfter,
)
from sandbox import clock, faults
from sandbox.models import SandboxAttachment
from tests.integrations.attach_helpers import JPEG_1PX, pdf_bytes
from tests.integrations.publish_helpers import (  # noqa: F401
    a_bill,
    answer_lost,
    billcom_connection,
    entry,
    qbo_connection,
    received,
)
from tests.integrations.sandbox_helpers import other_tenant_untouched, sandbox, xero_connection  # noqa: F401
from tests.integrations.test_publish_contract_xero import Recording, line

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_untouched")

SPEC = Path(__file__).resolve().parents[1] / "provider_specs" / "xero_accounting.yaml"


@pytest.fixture
def xero(tenant, connect):
    connection = xero_connection(connect, tenant.account)
    yield connection
    clock.reset()


def attached_to(provider: str, org_id: str) -> list[SandboxAttachment]:
    return list(
        SandboxAttachment.objects.filter(bill__provider=provider, bill__org_id=org_id)
        .select_related("bill")
        .order_by("pk")
    )


def a_file(
    bill_id: str,
    *,
    kind: str = "bill",
    content: bytes | None = None,
    name: str = "INV-1.pdf",
    content_type: str = "application/pdf",
    key: str = "attach-1",
) -> AttachmentData:
    return AttachmentData(
        bill_id=bill_id,
        kind=kind,
        file_name=name,
        content_type=content_type,
        content=pdf_bytes() if content is None else content,
        key=key,
    )


# --- Xero -------------------------------------------------------------------------------------------


def xero_bill(xero, key: str = "b1", **fields) -> str:
    supplier = Party(external_id=entry("xero", xero.external_id, "supplier", "Acme Supplies").entry_id)
    [outcome] = xero_publish.send(
        caller_for(xero),
        organisation=xero.external_id,
        bills=[a_bill(key, supplier=supplier, lines=[line()], **fields)],
    ).outcomes
    assert isinstance(outcome, Published)
    return outcome.external_id


def test_xero_attaches_the_file_to_the_invoice_with_its_attachment_id(xero):
    invoice = xero_bill(xero)
    outcome = xero_attach.send(caller_for(xero), organisation=xero.external_id, attachment=a_file(invoice))
    [stored] = attached_to("xero", xero.external_id)
    assert outcome == Published(stored.attachment_id)
    assert (stored.bill.bill_id, stored.file_name, stored.content_type, stored.size) == (
        invoice,
        "INV-1.pdf",
        "application/pdf",
        len(pdf_bytes()),
    )
    assert stored.key == xero_attach.key_of(a_file(invoice))
    assert len(received("xero", xero.external_id)) == 1  # the bill was not sent again


def test_xero_attaches_to_a_credit_note_under_credit_notes(xero):
    note = xero_bill(xero, "cn", kind=CREDIT_NOTE)
    file = a_file(note, kind=CREDIT_NOTE, content=JPEG_1PX, name="CN-1.jpg", content_type="image/jpeg")
    assert "/CreditNotes/" in xero_attach.url_of(file)
    outcome = xero_attach.send(caller_for(xero), organisation=xero.external_id, attachment=file)
    [stored] = attached_to("xero", xero.external_id)
    assert outcome == Published(stored.attachment_id)
    assert (stored.bill.kind, stored.content_type) == ("ACCPAYCREDIT", "image/jpeg")


def test_xero_refuses_a_document_not_in_the_organisation_and_a_file_that_is_not_its_type(xero):
    invoice = xero_bill(xero)
    missing = xero_attach.send(
        caller_for(xero),
        organisation=xero.external_id,
        attachment=a_file("00000000-0000-0000-0000-000000000000"),
    )
    assert isinstance(missing, Rejected) and "(404)" in missing.message
    spoofed = xero_attach.send(
        caller_for(xero),
        organisation=xero.external_id,
        attachment=a_file(invoice, content=JPEG_1PX, key="k2"),
    )
    assert spoofed == Rejected(
        "Xero refused the attachment (400): The file is not a valid application/pdf file.", "provider_refused"
    )
    assert attached_to("xero", xero.external_id) == []


def test_too_big_or_heic_is_refused_before_anything_is_sent(xero):
    invoice = xero_bill(xero)
    caller = Recording(caller_for(xero))
    big = xero_attach.send(
        caller,
        organisation=xero.external_id,
        attachment=a_file(invoice, content=b"%PDF-" + b"0" * 10_000_000),
    )
    heic = xero_attach.send(
        caller, organisation=xero.external_id, attachment=a_file(invoice, content_type="image/heic")
    )
    assert isinstance(big, Rejected) and "up to 10 MB" in big.message
    assert isinstance(heic, Rejected) and "HEIC" in heic.message
    assert caller.sent == [] and attached_to("xero", xero.external_id) == []


def test_xero_the_same_file_sent_again_is_one_attachment(xero):
    invoice = xero_bill(xero)
    first = xero_attach.send(caller_for(xero), organisation=xero.external_id, attachment=a_file(invoice))
    # Within the key's 6 minutes: Xero's answer is replayed.
    again = xero_attach.send(caller_for(xero), organisation=xero.external_id, attachment=a_file(invoice))
    # Under a new key (after the 6 minutes): the file of that name is replaced, not added.
    later = xero_attach.send(
        caller_for(xero), organisation=xero.external_id, attachment=a_file(invoice, key="new")
    )
    assert first == again and isinstance(later, Published)
    assert [a.file_name for a in attached_to("xero", xero.external_id)] == ["INV-1.pdf"]


@pytest.mark.parametrize("kind", ["500", "429"])
def test_xero_server_error_is_in_doubt_and_a_rate_limit_waits(xero, kind):
    invoice = xero_bill(xero)
    with faults.injected("xero", kind, path="/Attachments"):
        outcome = xero_attach.send(
            caller_for(xero), organisation=xero.external_id, attachment=a_file(invoice)
        )
    assert isinstance(outcome, InDoubt if kind == "500" else RetryAfter)
    assert attached_to("xero", xero.external_id) == []


def test_xero_an_answer_lost_after_the_write_is_resent_under_its_key_once(xero, settings):
    invoice = xero_bill(xero)
    with answer_lost(settings, "xero", "dropped") as fault:
        fault.path = "/Attachments"
        lost = xero_attach.send(caller_for(xero), organisation=xero.external_id, attachment=a_file(invoice))
    assert isinstance(lost, InDoubt)
    again = xero_attach.send(caller_for(xero), organisation=xero.external_id, attachment=a_file(invoice))
    [stored] = attached_to("xero", xero.external_id)
    assert again == Published(stored.attachment_id)


@pytest.mark.filterwarnings("ignore:Unsupported scheme type")
def test_every_attachment_request_validates_against_xeros_openapi_document(xero):
    # Xero's document types these bodies `type: string, format: byte` under application/octet-stream:
    # OpenAPI 3.0's "byte" is base64 text, while the body is the raw file (as Xero's SDKs send it). The
    # raw bytes are shown to the schema as their base64 text, so the format check still applies.
    api = OpenAPI.from_file_path(
        str(SPEC),
        config=Config(
            spec_validator_cls=None,
            extra_media_type_deserializers={
                "application/octet-stream": lambda value, **_: base64.b64encode(value).decode()
            },
        ),
    )
    caller = Recording(caller_for(xero))
    invoice, note = xero_bill(xero), xero_bill(xero, "cn", kind=CREDIT_NOTE)
    xero_attach.send(caller, organisation=xero.external_id, attachment=a_file(invoice, name="My receipt.pdf"))
    xero_attach.send(
        caller,
        organisation=xero.external_id,
        attachment=a_file(
            note, kind=CREDIT_NOTE, content=JPEG_1PX, name="cn.jpg", content_type="image/jpeg", key="k-cn"
        ),
    )
    assert len(caller.sent) == 2 and len(attached_to("xero", xero.external_id)) == 2

    def check(method, url, kwargs):
        path = "/api.xro/2.0/" + url.split("/api.xro/2.0/", 1)[1]
        headers = kwargs.get("headers") or {}
        result = api.unmarshal_request(
            MockRequest(
                "https://api.xero.com",
                method.lower(),
                path,
                headers=headers,
                data=kwargs["data"],
                content_type=headers.get("Content-Type", ""),
            )
        )
        if result.errors:
            raise result.errors[0]
        return result

    operations = []
    for method, url, kwargs in caller.sent:
        result = check(method, url, kwargs)
        operations.append(result.parameters.path)
        assert kwargs["data"][:4] in (b"%PDF", b"\xff\xd8\xff\xe0")  # the raw file, not JSON
    assert (
        str(operations[0]["InvoiceID"]) == invoice and operations[0]["FileName"] == "My%20receipt.pdf"
    )  # percent-encoded in the path
    assert str(operations[1]["CreditNoteID"]) == note
    # The validator does refuse what Xero's document forbids: no tenant header, a JSON body.
    method, url, kwargs = caller.sent[0]
    with pytest.raises(Exception, match="xero-tenant-id"):
        check(method, url, {**kwargs, "headers": {"Content-Type": "application/octet-stream"}})
    with pytest.raises(Exception, match="application/json"):
        check(method, url, {**kwargs, "headers": {**kwargs["headers"], "Content-Type": "application/json"}})


# --- QuickBooks Online ------------------------------------------------------------------------------


@pytest.fixture
def qbo(tenant, connect):
    return qbo_connection(connect, tenant.account)


def qbo_bill(qbo, key: str = "q1", **fields) -> str:
    from tests.integrations.test_publish_contract_qbo import line as qbo_line
    from tests.integrations.test_publish_contract_qbo import vendor

    [outcome] = qbo_publish.send(
        caller_for(qbo),
        organisation=qbo.external_id,
        bills=[a_bill(key, supplier=vendor(), lines=[qbo_line()], **fields)],
    )
    assert isinstance(outcome, Published), outcome
    return outcome.external_id


def test_qbo_uploads_with_an_attachable_that_references_the_bill(qbo):
    bill = qbo_bill(qbo)
    file = a_file(bill, content=JPEG_1PX, name="receipt.jpg", content_type="image/jpeg")
    body, content_type = qbo_attach.multipart(file)
    assert content_type.startswith("multipart/form-data; boundary=")
    assert b'name="file_metadata_01"' in body and b'name="file_content_01"; filename="receipt.jpg"' in body
    assert qbo_attach.metadata(file)["AttachableRef"] == [{"EntityRef": {"type": "Bill", "value": bill}}]
    outcome = qbo_attach.send(caller_for(qbo), organisation=qbo.external_id, attachment=file)
    [stored] = attached_to("qbo", qbo.external_id)
    assert outcome == Published(stored.attachment_id)
    assert (stored.bill.bill_id, stored.bill.kind, stored.file_name, stored.content_type, stored.size) == (
        bill,
        "Bill",
        "receipt.jpg",
        "image/jpeg",
        len(JPEG_1PX),
    )


def test_qbo_refuses_a_reference_to_a_document_the_company_does_not_have(qbo):
    outcome = qbo_attach.send(caller_for(qbo), organisation=qbo.external_id, attachment=a_file("999999"))
    assert isinstance(outcome, Rejected) and "Invalid Reference Id" in outcome.message
    assert attached_to("qbo", qbo.external_id) == []


def test_qbo_a_lost_answer_resent_with_the_same_requestid_is_one_attachment(qbo, settings):
    bill = qbo_bill(qbo)
    with answer_lost(settings, "qbo", "dropped") as fault:
        fault.path = "/upload"
        lost = qbo_attach.send(caller_for(qbo), organisation=qbo.external_id, attachment=a_file(bill))
    assert isinstance(lost, InDoubt)
    again = qbo_attach.send(caller_for(qbo), organisation=qbo.external_id, attachment=a_file(bill))
    [stored] = attached_to("qbo", qbo.external_id)
    assert again == Published(stored.attachment_id)


# --- Bill.com ---------------------------------------------------------------------------------------


@pytest.fixture
def billcom(tenant, connect):
    return billcom_connection(tenant, connect)


def billcom_bill(billcom, key: str = "bc1") -> str:
    vendor = entry("billcom", billcom.external_id, "supplier", "Acme Supplies")
    from integrations.providers.publishing import BillLine

    [outcome] = billcom_publish.send(
        caller_for(billcom),
        organisation=billcom.external_id,
        bills=[
            a_bill(key, supplier=Party(external_id=vendor.entry_id), lines=[BillLine("Paper", amount=100)])
        ],
    )
    assert isinstance(outcome, Published), outcome
    return outcome.external_id


def test_billcom_uploads_the_bill_document_and_finds_it_by_name(billcom):
    bill = billcom_bill(billcom)
    file = a_file(bill)
    assert isinstance(billcom_attach.find(caller_for(billcom), organisation="", attachment=file), NotFound)
    outcome = billcom_attach.send(caller_for(billcom), organisation=billcom.external_id, attachment=file)
    [stored] = attached_to("billcom", billcom.external_id)
    assert outcome == Published(stored.attachment_id) and stored.attachment_id.startswith("00h")
    assert (stored.file_name, stored.content_type, stored.key) == ("INV-1.pdf", "application/pdf", "")
    assert billcom_attach.find(caller_for(billcom), organisation="", attachment=file) == outcome


def test_billcom_refuses_a_bill_of_another_organisation_and_a_file_over_6_mb(billcom):
    bill = billcom_bill(billcom)
    other = billcom_attach.send(
        caller_for(billcom), organisation="", attachment=a_file("00nNOTOURS0000000001")
    )
    assert isinstance(other, Rejected) and "billId" in other.message
    big = billcom_attach.send(
        caller_for(billcom), organisation="", attachment=a_file(bill, content=b"%PDF-" + b"0" * 6_000_000)
    )
    assert isinstance(big, Rejected) and "up to 6 MB" in big.message
    assert attached_to("billcom", billcom.external_id) == []


def test_billcom_a_lost_upload_is_found_by_the_lookup_not_sent_twice(billcom, settings):
    bill = billcom_bill(billcom)
    with answer_lost(settings, "billcom", "dropped") as fault:
        fault.path = "/documents"
        lost = billcom_attach.send(caller_for(billcom), organisation="", attachment=a_file(bill))
    assert isinstance(lost, InDoubt)
    [stored] = attached_to("billcom", billcom.external_id)
    assert billcom_attach.find(caller_for(billcom), organisation="", attachment=a_file(bill)) == Published(
        stored.attachment_id
    )


def test_file_names_are_the_last_part_of_the_upload_with_the_types_extension():
    assert file_name_for("../../etc/passwd", "application/pdf") == "passwd.pdf"
    assert file_name_for("C:\\Users\\me\\Scan <1>.PNG", "image/png") == "Scan _1.png"
    assert file_name_for("", "image/jpeg", fallback="INV-7") == "INV-7.jpg"
    assert json.dumps(file_name_for("reçu été.pdf", "application/pdf")) == '"re_u _t.pdf"'

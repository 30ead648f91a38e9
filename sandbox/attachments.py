"""The providers' attachment endpoints, played over HTTP with their own validation (docs/providers.md,
"Attachments"): every file is stored as a SandboxAttachment of the bill it was sent for, listed on
/sandbox/ beside that bill (name, size, type). Fault injection as for the bills (sandbox/faults.py:
429, 500, timeout, dropped after the write), with `path` "/Attachments", "/upload" or "/documents".

- Xero: `PUT|POST /Invoices/{InvoiceID}/Attachments/{FileName}` and the same under CreditNotes
  (createInvoiceAttachmentByFileName & co.): bearer token with `accounting.attachments`, the
  `xero-tenant-id` connected; the document must be that organisation's (404 otherwise); the raw body
  (`application/octet-stream`, as Xero's OpenAPI document says, or the file's own type); the type is
  the FileName's extension, as Xero reads it, one Xero takes, and the bytes must be what it says;
  not empty; at most 10 MB (413); at most 10 attachments a document; the same FileName replaces the
  earlier file (no second attachment);
  `Idempotency-Key` as for the creates (the same key with the same request within 6 minutes gets the
  first answer; with another request 400); the organisation's rate limits (sandbox/bills.xero_call).
- QuickBooks Online: `POST /v3/company/{realmId}/upload`, multipart/form-data with `file_metadata_01`
  (an Attachable: `AttachableRef[{EntityRef{type, value}}]`, `FileName`, `ContentType`) and
  `file_content_01`; the referenced Bill/VendorCredit/Purchase/Invoice must be the company's (2500
  Invalid Reference Id), FileName required (2020), the type one Intuit takes and matching the bytes,
  at most 100 MB; `requestid` replays the first answer.
- Bill.com: `POST /v3/documents/bills/{billId}?name=…` (the file as the body; `devKey`, `sessionId`):
  the bill must be the session's organisation's, `name` required with an extension BILL takes, the
  bytes that extension says, not empty, at most 6 MB. BILL takes no idempotency key: a resend stores a
  second document (the adapter looks up first). `GET /v3/documents/bills/{billId}` lists them.
"""

from __future__ import annotations

import hashlib
import json
import uuid

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from . import clock, faults, listdata
from .bills import (
    IDEMPOTENCY_WINDOW,
    _limits_headers,
    _xero_access,
    _xero_rate_limited,
    remembered,
    replay,
    with_faults,
    xero_call,
)
from .bills_billcom import _refuse as billcom_refuse
from .bills_qbo import _throttled as qbo_refuse
from .lists_qbo import _company, _now, fault
from .models import (
    BillcomSession,
    SandboxAttachment,
    SandboxBill,
    SandboxIdempotentAnswer,
    SandboxOrganisation,
)
from .views import _billcom_error, billcom_api, logged
from .xero_shapes import envelope, validation_exception

# What each provider takes: the type and the bytes it starts with.
MAGIC = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}
XERO_EXTENSIONS = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
}
XERO_MAX = 10_000_000
XERO_MAX_PER_DOCUMENT = 10
QBO_TYPES = {"application/pdf", "image/jpeg", "image/png", "image/gif"}
QBO_MAX = 100_000_000
QBO_ENTITIES = {"Bill", "VendorCredit", "Purchase", "Invoice"}
BILLCOM_EXTENSIONS = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
}
BILLCOM_MAX = 6_000_000


def _is(content: bytes, content_type: str) -> bool:
    return any(content.startswith(m) for m in MAGIC.get(content_type, ()))


def _raw(request: HttpRequest, limit: int) -> bytes:
    """The raw body, read once, at most `limit` + 1 bytes (one more tells it is over the limit)."""
    if not hasattr(request, "_sandbox_raw"):
        request._sandbox_raw = request.read(limit + 1)
    return request._sandbox_raw


def _fingerprint(request: HttpRequest, content: bytes) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.path, request.META.get("QUERY_STRING", "")):
        digest.update(part.encode() + b"\n")
    digest.update(request.headers.get("Content-Type", "").encode() + b"\n")
    digest.update(content)
    return digest.hexdigest()


def _remember(provider: str, scope: str, key: str, fingerprint: str, response: HttpResponse) -> None:
    SandboxIdempotentAnswer.objects.create(
        provider=provider,
        scope=scope,
        key=key,
        fingerprint=fingerprint,
        status=response.status_code,
        body=response.content.decode(),
        created_at=clock.now(),
    )


def _store(bill: SandboxBill, *, attachment_id: str, name: str, content_type: str, content: bytes, key: str):
    return SandboxAttachment.objects.create(
        bill=bill,
        attachment_id=attachment_id,
        file_name=name[:255],
        content_type=content_type[:100],
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        key=key[:200],
    )


# --- Xero -------------------------------------------------------------------------------------------

_XERO_RESOURCES = {"Invoices": {"ACCPAY", "ACCREC"}, "CreditNotes": {"ACCPAYCREDIT", "ACCRECCREDIT"}}


def _xero_not_found() -> JsonResponse:
    return JsonResponse(
        {"Title": "Not Found", "Status": 404, "Detail": "The resource you're looking for cannot be found"},
        status=404,
    )


def _xero_attach(
    request: HttpRequest, resource: str, document_id: str, file_name: str, client_id: str, tenant: str
):
    key = request.headers.get("Idempotency-Key", "")
    content = _raw(request, XERO_MAX)
    sent_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    # Xero reads the type from the FileName's extension; a Content-Type other than octet-stream must
    # agree with it.
    extension = "." + file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    content_type = XERO_EXTENSIONS.get(extension, "")
    print_ = _fingerprint(request, content)
    if key:
        earlier = remembered("xero", client_id, key, clock.now() - IDEMPOTENCY_WINDOW)
        if earlier is not None:
            if earlier.fingerprint != print_:
                request.sandbox_note = (
                    f"attachment refused: Idempotency-Key {key} used with a different request"
                )
                return JsonResponse(
                    {
                        "Title": "Bad Request",
                        "Status": 400,
                        "Detail": f"Idempotency Key: {key} is used with a different request.",
                    },
                    status=400,
                )
            request.sandbox_note = f"attachment answer replayed for Idempotency-Key {key}"
            return replay(earlier)
    bill = SandboxBill.objects.filter(
        provider="xero", org_id=tenant, bill_id=document_id, kind__in=_XERO_RESOURCES[resource]
    ).first()
    problem = ""
    if bill is None:
        request.sandbox_note = f"attachment refused: no {resource[:-1]} {document_id} in this organisation"
        return _xero_not_found()
    if len(content) > XERO_MAX:
        request.sandbox_note = "attachment refused: over 10 MB"
        return JsonResponse({"Title": "Request Entity Too Large", "Status": 413}, status=413)
    if not content:
        problem = "The file is empty."
    elif "." not in file_name.strip(".") or len(file_name) > 255:
        problem = "The file name must have an extension."
    elif not content_type:
        problem = f"Files of type {extension or '(none)'} cannot be attached."
    elif sent_type not in ("application/octet-stream", content_type):
        problem = f"The Content-Type {sent_type or '(none)'} does not match the file name {file_name}."
    elif not _is(content, content_type):
        problem = f"The file is not a valid {content_type} file."
    existing = bill.attachments.filter(file_name=file_name)
    if not problem and not existing.exists() and bill.attachments.count() >= XERO_MAX_PER_DOCUMENT:
        problem = f"A document can have at most {XERO_MAX_PER_DOCUMENT} attachments."
    if problem:
        request.sandbox_note = f"attachment refused: {problem}"
        response = validation_exception([{"ValidationErrors": [{"Message": problem}]}])
    else:
        with transaction.atomic():
            replaced = existing.delete()[0]
            stored = _store(
                bill,
                attachment_id=str(uuid.uuid4()),
                name=file_name,
                content_type=content_type,
                content=content,
                key=key,
            )
        request.sandbox_note = (
            f"{file_name} ({len(content)} bytes, {content_type}) attached to "
            f"{resource[:-1]} {bill.number or bill.bill_id}"
            + (" (replacing the file of that name)" if replaced else "")
            + (f" [Idempotency-Key {key}]" if key else "")
        )
        response = JsonResponse(
            envelope(
                "Attachments",
                [
                    {
                        "AttachmentID": stored.attachment_id,
                        "FileName": stored.file_name,
                        "Url": request.build_absolute_uri(request.path),
                        "MimeType": stored.content_type,
                        "ContentLength": stored.size,
                    }
                ],
            )
        )
    if key:
        _remember("xero", client_id, key, print_, response)
    return response


def _xero_view(request: HttpRequest, resource: str, document_id: str, file_name: str) -> HttpResponse:
    access, tenant, refusal = _xero_access(request, ("accounting.attachments",))
    if refusal is not None:
        return refusal
    with xero_call(tenant) as limited:
        if limited is not None:
            request.sandbox_note = f"refused: {limited['X-Rate-Limit-Problem']} limit reached (429)"
            return limited

        def refuse(fault_: faults.Fault) -> HttpResponse:
            if fault_.kind == "429":
                return _xero_rate_limited("Minute", fault_.retry_after * clock.speed())
            return JsonResponse(
                {"Title": "An error occurred", "Status": 500, "Detail": "Internal Server Error"}, status=500
            )

        response = with_faults("xero", request, refuse)(
            lambda: _xero_attach(request, resource, document_id, file_name, access.client_id, tenant)
        )
    return _limits_headers(response, tenant)


@csrf_exempt
@require_http_methods(["PUT", "POST"])
@logged("xero")
def xero_invoice_attachment(request: HttpRequest, document_id: str, file_name: str) -> HttpResponse:
    return _xero_view(request, "Invoices", document_id, file_name)


@csrf_exempt
@require_http_methods(["PUT", "POST"])
@logged("xero")
def xero_credit_note_attachment(request: HttpRequest, document_id: str, file_name: str) -> HttpResponse:
    return _xero_view(request, "CreditNotes", document_id, file_name)


# --- QuickBooks Online ----------------------------------------------------------------------------


class _Refusal(Exception):
    def __init__(self, code: str, message: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.message, self.detail = code, message, detail


def _part(request: HttpRequest, name: str) -> tuple[bytes, str, str] | None:
    """A multipart part: (bytes, content type, file name); None when absent."""
    upload = request.FILES.get(name)
    if upload is not None:
        return upload.read(), (upload.content_type or "").lower(), upload.name or ""
    if name in request.POST:
        return request.POST[name].encode(), "", ""
    return None


def _qbo_upload(request: HttpRequest, realm_id: str) -> HttpResponse:
    key = request.GET.get("requestid", "")
    with transaction.atomic():
        list(SandboxOrganisation.objects.select_for_update().filter(provider="qbo", org_id=realm_id))
        if key:
            earlier = remembered("qbo", realm_id, f"upload:{key}", None)
            if earlier is not None:
                request.sandbox_note = f"upload replayed for requestid {key}"
                return replay(earlier)
        try:
            response = _qbo_store(request, realm_id, key)
        except _Refusal as refusal:
            request.sandbox_note = f"upload refused ({refusal.code}): {refusal.detail}"
            response = fault(400, "ValidationFault", refusal.message, refusal.detail, refusal.code)
        if key:
            _remember("qbo", realm_id, f"upload:{key}", "", response)
    return response


def _qbo_store(request: HttpRequest, realm_id: str, key: str) -> HttpResponse:
    if not request.content_type.startswith("multipart/form-data"):
        raise _Refusal(
            "2010", "Request has invalid or unsupported property", "Content-Type must be multipart/form-data"
        )
    meta_part, file_part = _part(request, "file_metadata_01"), _part(request, "file_content_01")
    if meta_part is None:
        raise _Refusal(
            "2020",
            "Required param missing, need to supply the required value for the API",
            "Required parameter file_metadata_01 is missing in the request",
        )
    if file_part is None:
        raise _Refusal(
            "2020",
            "Required param missing, need to supply the required value for the API",
            "Required parameter file_content_01 is missing in the request",
        )
    try:
        meta = json.loads(meta_part[0] or b"{}")
    except ValueError:
        raise _Refusal(
            "2010", "Request has invalid or unsupported property", "file_metadata_01 is not JSON"
        ) from None
    meta = meta if isinstance(meta, dict) else {}
    name = str(meta.get("FileName") or "")
    if not name:
        raise _Refusal(
            "2020",
            "Required param missing, need to supply the required value for the API",
            "Required parameter FileName is missing in the request",
        )
    refs = meta.get("AttachableRef") if isinstance(meta.get("AttachableRef"), list) else []
    entity = (refs[0] or {}).get("EntityRef") if refs and isinstance(refs[0], dict) else None
    if not isinstance(entity, dict) or not entity.get("value"):
        raise _Refusal(
            "2020",
            "Required param missing, need to supply the required value for the API",
            "Required parameter AttachableRef.EntityRef is missing in the request",
        )
    bill = SandboxBill.objects.filter(
        provider="qbo", org_id=realm_id, kind=str(entity.get("type") or ""), bill_id=str(entity.get("value"))
    ).first()
    if str(entity.get("type") or "") not in QBO_ENTITIES or bill is None:
        raise _Refusal(
            "2500",
            "Invalid Reference Id",
            f"Invalid Reference Id : {entity.get('type')} {entity.get('value')} does not exist",
        )
    content, part_type, _ = file_part
    content_type = str(meta.get("ContentType") or part_type).lower()
    if not content:
        raise _Refusal("2010", "Request has invalid or unsupported property", "The file is empty")
    if len(content) > QBO_MAX:
        raise _Refusal("2010", "Request has invalid or unsupported property", "The file is over 100 MB")
    if content_type not in QBO_TYPES or not _is(content, content_type):
        raise _Refusal(
            "2010",
            "Request has invalid or unsupported property",
            f"Unsupported file type or content: {content_type}",
        )
    stored = _store(
        bill,
        attachment_id="pending-" + uuid.uuid4().hex,
        name=name,
        content_type=content_type,
        content=content,
        key=key,
    )
    stored.attachment_id = str(5000000 + stored.pk)
    stored.save(update_fields=["attachment_id"])
    request.sandbox_note = (
        f"{name} ({len(content)} bytes, {content_type}) attached to {bill.kind} {bill.bill_id} "
        f"[requestid {key or 'none'}]"
    )
    return JsonResponse(
        {
            "AttachableResponse": [
                {
                    "Attachable": {
                        "Id": stored.attachment_id,
                        "SyncToken": "0",
                        "domain": "QBO",
                        "FileName": name,
                        "ContentType": content_type,
                        "Size": len(content),
                        "AttachableRef": [
                            {"EntityRef": {"type": bill.kind, "value": bill.bill_id}, "IncludeOnSend": False}
                        ],
                        "MetaData": {"CreateTime": _now(), "LastUpdatedTime": _now()},
                    }
                }
            ],
            "time": _now(),
        }
    )


@csrf_exempt
@require_POST
@logged("qbo")
def qbo_upload(request: HttpRequest, realm_id: str) -> HttpResponse:
    refused = _company(request, realm_id)
    if refused is not None:
        return refused
    return with_faults("qbo", request, qbo_refuse)(lambda: _qbo_upload(request, realm_id))


# --- Bill.com ---------------------------------------------------------------------------------------


def _billcom_row(attachment: SandboxAttachment) -> dict:
    return {
        "id": attachment.attachment_id,
        "billId": attachment.bill.bill_id,
        "name": attachment.file_name,
        "createdTime": attachment.created_at.isoformat(),
        "downloadLink": f"/sandbox/billcom/documents/{attachment.attachment_id}",
    }


def _billcom_upload(request: HttpRequest, bill: SandboxBill) -> HttpResponse:
    name = request.GET.get("name", "")
    if not name:
        request.sandbox_note = "document refused: BDC_1117 name missing"
        return _billcom_error("BDC_1117", "Missing required data for: name", 400)
    extension = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    content_type = BILLCOM_EXTENSIONS.get(extension)
    if content_type is None:
        request.sandbox_note = f"document refused: file type of {name!r} not supported"
        return _billcom_error("BDC_1119", f"Invalid field,value: name, {name}", 400)
    content = _raw(request, BILLCOM_MAX)
    if not content or len(content) > BILLCOM_MAX or not _is(content, content_type):
        why = (
            "empty"
            if not content
            else "over 6 MB"
            if len(content) > BILLCOM_MAX
            else f"not a {extension} file"
        )
        request.sandbox_note = f"document refused: the file is {why}"
        return _billcom_error("BDC_1119", f"Invalid field,value: file, the file is {why}", 400)
    stored = _store(
        bill,
        attachment_id=f"00h{uuid.uuid4().hex[:17].upper()}",
        name=name,
        content_type=content_type,
        content=content,
        key="",
    )
    ignored = (
        " (its Idempotency-Key header ignored: BILL has none)" if "Idempotency-Key" in request.headers else ""
    )
    request.sandbox_note = f"document {name} ({len(content)} bytes) uploaded for bill {bill.bill_id}{ignored}"
    return JsonResponse(_billcom_row(stored))


@csrf_exempt
@require_http_methods(["GET", "POST"])
@logged("billcom")
@billcom_api
def billcom_bill_documents(request: HttpRequest, session: BillcomSession, bill_id: str) -> HttpResponse:
    org_id = session.user.organisation_id
    listdata.ensure_lists("billcom", org_id)
    bill = SandboxBill.objects.filter(provider="billcom", org_id=org_id, bill_id=bill_id).first()
    if bill is None:
        request.sandbox_note = f"refused: no bill {bill_id} in this organisation"
        return _billcom_error("BDC_1119", f"Invalid field,value: billId, {bill_id}", 400)
    if request.method == "GET":
        rows = [_billcom_row(a) for a in bill.attachments.all()]
        request.sandbox_note = f"{len(rows)} document(s) of bill {bill_id}"
        return JsonResponse({"results": rows, "nextPage": None, "prevPage": None})
    return with_faults("billcom", request, billcom_refuse)(lambda: _billcom_upload(request, bill))

"""QuickBooks Online: the item's document attached to the published Bill, VendorCredit, Purchase or
Invoice (I/O only; the contract is in integrations/providers/attaching.py). Sources: docs/providers.md,
"Attachments" (Intuit's "Attach images and notes" and the Attachable entity).

- `POST /v3/company/{realmId}/upload?minorversion=75&requestid=<key>`, `multipart/form-data` with two
  parts, as Intuit documents them: `file_metadata_01` (application/json: an Attachable with
  `AttachableRef[{EntityRef{type, value}}]` naming the document, `FileName`, `ContentType`) and
  `file_content_01` (the file, with its file name and Content-Type). Without the AttachableRef the
  upload succeeds and the file lands attached to nothing, so it is always sent.
- `requestid` (the attach step's key): Intuit answers a repeated requestid with the first answer, so
  the resend of an upload whose answer was lost IS the lookup.
- Answer: `AttachableResponse[0].Attachable.Id`; an element carrying a `Fault` (or a 400 with one) is
  Rejected with Intuit's words; 429 RetryAfter; 5xx and timeouts InDoubt; 401 after the caller's one
  refresh AuthExpired.
- Checked before sending: Intuit's limit (100 MB) and the types it takes (PDF, JPEG, PNG; not HEIC).
"""

from __future__ import annotations

import json
from typing import Any

from urllib3.fields import RequestField
from urllib3.filepost import encode_multipart_formdata

from . import attaching
from .attaching import AttachmentData
from .base import ProviderError, ProviderRefused, setting
from .lists import Caller
from .publishing import (
    CREDIT_NOTE,
    PAID_RECEIPT,
    SALES_INVOICE,
    InDoubt,
    Outcome,
    Published,
    Rejected,
    outcome_of,
)
from .qbo import request_id

LABEL = "QuickBooks Online"
MAX_SIZE = 100_000_000
TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})
ENTITIES = {CREDIT_NOTE: "VendorCredit", PAID_RECEIPT: "Purchase", SALES_INVOICE: "Invoice"}  # else Bill


def entity_of(kind: str) -> str:
    return ENTITIES.get(kind, "Bill")


def metadata(attachment: AttachmentData) -> dict[str, Any]:
    return {
        "AttachableRef": [{"EntityRef": {"type": entity_of(attachment.kind), "value": attachment.bill_id}}],
        "FileName": attachment.file_name,
        "ContentType": attachment.content_type,
    }


def multipart(attachment: AttachmentData) -> tuple[bytes, str]:
    """The body and its Content-Type (with the boundary)."""
    meta = RequestField(
        name="file_metadata_01", data=json.dumps(metadata(attachment)), filename="attachment.json"
    )
    meta.make_multipart(content_type="application/json")
    content = RequestField(name="file_content_01", data=attachment.content, filename=attachment.file_name)
    content.make_multipart(content_type=attachment.content_type)
    return encode_multipart_formdata([meta, content])


def refusal(attachment: AttachmentData) -> Rejected | None:
    return attaching.refusal(attachment, label=LABEL, types=TYPES, max_size=MAX_SIZE)


def send(caller: Caller, *, organisation: str, attachment: AttachmentData) -> Outcome:
    refused = refusal(attachment)
    if refused is not None:
        return refused
    body, content_type = multipart(attachment)
    url = f"{setting('QBO_API_URL').rstrip('/')}/company/{organisation}/upload"
    try:
        answer = caller.request(
            "POST",
            url,
            params={"requestid": request_id(attachment.key)},
            data=body,
            headers={"Content-Type": content_type},
        )
    except ProviderRefused as exc:
        return Rejected(f"{LABEL} refused the attachment: {_fault_words(exc.answer) or exc.message}", "fault")
    except ProviderError as exc:
        outcome = outcome_of(exc)
        if isinstance(outcome, Rejected) and exc.code.isdigit():
            return Rejected(exc.message, exc.code)
        return outcome
    return _read(answer)


def _fault_words(answer: Any) -> str:
    fault = answer.get("Fault") if isinstance(answer, dict) else None
    errors = fault.get("Error") if isinstance(fault, dict) else None
    if not isinstance(errors, list):
        return ""
    return "; ".join(
        str(e.get("Detail") or e.get("Message") or "") for e in errors if isinstance(e, dict)
    ).strip("; ")


def _read(answer: Any) -> Outcome:
    rows = answer.get("AttachableResponse") if isinstance(answer, dict) else None
    first = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else {}
    if first.get("Fault"):
        return Rejected(f"{LABEL} refused the attachment: {_fault_words(first)}", "fault")
    attachable = first.get("Attachable") if isinstance(first.get("Attachable"), dict) else {}
    attachment_id = str(attachable.get("Id") or "")
    if not attachment_id:
        return InDoubt(f"{LABEL} sent an answer we could not read: the file may be attached.")
    return Published(attachment_id)

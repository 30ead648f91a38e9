"""Xero: the item's document attached to the published invoice or credit note (I/O only; the contract
is in integrations/providers/attaching.py). Sources: docs/providers.md, "Attachments".

- `PUT /api.xro/2.0/Invoices/{InvoiceID}/Attachments/{FileName}` (createInvoiceAttachmentByFileName),
  `PUT /api.xro/2.0/CreditNotes/{CreditNoteID}/Attachments/{FileName}`
  (createCreditNoteAttachmentByFileName): the file's bytes as the raw body, `xero-tenant-id`,
  `Idempotency-Key` (the attach step's key, so a resend within Xero's 6 minutes gets the first answer
  back). Scope `accounting.attachments`.
- DECISION, Content-Type: Xero's OpenAPI document gives these operations one request media type,
  `application/octet-stream` (xero_accounting.yaml; XeroAPI/xero-python sends exactly that), and Xero
  takes the file's type from the FileName's extension (pyxero#321: Xero ignores the Content-Type and
  guesses from the name). So the body goes as `application/octet-stream` and the FileName always
  carries the extension of the type read from the content (attaching.file_name_for); a test validates
  every request against the OpenAPI document.
- Answer: `Attachments[0].AttachmentID`. A 4xx is Rejected with Xero's words (404: the document is
  not in the organisation; 413: too large), 403 AuthExpired, 429 RetryAfter (Retry-After), 5xx and
  timeouts InDoubt. Xero replaces an attachment of the same file name on the same document, so a
  resend after the key's 6 minutes never makes a second one.
- Checked before sending: Xero's size limit (10 MB) and the types it takes (PDF, JPEG, PNG; not HEIC).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from . import attaching
from .attaching import AttachmentData
from .base import ProviderError, ProviderRefused, setting
from .lists import Caller
from .publishing import CREDIT_NOTE, AuthExpired, InDoubt, Outcome, Published, Rejected, outcome_of

LABEL = "Xero"
MAX_SIZE = 10_000_000
TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})
MAX_KEY = 128
OCTET_STREAM = "application/octet-stream"


def resource_of(kind: str) -> str:
    return "CreditNotes" if kind == CREDIT_NOTE else "Invoices"


def url_of(attachment: AttachmentData) -> str:
    return (
        f"{setting('XERO_API_URL').rstrip('/')}/{resource_of(attachment.kind)}/"
        f"{quote(attachment.bill_id, safe='')}/Attachments/{quote(attachment.file_name, safe='')}"
    )


def key_of(attachment: AttachmentData) -> str:
    return f"dext-attach-{attachment.key}"[:MAX_KEY]


def refusal(attachment: AttachmentData) -> Rejected | None:
    return attaching.refusal(attachment, label=LABEL, types=TYPES, max_size=MAX_SIZE)


def send(caller: Caller, *, organisation: str, attachment: AttachmentData) -> Outcome:
    refused = refusal(attachment)
    if refused is not None:
        return refused
    try:
        answer = caller.request(
            "PUT",
            url_of(attachment),
            data=attachment.content,
            headers={
                "xero-tenant-id": organisation,
                "Content-Type": OCTET_STREAM,
                "Idempotency-Key": key_of(attachment),
            },
        )
    except ProviderRefused as exc:
        return _refused(exc)
    except ProviderError as exc:
        return outcome_of(exc)
    return _read(answer)


def _read(answer: Any) -> Outcome:
    rows = answer.get("Attachments") if isinstance(answer, dict) else None
    first = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else {}
    attachment_id = str(first.get("AttachmentID") or "")
    if not attachment_id:
        return InDoubt(f"{LABEL} sent an answer we could not read: the file may be attached.")
    return Published(attachment_id)


def _refused(exc: ProviderRefused) -> Outcome:
    answer: dict = exc.answer if isinstance(exc.answer, dict) else {}
    detail = str(answer.get("Detail") or answer.get("Message") or "")
    errors = [
        str(e.get("Message"))
        for element in answer.get("Elements") or []
        if isinstance(element, dict)
        for e in element.get("ValidationErrors") or []
        if isinstance(e, dict) and e.get("Message")
    ]
    if exc.status == 403:
        return AuthExpired(f"{LABEL} no longer lets us into this organisation. Reconnect {LABEL}.")
    if exc.status == 400 and "is used with a different request" in detail:
        return InDoubt(f"{LABEL} refused a reused key ({detail}).")
    words = "; ".join(errors) or detail or exc.message
    return Rejected(f"{LABEL} refused the attachment ({exc.status}): {words}", "provider_refused")

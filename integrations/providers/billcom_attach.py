"""Bill.com: the item's document uploaded for the published bill (I/O only; the contract is in
integrations/providers/attaching.py). Calls go through the connection's kept session
(provider_calls.BillcomCaller). Sources: docs/providers.md, "Attachments".

- `POST /v3/documents/bills/{billId}?name=<file name with extension>` ("Upload bill document",
  developer.bill.com/reference/createbilldocument): the file as the raw body
  (`application/octet-stream`), `devKey` and `sessionId` headers. The file size limit is 6 MB. BILL
  answers the document's id: a temporary one beginning `0du` while BILL finishes the upload, `00h`
  once done; either means BILL has the file.
- BILL has NO idempotency key: an upload whose answer was lost is looked up first (`find`:
  `GET /v3/documents/bills/{billId}`, "Get list of documents", by file name) before it is ever sent
  again.
- Refusals in BILL's error list are Rejected with BILL's words; BDC_1322/BDC_1144 RetryAfter; 5xx and
  timeouts InDoubt; a session that cannot be renewed AuthExpired.
- Checked before sending: the 6 MB limit and the types (PDF, JPEG, PNG; not HEIC).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from . import attaching
from .attaching import AttachmentData
from .base import ProviderError
from .lists import Caller
from .publishing import InDoubt, Lookup, NotFound, Outcome, Published, Rejected, outcome_of

LABEL = "Bill.com"
MAX_SIZE = 6_000_000
TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})


def path_of(attachment: AttachmentData) -> str:
    return f"/v3/documents/bills/{quote(attachment.bill_id, safe='')}"


def refusal(attachment: AttachmentData) -> Rejected | None:
    return attaching.refusal(attachment, label=LABEL, types=TYPES, max_size=MAX_SIZE)


def send(caller: Caller, *, organisation: str, attachment: AttachmentData) -> Outcome:
    refused = refusal(attachment)
    if refused is not None:
        return refused
    try:
        answer = caller.request(
            "POST",
            path_of(attachment),
            params={"name": attachment.file_name},
            data=attachment.content,
            headers={"Content-Type": "application/octet-stream"},
        )
    except ProviderError as exc:
        outcome = outcome_of(exc)
        if isinstance(outcome, Rejected):
            words = exc.message.removeprefix("Bill.com refused the request: ")
            return Rejected(f"{LABEL} refused the document: {words}", exc.code)
        return outcome
    document_id = str(answer.get("id") or "") if isinstance(answer, dict) else ""
    if not document_id:
        return InDoubt(f"{LABEL} sent an answer we could not read: the file may be uploaded.")
    return Published(document_id)


def _rows(answer: Any) -> list[dict]:
    """The documents of a list answer: a v3 list page ({"results": [...]}) or a bare list (the stored
    reference does not show the answer's shape: docs/providers.md says so)."""
    rows = answer.get("results") if isinstance(answer, dict) else answer
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def find(caller: Caller, *, organisation: str, attachment: AttachmentData) -> Lookup:
    """The document BILL has on this bill under this file name, or NotFound."""
    try:
        answer = caller.request("GET", path_of(attachment))
    except ProviderError as exc:
        outcome = outcome_of(exc)
        if isinstance(outcome, Rejected):
            return InDoubt(f"{LABEL} could not be asked whether it has the document: {outcome.message}")
        return outcome  # type: ignore[return-value]
    for row in _rows(answer):
        if str(row.get("name") or "") == attachment.file_name and row.get("id"):
            return Published(str(row["id"]))
    return NotFound(f"{LABEL} has no document named {attachment.file_name!r} on this bill.")

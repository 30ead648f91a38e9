"""What an attachment adapter is handed and hands back: plain data, no models. After a bill is published
(costs/publishing.py records Published), the item's document goes with it as a SEPARATE call that never
creates the bill again (costs/attachments.py decides; the adapters do I/O only):

- Xero: `integrations/providers/xero_attach.py` (PUT …/Invoices|CreditNotes/{id}/Attachments/{FileName});
- QuickBooks Online: `qbo_attach.py` (POST /v3/company/{realmId}/upload, multipart, an Attachable that
  references the document);
- Bill.com: `billcom_attach.py` (POST /v3/documents/bills/{billId}?name=…, the file as the body);
- ApprovalMax: its bills are in the main software (Xero SUBMITTED): attached there, by Xero's adapter;
- QuickBooks Desktop: qbXML takes no attachments (costs/attachments.py marks it unsupported).

Outcomes are those of integrations/providers/publishing.py: `Published(attachment id)` (attached),
`Rejected(message)` (the provider refused THIS file: too big, a type it does not take, a document it
does not have), `RetryAfter`, `AuthExpired` (after the caller's one refresh), `InDoubt` (5xx, a timeout,
a lost answer: it may be there). Sources: docs/providers.md, "Attachments".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

# The extension each document type is sent with (the type was read from the content at upload).
EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/heic": ".heic",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass(frozen=True)
class AttachmentData:
    """One file to attach to one published document. `bill_id`: the provider's id of the document
    (Xero InvoiceID/CreditNoteID, QuickBooks Id, Bill.com bill id); `kind`: BillData's kinds (which
    resource or entity it is); `key`: the attach step's idempotency key, reused by every retry of it."""

    bill_id: str
    kind: str
    file_name: str
    content_type: str
    content: bytes
    key: str

    @property
    def size(self) -> int:
        return len(self.content)


def file_name_for(original: str, content_type: str, fallback: str = "document") -> str:
    """The name the file is attached under: the uploaded name's last part only (never a path), the
    characters every provider takes in a URL path or a query (letters, digits, dot, dash, underscore,
    space), at most 100 characters, with the extension of its type (read from the content)."""
    last = PureWindowsPath(PurePosixPath(original or "").name).name
    stem = _UNSAFE.sub("_", last.rsplit(".", 1)[0] if "." in last else last).strip(" ._") or fallback
    return f"{stem[:90]}{EXTENSIONS.get(content_type, '')}"


def too_big(label: str, size: int, limit: int) -> str:
    return (
        f"{label} takes attachments of up to {limit // 1_000_000} MB; this document is "
        f"{size / 1_000_000:.1f} MB. Attach a smaller copy in {label} by hand."
    )


def not_taken(label: str, content_type: str) -> str:
    kind = {"image/heic": "HEIC images"}.get(content_type, f"{content_type} files")
    return f"{label} does not take {kind} as attachments. Attach a PDF or JPEG copy in {label} by hand."


def refusal(attachment: AttachmentData, *, label: str, types: frozenset[str], max_size: int):
    """What the software refuses before any call (its types and size limit), as a Rejected; None when it
    takes the file. Each adapter passes its own label, types and limit."""
    from .publishing import Rejected

    if attachment.content_type not in types:
        return Rejected(not_taken(label, attachment.content_type), "type")
    if attachment.size > max_size:
        return Rejected(too_big(label, attachment.size, max_size), "size")
    return None

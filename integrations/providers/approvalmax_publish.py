"""ApprovalMax: how an item routed to ApprovalMax reaches it, and how its approval is read back (I/O only;
outcomes in integrations/providers/publishing.py). Sources: docs/providers.md, "ApprovalMax";
docs/publishing-research.md §0.2-0.4 and §1.

What ApprovalMax documents, and what it does not:
- Its public API documents reading (GET /companies, GET /companies/{id}/xero/{document type}[/{id}]).
  A write scope exists ("allows to create requests (create, edit, submit)"), but no create endpoint,
  body or answer is in any documentation we could read (the swagger was not available), so NOTHING here
  creates a request in ApprovalMax. (docs/publishing-research.md §0.2 corrects issue 10 here: a create
  endpoint probably exists and must be read from ApprovalMax's swagger before it is used.)
- The documented path instead, for an ApprovalMax organisation connected to Xero: the bill is created
  in Xero awaiting approval (Status SUBMITTED: `for_approval` + xero_publish.send on the MAIN Xero
  connection), and ApprovalMax pulls it ("Pulling from Xero", which the customer must have set up with
  a requester; ApprovalMax pulls hourly). When it is approved ApprovalMax sets the bill to AUTHORISED
  in Xero; when rejected, back to DRAFT.
- QuickBooks Online has no "awaiting approval" bill, and ApprovalMax marks documents it pulls from
  QuickBooks Online as already "Approved": there is no documented way to put a bill INTO approval
  there, so such an item is refused with a message (`not_for_quickbooks`).
- Reading the approval back: `approval_status` asks ApprovalMax (GET /companies/{id}/xero/bills,
  filtered by documentNumber, matched on the Xero contact and total), which needs ApprovalMax's
  Premium plan (otherwise 400 "The <companyId> is disabled."); `status_from_xero` reads the same
  decision from the Xero bill's status when ApprovalMax cannot be asked.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .base import ProviderError, ProviderRefused, setting
from .lists import Caller
from .publishing import BillData, Rejected

LABEL = "ApprovalMax"
AWAITING, APPROVED, REJECTED, UNKNOWN = "awaiting", "approved", "rejected", "unknown"
# ApprovalMax's requestStatus values (as third-party clients observed them; the schema may carry them
# as {name, value}: both are read).
_REQUEST_STATUS = {
    "onapproval": AWAITING,
    "draft": AWAITING,
    "approved": APPROVED,
    "rejected": REJECTED,
    "cancelled": REJECTED,
}
# The decision as Xero's bill shows it (ApprovalMax "Xero Bills approval").
_XERO_STATUS = {"SUBMITTED": AWAITING, "AUTHORISED": APPROVED, "PAID": APPROVED, "DRAFT": REJECTED}


@dataclass(frozen=True)
class Approval:
    state: str  # AWAITING, APPROVED, REJECTED, UNKNOWN
    detail: str = ""
    request_id: str = ""


def for_approval(bill: BillData) -> BillData:
    """The bill as it goes to Xero for ApprovalMax: awaiting approval."""
    return dataclasses.replace(bill, awaiting_approval=True)


def not_for_quickbooks() -> Rejected:
    return Rejected(
        f"{LABEL} documents no way to send a bill for approval when it is connected to QuickBooks Online "
        f"(QuickBooks Online has no bill awaiting approval). Publish this item to QuickBooks Online "
        f"instead, or approve it in {LABEL} once it is there.",
        "approvalmax_quickbooks",
    )


def status_from_xero(xero_status: str) -> Approval:
    return Approval(_XERO_STATUS.get(xero_status.upper(), UNKNOWN), f"Xero status {xero_status}")


def _state(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("value") or value.get("name")
    return _REQUEST_STATUS.get(str(value or "").replace("_", "").lower(), UNKNOWN)


def approval_status(caller: Caller, *, company_id: str, bill: BillData, contact_id: str = "") -> Approval:
    """The approval of `bill` (sent to Xero awaiting approval) as ApprovalMax tells it: UNKNOWN until
    ApprovalMax has pulled it, or when ApprovalMax cannot be asked (the detail says why)."""
    url = f"{setting('APPROVALMAX_API_URL').rstrip('/')}/companies/{company_id}/xero/bills"
    token = ""
    try:
        while True:
            params: dict[str, Any] = {"documentNumber": bill.number, "limit": 100}
            if token:
                params["continuationToken"] = token
            answer = caller.request("GET", url, params=params) or {}
            for request in answer.get("payload") or []:
                if _same(request, bill, contact_id):
                    return Approval(
                        _state(request.get("requestStatus")), "", str(request.get("requestId") or "")
                    )
            token = str(answer.get("continuationToken") or "")
            if not token:
                return Approval(UNKNOWN, f"{LABEL} has not pulled the bill from Xero yet.")
    except ProviderRefused as exc:
        detail = ""
        if isinstance(exc.answer, dict):
            detail = str(exc.answer.get("detail") or exc.answer.get("title") or "")
        return Approval(UNKNOWN, f"{LABEL} did not answer ({exc.status}{': ' + detail if detail else ''}).")
    except ProviderError as exc:
        return Approval(UNKNOWN, f"{LABEL} could not be asked: {exc.message}")


def _same(request: dict, bill: BillData, contact_id: str) -> bool:
    number = str(request.get("documentNumber") or request.get("reference") or "")
    if number != bill.number:
        return False
    if contact_id and request.get("contactId") and request["contactId"] != contact_id:
        return False
    total = request.get("total")
    return not (
        bill.total
        and total is not None
        and Decimal(str(total)) != Decimal(bill.total).quantize(Decimal("0.01"))
    )

"""Bill.com: creating bills (I/O only; the contract and the outcomes are in
integrations/providers/publishing.py). Calls go through the connection's kept session
(integrations/provider_calls.BillcomCaller: services.billcom_call signs in again when the session has
ended). Sources: docs/providers.md, "Publishing calls"; docs/publishing-research.md §4.

- `POST /v3/bills` with what BILL marks required: `vendorId`, `invoice.invoiceNumber`,
  `invoice.invoiceDate`, `dueDate` (yyyy-MM-dd; the invoice date when the document has none) and
  `billLineItems` with an `amount` each (and `chartOfAccountId`, the line's account, and a
  description). BILL keeps no tax: a line's amount is what is owed for it, tax included.
- Bills, paid receipts and expense claims are bills; BILL takes no credit notes or sales invoices from
  us (the registry's `publishes` says so), so they are Rejected here.
- BILL HAS NO IDEMPOTENCY KEY, and does not refuse a second bill with the same vendor and invoice
  number. A create whose answer was lost (InDoubt) must be looked up with `find` before it is ever
  sent again: GET /v3/bills filtered by `vendorId` (a documented filter field), every page, and the
  invoice number compared exactly here (whether `invoice.invoiceNumber` can be filtered on is not in
  the stored documentation). Found: Published. Not found: safe to send.
- One request at a time per organisation is the caller's job (BILL refuses a fourth at once:
  BDC_1322, RetryAfter); BDC_1144 (the hourly cap) waits for the next hour.
- BILL documents no link to a bill in its web app: Published carries the bill id, no url.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .base import ProviderError
from .billcom import PAGE_MAX, filter_time
from .lists import Caller
from .publishing import (
    CREDIT_NOTE,
    SALES_INVOICE,
    TAX_EXCLUSIVE,
    BillData,
    InDoubt,
    Lookup,
    NotFound,
    Outcome,
    Published,
    Rejected,
    money,
    outcome_of,
)

LABEL = "Bill.com"
PATH = "/v3/bills"


def document(bill: BillData) -> dict[str, Any] | Rejected:
    if bill.kind in (CREDIT_NOTE, SALES_INVOICE):
        return Rejected(
            f"{LABEL} takes bills only: publish this document to your main software.", "not_a_bill"
        )
    if not bill.supplier.external_id:
        return Rejected(
            f"{LABEL} needs the vendor to exist before a bill can name it: create or choose the "
            "supplier first.",
            "no_party",
        )
    if not bill.number:
        return Rejected(f"{LABEL} needs the bill's invoice number.", "no_number")

    def owed(line) -> Decimal:
        tax = line.tax_amount or Decimal("0")
        return line.amount + tax if bill.amounts == TAX_EXCLUSIVE else line.amount

    return {
        "vendorId": bill.supplier.external_id,
        "invoice": {"invoiceNumber": bill.number, "invoiceDate": bill.date.isoformat()},
        "dueDate": (bill.due_date or bill.date).isoformat(),
        "billLineItems": [
            {
                "amount": money(owed(line)),
                **({"description": line.description} if line.description else {}),
                **({"chartOfAccountId": line.account_id} if line.account_id else {}),
            }
            for line in bill.lines
        ],
        **({"description": bill.memo} if bill.memo else {}),
    }


def send(caller: Caller, *, organisation: str, bills: list[BillData]) -> list[Outcome]:
    """Each bill in its own call, in order (never more than one at a time); one outcome each."""
    return [_send_one(caller, bill) for bill in bills]


def _send_one(caller: Caller, bill: BillData) -> Outcome:
    body = document(bill)
    if isinstance(body, Rejected):
        return body
    try:
        answer = caller.request("POST", PATH, json=body)
    except ProviderError as exc:
        outcome = outcome_of(exc)
        if isinstance(outcome, Rejected):
            return Rejected(
                f"{LABEL} refused the bill: {exc.message.removeprefix('Bill.com refused the request: ')}",
                exc.code,
            )
        return outcome
    external_id = str(answer.get("id") or "") if isinstance(answer, dict) else ""
    if not external_id:
        return InDoubt(f"{LABEL} sent an answer we could not read: it may have created the bill.")
    return Published(external_id)


def find(caller: Caller, *, organisation: str, bills: list[BillData], since=None) -> list[Lookup]:
    """For each bill, the bill BILL has for the same vendor and invoice number (not archived; of
    several, the one with our amount), or NotFound. `since`: only bills created from then on (the
    first send's time, less a margin), to read fewer pages."""
    results: list[Lookup] = []
    by_vendor: dict[str, list[dict]] = {}
    for bill in bills:
        vendor = bill.supplier.external_id
        try:
            if vendor not in by_vendor:
                by_vendor[vendor] = _bills_of(caller, vendor, since)
        except ProviderError as exc:
            outcome = outcome_of(exc)
            results.append(
                InDoubt(f"{LABEL} could not be asked whether it has the bill: {outcome.message}")
                if isinstance(outcome, Rejected)
                else outcome  # type: ignore[arg-type]
            )
            continue
        results.append(_match(bill, by_vendor[vendor]))
    return results


def _bills_of(caller: Caller, vendor: str, since) -> list[dict]:
    filters = f'vendorId:eq:"{vendor}"'
    if since is not None:
        filters += f',createdTime:gte:"{filter_time(since)}"'
    found: list[dict] = []
    token = ""
    while True:
        params: dict[str, Any] = {"max": PAGE_MAX, "filters": filters, **({"page": token} if token else {})}
        answer = caller.request("GET", PATH, params=params)
        rows = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(rows, list):
            raise ProviderError(f"{LABEL} sent a list we could not read.", code="bad_response")
        found.extend(r for r in rows if isinstance(r, dict))
        token = str(answer.get("nextPage") or "")
        if not token:
            return found


def _match(bill: BillData, rows: list[dict]) -> Lookup:
    document_ = document(bill)
    amount = (
        sum((Decimal(str(x["amount"])) for x in document_["billLineItems"]), Decimal("0"))
        if isinstance(document_, dict)
        else None
    )
    return match_bill(rows, invoice_number=bill.number, amount=amount)


def match_bill(rows: list[dict], *, invoice_number: str, amount: Decimal | None = None) -> Lookup:
    """Of one vendor's bills, the one with exactly this invoice number (not archived; of several, the
    one with `amount`), or NotFound."""
    same = [
        r
        for r in rows
        if str((r.get("invoice") or {}).get("invoiceNumber") or "") == invoice_number
        and r.get("archived") is not True
    ]
    if not same:
        return NotFound(f"{LABEL} has no bill numbered {invoice_number!r} for this vendor.")
    best = next(
        (r for r in same if amount is not None and Decimal(str(r.get("amount", "0"))) == amount), same[0]
    )
    return Published(str(best["id"]))


def find_bill(caller: Caller, *, vendor_id: str, invoice_number: str, since=None) -> Lookup:
    """The bill BILL has for this vendor and invoice number (the lookup before any resend of a create
    whose answer was lost), or NotFound; a failed lookup is RetryAfter / AuthExpired / InDoubt."""
    try:
        rows = _bills_of(caller, vendor_id, since)
    except ProviderError as exc:
        outcome = outcome_of(exc)
        if isinstance(outcome, Rejected):
            return InDoubt(f"{LABEL} could not be asked whether it has the bill: {outcome.message}")
        return outcome  # type: ignore[return-value]
    return match_bill(rows, invoice_number=invoice_number)

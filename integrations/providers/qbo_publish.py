"""QuickBooks Online: creating bills, vendor credits, paid receipts and sales invoices (I/O only; the
contract and the outcomes are in integrations/providers/publishing.py). Sources: docs/providers.md,
"Publishing calls"; docs/publishing-research.md §3.

- One document a call: `POST /v3/company/{realmId}/{entity}?minorversion=75&requestid=<key>`:
  bills and expense claims are a `Bill`, credit notes a `VendorCredit`, paid receipts a `Purchase`,
  sales invoices an `Invoice`. `minorversion=75` comes with every call of the adapter
  (QuickBooksOnline.api_params).
- `requestid` is the document's key (BillData.key, made to fit Intuit's 50 characters by
  qbo.request_id): Intuit answers a repeated requestid with the first answer and creates nothing, so a
  create whose answer was lost (InDoubt) is sent again under the same requestid, and that resend IS the
  lookup. Intuit documents no expiry for a requestid (docs/providers.md says so).
- Intuit's `Fault` (ValidationFault 2020, 2500, 6000, 6140, …) is Rejected with Intuit's own message
  and code; 429 (500 a minute, 10 at once per company) is RetryAfter (Intuit documents no Retry-After:
  a short wait); 5xx and timeouts are InDoubt; a 401 after the caller's one refresh is AuthExpired.
- Refused here, before anything is sent (Rejected, nothing to retry until the item changes): a
  document whose supplier has no QuickBooks id yet (the publishing service creates the vendor first:
  qbo.create_supplier), a line without an account, a sales line without a product or service (ItemRef:
  QuickBooks puts an invoice line's amount on one; the lists issue keeps none yet), and a paid
  receipt without the account it was paid from. DECISION for that last one: a Purchase needs a bank
  or credit card account (`AccountRef`, "Check must specify bank account, CreditCard must specify
  credit card account"); sending the receipt as an unpaid Bill instead would tell the books a supplier
  is still owed money that was paid, so the receipt is refused with a message saying what to choose.
"""

from __future__ import annotations

from typing import Any

from .base import ProviderError, setting
from .lists import Caller
from .publishing import (
    CREDIT_NOTE,
    PAID_RECEIPT,
    SALES_INVOICE,
    TAX_INCLUSIVE,
    BillData,
    InDoubt,
    Outcome,
    Published,
    Rejected,
    money,
    outcome_of,
)
from .qbo import request_id

LABEL = "QuickBooks Online"
ENTITIES = {CREDIT_NOTE: "VendorCredit", PAID_RECEIPT: "Purchase", SALES_INVOICE: "Invoice"}  # else Bill
# Pages of QuickBooks Online's web app (used by integrators; no first-party page: docs/providers.md).
APP_PAGES = {"Bill": "bill", "VendorCredit": "vendorcredit", "Purchase": "expense", "Invoice": "invoice"}
PAYMENT_TYPES = ("Cash", "Check", "CreditCard")


def entity_of(bill: BillData) -> str:
    return ENTITIES.get(bill.kind, "Bill")


def deep_link(entity: str, external_id: str) -> str:
    app = setting("QBO_APP_URL").rstrip("/")
    return f"{app}/{APP_PAGES[entity]}?txnId={external_id}" if app else ""


def document(bill: BillData) -> dict[str, Any] | Rejected:
    """The entity's JSON, or why it cannot be sent."""
    entity = entity_of(bill)
    if not bill.supplier.external_id:
        who = "customer" if entity == "Invoice" else "vendor"
        return Rejected(
            f"{LABEL} needs the {who} {bill.supplier.name or ''} to exist before a document can name it: "
            f"create or choose the supplier first.".replace("  ", " "),
            "no_party",
        )
    body: dict[str, Any] = {"TxnDate": bill.date.isoformat()}
    if bill.number:
        body["DocNumber"] = bill.number
    if bill.currency:
        body["CurrencyRef"] = {"value": bill.currency}
    if bill.memo:
        body["PrivateNote"] = bill.memo
    if bill.amounts == TAX_INCLUSIVE:
        body["GlobalTaxCalculation"] = "TaxInclusive"
    if entity == "Invoice":
        if any(not line.item_id for line in bill.lines):
            return Rejected(
                f"{LABEL} puts a sales invoice line's amount on a product or service: choose one for every "
                f"line, then publish again.",
                "no_item",
            )
        body["CustomerRef"] = {"value": bill.supplier.external_id}
        if bill.due_date:
            body["DueDate"] = bill.due_date.isoformat()
        body["Line"] = [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": money(line.amount),
                "Description": line.description,
                "SalesItemLineDetail": {
                    "ItemRef": {"value": line.item_id},
                    "Qty": 1,
                    "UnitPrice": money(line.amount),
                    **({"TaxCodeRef": {"value": line.tax_rate_id}} if line.tax_rate_id else {}),
                },
            }
            for line in bill.lines
        ]
        return body
    if any(not line.account_id for line in bill.lines) or not bill.lines:
        return Rejected(
            f"Every line needs a Category (an account in {LABEL}) before it can be published.", "no_account"
        )
    body["Line"] = [
        {
            "DetailType": "AccountBasedExpenseLineDetail",
            "Amount": money(line.amount),
            "Description": line.description,
            "AccountBasedExpenseLineDetail": {
                "AccountRef": {"value": line.account_id},
                **({"TaxCodeRef": {"value": line.tax_rate_id}} if line.tax_rate_id else {}),
            },
        }
        for line in bill.lines
    ]
    if entity == "Purchase":
        if not bill.payment_account_id:
            return Rejected(
                f"{LABEL} records a paid receipt against the bank or credit card account it was paid from: "
                f"choose that account, then publish again.",
                "no_payment_account",
            )
        body["PaymentType"] = bill.payment_type if bill.payment_type in PAYMENT_TYPES else "Cash"
        body["AccountRef"] = {"value": bill.payment_account_id}
        body["EntityRef"] = {"value": bill.supplier.external_id, "type": "Vendor"}
        return body
    body["VendorRef"] = {"value": bill.supplier.external_id}
    if bill.due_date and entity == "Bill":
        body["DueDate"] = bill.due_date.isoformat()
    return body


def send(caller: Caller, *, organisation: str, bills: list[BillData]) -> list[Outcome]:
    """Each document in its own call, in order; one outcome each."""
    return [_send_one(caller, organisation, bill) for bill in bills]


def _send_one(caller: Caller, organisation: str, bill: BillData) -> Outcome:
    body = document(bill)
    if isinstance(body, Rejected):
        return body
    entity = entity_of(bill)
    url = f"{setting('QBO_API_URL').rstrip('/')}/company/{organisation}/{entity.lower()}"
    try:
        answer = caller.request("POST", url, params={"requestid": request_id(bill.key)}, json=body)
    except ProviderError as exc:
        outcome = outcome_of(exc)
        if isinstance(outcome, Rejected) and exc.code.isdigit():
            # Intuit's Fault code (2020, 2500, 6140, …) with its words, already in the message.
            return Rejected(exc.message, exc.code)
        return outcome
    created = answer.get(entity) if isinstance(answer, dict) else None
    external_id = str((created or {}).get("Id") or "") if isinstance(created, dict) else ""
    if not external_id:
        return InDoubt(f"{LABEL} sent an answer we could not read: it may have created the document.")
    return Published(external_id, deep_link(entity, external_id))

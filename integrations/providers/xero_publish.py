"""Xero: creating bills, credit notes and sales invoices (I/O only; the contract and the outcomes are in
integrations/providers/publishing.py). Every call goes through the connection's caller
(integrations/provider_calls.py) with `xero-tenant-id: <organisation>`; sources in docs/providers.md,
"Publishing calls".

- Bills, paid receipts and expense claims are ACCPAY invoices, sales invoices ACCREC:
  `PUT /Invoices?summarizeErrors=false`. Credit notes are ACCPAYCREDIT: `PUT /CreditNotes?
  summarizeErrors=false`. Up to 50 documents a call (Xero's recommendation; `batches` splits).
  Always `summarizeErrors=false`: Xero then answers 200 with each document's own result, so one bad
  bill fails alone (Rejected with Xero's ValidationErrors) while the others are Published. Without it,
  Xero answers 400 yet may still create the valid ones.
- A document is created DRAFT, or SUBMITTED ("awaiting approval") when it goes to ApprovalMax
  (BillData.awaiting_approval). The contact is sent by ContactID only (sending more fields would
  update the contact), or by Name when there is no id yet: Xero then finds the active contact of that
  name or creates it. Lines: Quantity 1 × UnitAmount, AccountCode (Xero posts by code), TaxType,
  TaxAmount; LineAmountTypes Exclusive / Inclusive / NoTax. Read-only fields (SubTotal, Total, …) are
  never sent: Xero's OpenAPI document marks them readOnly and a test validates every body against it.
- `Idempotency-Key`: it covers the whole call (the batch), and Xero keeps its answer for 6 MINUTES
  ONLY (docs/publishing-research.md §0.1 corrects issue 10 here). Hence:
  * `batch_key(bills, generation)` derives the key from the documents' own keys, in order, so the
    same batch always gets the same key and a batch made up differently can never reuse one; the
    caller keeps the key AND the body it sent (`Batch.key`, `Batch.body`) and resends exactly them;
  * a resend under the same key is safe only while `resend_is_safe(first_sent_at)` (under 6
    minutes, with a margin). After that, or after repeated failures, the rule is LOOK UP BEFORE
    RETRY: `find` (GET /Invoices?InvoiceNumbers=…&ContactIDs=…, GET /CreditNotes?where=…) tells
    which documents Xero has; those are Published; the others go in a new batch (new key: another
    composition, or the next generation);
  * the same key with another body is refused by Xero (400 "… is used with a different request"):
    every document of that call is InDoubt (look up, then send under a new key).
- 429 (minute, day or concurrent limit) is RetryAfter with Xero's `Retry-After` (a concurrent-limit
  429 may carry none: a short wait). 5xx, timeouts and unreadable answers are InDoubt. A 401 after the
  caller's one refresh, or a 403 for the tenant, is AuthExpired.
- The published document's link: Xero's deep link with the organisation's ShortCode
  (`organisation_short_code`, GET /Organisation), else a link that opens in whichever organisation
  the user has selected in Xero.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from .base import GrantRevoked, ProviderError, ProviderRefused, setting
from .lists import Caller
from .publishing import (
    CREDIT_NOTE,
    NO_TAX,
    SALES_INVOICE,
    TAX_INCLUSIVE,
    AuthExpired,
    Batch,
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

LABEL = "Xero"
# "we recommend you look to batch elements in bundles of up to 50" (Xero API limits page).
MAX_BATCH = 50
# Xero keeps an Idempotency-Key's answer for 6 minutes; a resend is trusted to it for less, so the
# request in flight and a clock apart by a little cannot make the resend fall outside it.
KEY_LIFE = timedelta(minutes=6)
KEY_MARGIN = timedelta(minutes=1)
# "128 character max." (xero_accounting.yaml, idempotencyKey).
MAX_KEY = 128
GET_PAGE = 100

_TYPES = {CREDIT_NOTE: "ACCPAYCREDIT", SALES_INVOICE: "ACCREC"}  # everything else: ACCPAY
_AMOUNT_TYPES = {TAX_INCLUSIVE: "Inclusive", NO_TAX: "NoTax"}  # else Exclusive


def resource_of(bill: BillData) -> str:
    return "CreditNotes" if bill.kind == CREDIT_NOTE else "Invoices"


def _number_field(resource: str) -> str:
    return "CreditNoteNumber" if resource == "CreditNotes" else "InvoiceNumber"


def _id_field(resource: str) -> str:
    return "CreditNoteID" if resource == "CreditNotes" else "InvoiceID"


def batches(bills: list[BillData]) -> Iterator[list[BillData]]:
    """The bills in calls Xero takes: one resource each (Invoices or CreditNotes), at most 50, in the
    order given."""
    for resource in ("Invoices", "CreditNotes"):
        same = [b for b in bills if resource_of(b) == resource]
        for start in range(0, len(same), MAX_BATCH):
            yield same[start : start + MAX_BATCH]


def batch_key(bills: list[BillData], *, generation: int = 1) -> str:
    """The Idempotency-Key of a batch: from the endpoint and its documents' keys in order, and a
    generation the caller raises when it must send the same documents again as a new request (after
    the key's 6 minutes, or after Xero kept answering an error under it)."""
    digest = hashlib.sha256("\n".join([resource_of(bills[0]), *(b.key for b in bills)]).encode()).hexdigest()
    return f"dext-{digest[:48]}-{generation}"


def resend_is_safe(first_sent_at: datetime, now: datetime) -> bool:
    """May a batch first sent at `first_sent_at` be sent again under the same key? Only while Xero
    still remembers the key; after that the documents must be looked up (`find`) first."""
    return now - first_sent_at < KEY_LIFE - KEY_MARGIN


def document(bill: BillData) -> dict[str, Any]:
    """One document as Xero's createInvoices / createCreditNotes take it."""
    resource = resource_of(bill)
    body: dict[str, Any] = {
        "Type": _TYPES.get(bill.kind, "ACCPAY"),
        "Contact": {"ContactID": bill.supplier.external_id}
        if bill.supplier.external_id
        else {"Name": bill.supplier.name},
        "Date": bill.date.isoformat(),
        "LineAmountTypes": _AMOUNT_TYPES.get(bill.amounts, "Exclusive"),
        "Status": "SUBMITTED" if bill.awaiting_approval else "DRAFT",
        "LineItems": [_line(line, bill.amounts) for line in bill.lines],
    }
    if bill.number:
        body[_number_field(resource)] = bill.number
    if bill.due_date and resource == "Invoices":
        body["DueDate"] = bill.due_date.isoformat()
    if bill.currency:
        body["CurrencyCode"] = bill.currency
    if bill.source_url and resource == "Invoices":
        body["Url"] = bill.source_url
    return body


def _line(line, amounts: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "Description": line.description or "-",
        "Quantity": 1.0,
        "UnitAmount": money(line.amount),
    }
    if line.account_code:
        item["AccountCode"] = line.account_code
    if amounts != NO_TAX:
        if line.tax_rate_code:
            item["TaxType"] = line.tax_rate_code
        if line.tax_amount is not None:
            item["TaxAmount"] = money(line.tax_amount)
    return item


def body_of(bills: list[BillData]) -> dict[str, Any]:
    return {resource_of(bills[0]): [document(b) for b in bills]}


def _url(resource: str) -> str:
    return f"{setting('XERO_API_URL').rstrip('/')}/{resource}"


def deep_link(bill: BillData | str, external_id: str, short_code: str = "") -> str:
    """A link to the document in Xero's web app. With the organisation's ShortCode, Xero's deep link
    (opens the right organisation); without, the page in whichever organisation is selected."""
    kind = bill.kind if isinstance(bill, BillData) else bill
    page = {
        CREDIT_NOTE: f"/AccountsPayable/ViewCreditNote.aspx?creditNoteID={external_id}",
        SALES_INVOICE: f"/AccountsReceivable/View.aspx?InvoiceID={external_id}",
    }.get(kind, f"/AccountsPayable/Edit.aspx?InvoiceID={external_id}")
    app = setting("XERO_APP_URL").rstrip("/")
    if not app:
        return ""
    if short_code:
        return (
            f"{app}/organisationlogin/default.aspx?shortcode={quote(short_code, safe='!')}&redirecturl={page}"
        )
    return f"{app}{page}"


def organisation_short_code(caller: Caller, *, organisation: str) -> str:
    """The organisation's ShortCode (GET /Organisation), for deep links: read once and kept."""
    answer = caller.request("GET", _url("Organisation"), headers={"xero-tenant-id": organisation}) or {}
    orgs = answer.get("Organisations") if isinstance(answer, dict) else None
    return str((orgs or [{}])[0].get("ShortCode") or "") if isinstance(orgs, list) else ""


# --- create ----------------------------------------------------------------------------------------


def send(
    caller: Caller,
    *,
    organisation: str,
    bills: list[BillData],
    key: str = "",
    body: dict | None = None,
    short_code: str = "",
) -> Batch:
    """Create one batch (bills of one resource, at most 50; see `batches`). `key` and `body`: a resend
    of a batch sent before, exactly as it was (Batch.key and Batch.body of the first send); else both
    are made here. One outcome per bill, in order."""
    if not bills or len(bills) > MAX_BATCH or len({resource_of(b) for b in bills}) != 1:
        raise ValueError("A Xero batch holds 1 to 50 documents of one kind (see batches()).")
    resource = resource_of(bills[0])
    key = key or batch_key(bills)
    body = body if body is not None else body_of(bills)
    if len(key) > MAX_KEY:
        raise ValueError(f"Xero takes an Idempotency-Key of at most {MAX_KEY} characters.")
    sent = Batch(key=key, body=body)
    try:
        answer = caller.request(
            "PUT",
            _url(resource),
            params={"summarizeErrors": "false"},
            json=body,
            headers={"xero-tenant-id": organisation, "Idempotency-Key": key},
        )
    except ProviderRefused as exc:
        sent.outcomes = _refused(exc, bills, resource)
        return sent
    except ProviderError as exc:
        sent.outcomes = [outcome_of(exc)] * len(bills)
        return sent
    sent.outcomes = _read(answer, bills, resource, short_code)
    return sent


def _read(answer: Any, bills: list[BillData], resource: str, short_code: str) -> list[Outcome]:
    """Each document's result, matched to what we sent by position (Xero answers them in the order
    sent; an element with errors may carry no id), checked against the number we sent."""
    elements = answer.get(resource) if isinstance(answer, dict) else None
    if not isinstance(elements, list):
        return [
            InDoubt(f"{LABEL} sent an answer we could not read: it may have created the documents.")
        ] * len(bills)
    outcomes: list[Outcome] = []
    for n, bill in enumerate(bills):
        element = elements[n] if n < len(elements) and isinstance(elements[n], dict) else None
        if element is None:
            outcomes.append(InDoubt(f"{LABEL} did not answer for this document: it may have created it."))
            continue
        number = element.get(_number_field(resource))
        if bill.number and number not in (None, "", bill.number):
            outcomes.append(InDoubt(f"{LABEL}'s answer did not match the documents sent."))
            continue
        problems = _messages(element.get("ValidationErrors"))
        if problems or element.get("HasErrors") or element.get("StatusAttributeString") == "ERROR":
            outcomes.append(
                Rejected(f"{LABEL} refused it: {'; '.join(problems) or 'a validation error'}", "validation")
            )
            continue
        external_id = str(element.get(_id_field(resource)) or "")
        if not external_id:
            outcomes.append(InDoubt(f"{LABEL} did not say which document it created."))
            continue
        outcomes.append(Published(external_id, deep_link(bill, external_id, short_code)))
    return outcomes


def _messages(errors: Any) -> list[str]:
    """ValidationErrors' texts: `Message`, or `Description` on some endpoints."""
    if not isinstance(errors, list):
        return []
    return [
        str(e.get("Message") or e.get("Description") or "")
        for e in errors
        if isinstance(e, dict) and (e.get("Message") or e.get("Description"))
    ]


def _refused(exc: ProviderRefused, bills: list[BillData], resource: str) -> list[Outcome]:
    """A 4xx for the whole call."""
    answer = exc.answer if isinstance(exc.answer, dict) else {}
    detail = str(answer.get("Detail") or answer.get("Message") or "")
    if exc.status == 400 and "is used with a different request" in detail:
        # The key was spent on another body: nothing tells which documents exist. Look up.
        return [InDoubt(f"{LABEL} refused a reused key ({detail}); look the documents up first.")] * len(
            bills
        )
    if exc.status == 403:
        return [AuthExpired(f"{LABEL} no longer lets us into this organisation. Reconnect {LABEL}.")] * len(
            bills
        )
    if answer.get("Type") == "ValidationException" and len(answer.get("Elements") or []) == len(bills):
        return [
            Rejected(
                f"{LABEL} refused it: {'; '.join(_messages(e.get('ValidationErrors'))) or detail}",
                "validation",
            )
            for e in answer["Elements"]
        ]
    return [
        Rejected(f"{LABEL} refused the request ({exc.status}): {detail or exc.message}", "provider_refused")
    ] * len(bills)


# --- look up (before any resend the key no longer covers) ------------------------------------------


def find(caller: Caller, *, organisation: str, bills: list[BillData], short_code: str = "") -> list[Lookup]:
    """For each bill: the document Xero has for it (same type, number and contact; the total and date
    too when Xero says them), or NotFound. Invoices in one query per batch (InvoiceNumbers, ContactIDs),
    credit notes one `where` query each (getCreditNotes has no such parameters)."""
    try:
        invoices = [b for b in bills if resource_of(b) == "Invoices"]
        found: dict[str, list[dict]] = {}
        if invoices:
            found["Invoices"] = _get_invoices(caller, organisation, invoices)
        results: list[Lookup] = []
        for bill in bills:
            if resource_of(bill) == "CreditNotes":
                candidates = _get_credit_notes(caller, organisation, bill)
            else:
                candidates = found["Invoices"]
            results.append(_match(bill, candidates, short_code))
        return results
    except ProviderError as exc:
        return [_lookup_failed(exc)] * len(bills)


def _lookup_failed(exc: ProviderError) -> Lookup:
    if isinstance(exc, ProviderRefused) and exc.status == 403:
        return AuthExpired(f"{LABEL} no longer lets us into this organisation. Reconnect {LABEL}.")
    if isinstance(exc, GrantRevoked):
        return AuthExpired(str(exc))
    outcome = outcome_of(exc)
    if isinstance(outcome, Rejected):
        return InDoubt(f"{LABEL} could not be asked whether it has the document: {outcome.message}")
    return outcome  # type: ignore[return-value]


def _get_invoices(caller: Caller, organisation: str, bills: list[BillData]) -> list[dict]:
    params: dict[str, Any] = {}
    numbers = sorted({b.number for b in bills if b.number})
    if numbers and all(b.number for b in bills):
        params["InvoiceNumbers"] = ",".join(numbers)
    if all(b.supplier.external_id for b in bills):
        params["ContactIDs"] = ",".join(sorted({b.supplier.external_id for b in bills}))
    found: list[dict] = []
    page = 1
    while True:
        answer = (
            caller.request(
                "GET",
                _url("Invoices"),
                params={**params, "page": page},
                headers={"xero-tenant-id": organisation},
            )
            or {}
        )
        rows = [r for r in (answer.get("Invoices") or []) if isinstance(r, dict)]
        found.extend(rows)
        if len(rows) < GET_PAGE:
            return found
        page += 1


def _get_credit_notes(caller: Caller, organisation: str, bill: BillData) -> list[dict]:
    number = bill.number.replace('"', "")
    where = f'CreditNoteNumber=="{number}"'
    if bill.supplier.external_id:
        where += f' AND Contact.ContactID==guid("{bill.supplier.external_id}")'
    answer = caller.request(
        "GET", _url("CreditNotes"), params={"where": where}, headers={"xero-tenant-id": organisation}
    )
    return [r for r in ((answer or {}).get("CreditNotes") or []) if isinstance(r, dict)]


def _match(bill: BillData, candidates: list[dict], short_code: str) -> Lookup:
    """The document of the same type, number and contact: ours, or one made by hand that sending ours
    would duplicate. Of several, the one with our total and date."""
    resource = resource_of(bill)
    wanted_type = _TYPES.get(bill.kind, "ACCPAY")
    same = []
    for row in candidates:
        contact = row.get("Contact") or {}
        same_contact = (
            contact.get("ContactID") == bill.supplier.external_id
            if bill.supplier.external_id
            else str(contact.get("Name", "")).casefold() == bill.supplier.name.casefold()
        )
        number = str(row.get(_number_field(resource)) or "")
        if (
            row.get("Type") == wanted_type
            and number == bill.number
            and same_contact
            and row.get(_id_field(resource))
        ):
            same.append(row)
    if not same:
        return NotFound(f"{LABEL} has no {wanted_type} numbered {bill.number!r} for this contact.")

    def closeness(row: dict) -> int:
        total = row.get("Total")
        same_total = total is not None and Decimal(str(total)) == Decimal(bill.total).quantize(
            Decimal("0.01")
        )
        same_date = str(row.get("DateString") or "").startswith(bill.date.isoformat())
        return int(same_total) + int(same_date)

    best = max(same, key=closeness)
    external_id = str(best[_id_field(resource)])
    return Published(external_id, deep_link(bill, external_id, short_code))


def statuses(caller: Caller, *, organisation: str, invoice_ids: list[str]) -> dict[str, str]:
    """The current Status of these invoices (GET /Invoices?IDs=…): e.g. a bill sent for approval is
    SUBMITTED until ApprovalMax decides (AUTHORISED approved, DRAFT rejected)."""
    if not invoice_ids:
        return {}
    answer = caller.request(
        "GET",
        _url("Invoices"),
        params={"IDs": ",".join(invoice_ids)},
        headers={"xero-tenant-id": organisation},
    )
    rows = (answer or {}).get("Invoices") or [] if isinstance(answer, dict) else []
    return {str(r.get("InvoiceID")): str(r.get("Status") or "") for r in rows if isinstance(r, dict)}

"""The pretend QuickBooks Desktop's answers to the documents we add and look up (sandbox/webconnector.py
hands it these requests of a message set): BillAddRq, VendorCreditAddRq, InvoiceAddRq and
BillQueryRq, VendorCreditQueryRq, InvoiceQueryRq. Sources: docs/providers.md, "Publishing calls"
(Intuit's qbxmlops70.xml, the onscreen reference's statusCodes).

- A reference (VendorRef, CustomerRef, AccountRef, by ListID or FullName) to something the company file
  does not have: statusCode 3140 "There is an invalid reference to QuickBooks …". Customers and items
  for sales invoices: QuickBooks Online's sample ones (sandbox/listdata.py), by their names.
- A RefNumber longer than QuickBooks takes (20 on bills and vendor credits, 11 on invoices): 3070 "The
  string … in the field "RefNumber" is too long."
- Created documents are SandboxBill rows (provider "qbd", the company file's organisation), listed on
  /sandbox/ with the requestID they came with. TxnIDs look like QuickBooks' ("1A2B-1700000000").
- VendorAddRq: a vendor in the company file's list (3100 "The name … of the list element is already in
  use." when a vendor has that name).
- Queries: EntityFilter (ListID or FullName) and RefNumberFilter (StartsWith, Contains, EndsWith) or an
  exact RefNumber; no match is statusCode 1 "A query request did not find a matching object".
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from xml.sax.saxutils import escape

from lxml import etree

from .documents import decimal, parse_day, record_bill
from .listdata import QBO_US_CUSTOMERS, QBO_US_ITEMS, ensure_lists
from .models import SandboxBill, SandboxListEntry

ADDS = {"BillAddRq": "Bill", "VendorCreditAddRq": "VendorCredit", "InvoiceAddRq": "Invoice"}
QUERIES = {"BillQueryRq": "Bill", "VendorCreditQueryRq": "VendorCredit", "InvoiceQueryRq": "Invoice"}
VENDOR_ADD = "VendorAddRq"
REQUESTS = frozenset(ADDS) | frozenset(QUERIES) | {VENDOR_ADD}
NAME_MAX = 41
REF_MAX = {"Bill": 20, "VendorCredit": 20, "Invoice": 11}


def _rs(tag: str, request_id: str, code: str, severity: str, message: str, inner: str = "") -> str:
    head = (
        f'<{tag[:-2]}Rs requestID="{escape(request_id, {chr(34): "&quot;"})}" statusCode="{code}" '
        f'statusSeverity="{severity}" statusMessage="{escape(message, {chr(34): "&quot;"})}"'
    )
    return f"{head}>{inner}</{tag[:-2]}Rs>" if inner else f"{head}/>"


def _find(rows: dict, ref: etree._Element | None) -> SandboxListEntry | None:
    if ref is None:
        return None
    list_id, name = (ref.findtext("ListID") or "").strip(), (ref.findtext("FullName") or "").strip()
    for row in rows.values():
        if (list_id and row.entry_id == list_id) or (name and row.name == name):
            return row if row.status == "ACTIVE" else None
    return None


def _ret(entity: str, bill: SandboxBill) -> str:
    party = "CustomerRef" if entity == "Invoice" else "VendorRef"
    payload = bill.payload or {}
    return (
        f"<{entity}Ret><TxnID>{escape(bill.bill_id)}</TxnID>"
        f"<{party}><ListID>{escape(payload.get('party_id', ''))}</ListID>"
        f"<FullName>{escape(bill.supplier)}</FullName></{party}>"
        f"<TxnDate>{bill.date.isoformat() if bill.date else ''}</TxnDate>"
        f"<RefNumber>{escape(bill.number)}</RefNumber>"
        f"<AmountDue>{bill.total}</AmountDue>"
        + (f"<ExternalGUID>{escape(payload['guid'])}</ExternalGUID>" if payload.get("guid") else "")
        + f"</{entity}Ret>"
    )


def _add(tag: str, rq: etree._Element, org_id: str) -> str:
    entity = ADDS[tag]
    request_id = rq.get("requestID", "")
    add = rq.find(entity + "Add")
    if add is None:
        return _rs(tag, request_id, "3000", "Error", f"The request has no {entity}Add.")
    ensure_lists("qbd", org_id)
    rows = SandboxListEntry.objects.filter(provider="qbd", org_id=org_id)
    accounts = {r.entry_id: r for r in rows if r.kind == "account"}
    vendors = {r.entry_id: r for r in rows if r.kind == "supplier"}
    ref_number = add.findtext("RefNumber") or ""
    if len(ref_number) > REF_MAX[entity]:
        return _rs(
            tag,
            request_id,
            "3070",
            "Error",
            f'The string "{ref_number}" in the field "RefNumber" is too long.',
        )
    party_tag = "CustomerRef" if entity == "Invoice" else "VendorRef"
    party_ref = add.find(party_tag)
    if entity == "Invoice":
        name = (party_ref.findtext("FullName") if party_ref is not None else "") or ""
        party_id = (party_ref.findtext("ListID") if party_ref is not None else "") or ""
        known = QBO_US_CUSTOMERS.get(party_id) or (name if name in QBO_US_CUSTOMERS.values() else "")
        party = (party_id, known) if known else None
    else:
        row = _find(vendors, party_ref)
        party = (row.entry_id, row.name) if row is not None else None
    shown = ""
    if party_ref is not None:
        shown = party_ref.findtext("FullName") or party_ref.findtext("ListID") or ""
    if party is None:
        what = "Customer" if entity == "Invoice" else "Vendor"
        return _rs(
            tag,
            request_id,
            "3140",
            "Error",
            f'There is an invalid reference to QuickBooks {what} "{shown}" in the {entity}. QuickBooks error '
            "message: Invalid argument. The specified record does not exist in the list.",
        )
    total = Decimal("0")
    lines = add.findall("InvoiceLineAdd" if entity == "Invoice" else "ExpenseLineAdd")
    for line in lines:
        if entity == "Invoice":
            item = line.find("ItemRef")
            item_id = (item.findtext("ListID") if item is not None else "") or ""
            item_name = (item.findtext("FullName") if item is not None else "") or ""
            if item_id not in QBO_US_ITEMS and item_name not in QBO_US_ITEMS.values():
                shown_item = item_id or item_name
                return _rs(
                    tag, request_id, "3140", "Error",
                    f'There is an invalid reference to QuickBooks Item "{shown_item}" in the Invoice.',
                )  # fmt: skip
        elif _find(accounts, line.find("AccountRef")) is None:
            ref = line.find("AccountRef")
            shown_account = (
                (ref.findtext("ListID") or ref.findtext("FullName") or "") if ref is not None else ""
            )
            return _rs(
                tag, request_id, "3140", "Error",
                f'There is an invalid reference to QuickBooks Account "{shown_account}" in the {entity}. '
                "QuickBooks error message: Invalid argument. The specified record does not exist in the "
                "list.",
            )  # fmt: skip
        amount = decimal(line.findtext("Amount"))
        if amount is None:
            return _rs(tag, request_id, "3020", "Error", "There was an error when converting the amount.")
        total += amount
    bill = record_bill(
        provider="qbd",
        org_id=org_id,
        kind=entity,
        supplier=party[1],
        number=ref_number,
        on=parse_day(add.findtext("TxnDate")),
        total=total,
        currency="USD",
        status="",
        key=request_id,
        payload={"party_id": party[0], "guid": add.findtext("ExternalGUID") or ""},
        make_id=lambda: f"{uuid.uuid4().hex[:8].upper()}-{int(time.time())}",
    )
    return _rs(tag, request_id, "0", "Info", "Status OK", _ret(entity, bill))


def _query(tag: str, rq: etree._Element, org_id: str) -> str:
    entity = QUERIES[tag]
    request_id = rq.get("requestID", "")
    bills = list(SandboxBill.objects.filter(provider="qbd", org_id=org_id, kind=entity).order_by("pk"))
    entity_filter = rq.find("EntityFilter")
    if entity_filter is not None:
        list_id = entity_filter.findtext("ListID") or ""
        name = entity_filter.findtext("FullName") or ""
        bills = [
            b
            for b in bills
            if (list_id and b.payload.get("party_id") == list_id) or (name and b.supplier == name)
        ]
    exact = rq.findtext("RefNumber")
    if exact is not None:
        bills = [b for b in bills if b.number.casefold() == exact.casefold()]
    ref_filter = rq.find("RefNumberFilter")
    if ref_filter is not None:
        how, wanted = ref_filter.findtext("MatchCriterion") or "", ref_filter.findtext("RefNumber") or ""
        test = {"StartsWith": str.startswith, "Contains": str.__contains__, "EndsWith": str.endswith}.get(how)
        if test is None:
            return _rs(tag, request_id, "3010", "Error", f'"{how}" is not a valid MatchCriterion.')
        bills = [b for b in bills if test(b.number, wanted)]
    if not bills:
        return _rs(
            tag, request_id, "1", "Info", "A query request did not find a matching object in QuickBooks"
        )
    return _rs(tag, request_id, "0", "Info", "Status OK", "".join(_ret(entity, b) for b in bills))


def _vendor_add(rq: etree._Element, org_id: str) -> str:
    """VendorAdd: a new vendor in the company file's list; a name any vendor has already (QuickBooks
    compares names without regard to case) is 3100; no name or a longer one than 41 is refused."""
    request_id = rq.get("requestID", "")
    name = (rq.findtext("VendorAdd/Name") or "").strip()
    if not name:
        return _rs(VENDOR_ADD, request_id, "3000", "Error", "The VendorAdd has no Name.")
    if len(name) > NAME_MAX:
        return _rs(
            VENDOR_ADD, request_id, "3070", "Error", f'The string "{name}" in the field "Name" is too long.'
        )
    ensure_lists("qbd", org_id)
    taken = SandboxListEntry.objects.filter(provider="qbd", org_id=org_id, kind="supplier", name__iexact=name)
    if taken.exists():
        return _rs(
            VENDOR_ADD, request_id, "3100", "Error",
            f'The name "{name}" of the list element is already in use.',
        )  # fmt: skip
    made = SandboxListEntry.objects.create(
        provider="qbd",
        org_id=org_id,
        kind="supplier",
        entry_id=f"{uuid.uuid4().hex[:8].upper()}-{int(time.time())}",
        name=name,
        idempotency_key=request_id,
    )
    ret = (
        f"<VendorRet><ListID>{escape(made.entry_id)}</ListID><Name>{escape(made.name)}</Name>"
        "<IsActive>true</IsActive></VendorRet>"
    )
    return _rs(VENDOR_ADD, request_id, "0", "Info", "Status OK", ret)


def answer(tag: str, rq: etree._Element, org_id: str) -> str:
    """The `…Rs` for one of REQUESTS, against the lists and documents of the company file `org_id`."""
    if tag == VENDOR_ADD:
        return _vendor_add(rq, org_id)
    if tag in ADDS:
        return _add(tag, rq, org_id)
    return _query(tag, rq, org_id)

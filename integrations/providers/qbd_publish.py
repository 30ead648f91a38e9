"""QuickBooks Desktop: the qbXML that creates bills, vendor credits and sales invoices, and the reading
of QuickBooks' answers (builders and parsers only: costs/qbwc_publishing.py queues them for the Web
Connector's sendRequestXML and reads them back in receiveResponseXML). The
outcomes are those of integrations/providers/publishing.py. Sources: docs/providers.md, "Publishing
calls"; docs/publishing-research.md §5 (Intuit's qbxmlops70.xml and the onscreen reference).

- A message set: `<QBXMLMsgsRq onError="continueOnError">`, so one refused document does not stop the
  others; each request carries `requestID` = the document's key (at most 50 characters, Intuit's
  1060; a longer key becomes a digest of itself, as QuickBooks Online's requestid does).
- `BillAddRq` (bills, paid receipts, expense claims), `VendorCreditAddRq` (credit notes),
  `InvoiceAddRq` (sales invoices), elements in the order of Intuit's specification (qbXML is validated
  against it): VendorRef/CustomerRef, TxnDate, DueDate, RefNumber, Memo, ExternalGUID, then the lines.
  `ExternalGUID` (qbXML 8.0 and later) carries a GUID derived from the document's key, so a lookup can
  tell our document from one typed by hand with the same number.
- RefNumber: at most 20 characters on BillAdd and VendorCreditAdd, 11 on InvoiceAdd. QuickBooks
  refuses a longer one (statusCode 3070), so it is Rejected here, before it is queued, saying so.
- An answer is read by its `statusCode` (never the severity text): 0-999 QuickBooks created it (500-999
  with a warning) and its TxnID is the external id; 1010 (system not available) and 3170 (record in
  use) are RetryAfter; any other 1000+ is Rejected with QuickBooks' statusMessage. A request with no
  answer in the response (the answer was lost) is InDoubt.
- In doubt: before the document is ever added again it is looked up (`lookup_query`: BillQuery,
  VendorCreditQuery or InvoiceQuery). qbXML cannot combine an exact RefNumber with a vendor, so the
  query is EntityFilter (the vendor or customer) + RefNumberFilter StartsWith the number, and
  `read_lookup` compares the RefNumber exactly here (and the ExternalGUID, when QuickBooks returns one).
"""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal
from xml.sax.saxutils import escape

from lxml import etree

from .publishing import (
    CREDIT_NOTE,
    SALES_INVOICE,
    TAX_EXCLUSIVE,
    TAX_INCLUSIVE,
    BillData,
    InDoubt,
    Lookup,
    NotFound,
    Outcome,
    Published,
    Rejected,
    RetryAfter,
)

LABEL = "QuickBooks Desktop"
REQUEST_ID_MAX = 50
REF_NUMBER_MAX = {"BillAdd": 20, "VendorCreditAdd": 20, "InvoiceAdd": 11}
NAME_MAX = 41  # a FullName reference (vendor, customer)
RETRY_LATER = {"1010", "3170"}
RETRY_WAIT = 300.0
_GUID_NS = uuid.UUID("5d0b9c56-0f8e-4e0c-9b8a-61c1e0f8a7d3")
_EXTERNAL_GUID_FROM = (8, 0)


def operation_of(bill: BillData) -> str:
    return {CREDIT_NOTE: "VendorCreditAdd", SALES_INVOICE: "InvoiceAdd"}.get(bill.kind, "BillAdd")


def request_id(key: str) -> str:
    return key if len(key) <= REQUEST_ID_MAX else hashlib.sha256(key.encode()).hexdigest()[:REQUEST_ID_MAX]


def external_guid(key: str) -> str:
    return "{" + str(uuid.uuid5(_GUID_NS, key)).upper() + "}"


def _amount(value: Decimal) -> str:
    return f"{Decimal(value).quantize(Decimal('0.01'))}"


def _ref(tag: str, external_id: str, name: str = "") -> str:
    if external_id:
        return f"<{tag}><ListID>{escape(external_id)}</ListID></{tag}>"
    return f"<{tag}><FullName>{escape(name[:NAME_MAX])}</FullName></{tag}>"


def _version(version: str) -> tuple[int, int]:
    try:
        major, minor = version.split(".", 1)
        return int(major), int(minor)
    except ValueError:
        return (0, 0)


def add_request(bill: BillData, *, version: str, country: str = "US") -> str | Rejected:
    """The `<…AddRq>` for one document, or why QuickBooks would refuse it (nothing to queue)."""
    operation = operation_of(bill)
    limit = REF_NUMBER_MAX[operation]
    if len(bill.number) > limit:
        return Rejected(
            f"{LABEL} takes a reference number of at most {limit} characters on this document; "
            f"{bill.number!r} has {len(bill.number)}. Shorten it, then publish again.",
            "3070",
        )
    if not bill.supplier.external_id and not bill.supplier.name:
        return Rejected(f"{LABEL} needs the supplier or customer of the document.", "no_party")
    us = country.upper() in ("", "US")
    guid = (
        f"<ExternalGUID>{external_guid(bill.key)}</ExternalGUID>"
        if _version(version) >= _EXTERNAL_GUID_FROM
        else ""
    )
    head = (
        _ref(
            "CustomerRef" if operation == "InvoiceAdd" else "VendorRef",
            bill.supplier.external_id,
            bill.supplier.name,
        )
        + f"<TxnDate>{bill.date.isoformat()}</TxnDate>"
    )
    due = f"<DueDate>{bill.due_date.isoformat()}</DueDate>" if bill.due_date else ""
    ref = f"<RefNumber>{escape(bill.number)}</RefNumber>" if bill.number else ""
    memo = f"<Memo>{escape(bill.memo[:4095])}</Memo>" if bill.memo else ""
    if operation == "InvoiceAdd":
        if any(not line.item_id for line in bill.lines):
            return Rejected(
                f"{LABEL} puts a sales invoice line on an item: choose one for every line, then publish "
                "again.",
                "no_item",
            )
        lines = "".join(
            "<InvoiceLineAdd>"
            f"{_ref('ItemRef', line.item_id)}<Desc>{escape(line.description[:4095])}</Desc>"
            f"<Quantity>1</Quantity><Rate>{_amount(line.amount)}</Rate><Amount>{_amount(line.amount)}</Amount>"
            + (
                f"<SalesTaxCodeRef><FullName>{escape(line.tax_rate_code)}</FullName></SalesTaxCodeRef>"
                if line.tax_rate_code
                else ""
            )
            + "</InvoiceLineAdd>"
            for line in bill.lines
        )
        # CustomerRef, TxnDate, RefNumber, …, DueDate, …, Memo, …, ExternalGUID, lines (InvoiceAdd order).
        body = head + ref + due + memo + guid + lines
    else:
        if any(not line.account_id for line in bill.lines) or not bill.lines:
            return Rejected(
                f"Every line needs a Category (an account in {LABEL}) before it can be published.",
                "no_account",
            )

        def amount_of(line) -> Decimal:
            # US QuickBooks keeps no tax on a bill line: the line's amount is what is owed, tax included.
            if us and bill.amounts == TAX_EXCLUSIVE:
                return line.amount + (line.tax_amount or Decimal("0"))
            return line.amount

        lines = "".join(
            "<ExpenseLineAdd>"
            f"{_ref('AccountRef', line.account_id)}<Amount>{_amount(amount_of(line))}</Amount>"
            + (f"<Memo>{escape(line.description[:4095])}</Memo>" if line.description else "")
            + (
                f"<SalesTaxCodeRef><FullName>{escape(line.tax_rate_code)}</FullName></SalesTaxCodeRef>"
                if line.tax_rate_code and not us
                else ""
            )
            + "</ExpenseLineAdd>"
            for line in bill.lines
        )
        taxed = (
            ""
            if us
            else f"<IsTaxIncluded>{'true' if bill.amounts == TAX_INCLUSIVE else 'false'}</IsTaxIncluded>"
        )
        if operation == "BillAdd":
            # VendorRef, TxnDate, DueDate, RefNumber, Memo, IsTaxIncluded, ExternalGUID, lines.
            body = head + due + ref + memo + taxed + guid + lines
        else:
            # VendorCreditAdd: VendorRef, TxnDate, RefNumber, Memo, IsTaxIncluded, ExternalGUID, lines.
            body = head + ref + memo + taxed + guid + lines
    rid = escape(request_id(bill.key), {'"': "&quot;"})
    return f'<{operation}Rq requestID="{rid}"><{operation}>{body}</{operation}></{operation}Rq>'


def message_set(requests: list[str], *, version: str) -> str:
    """The qbXML document for the Web Connector: these requests, each answered on its own."""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><?qbxml version="{escape(version)}"?>'
        '<QBXML><QBXMLMsgsRq onError="continueOnError">' + "".join(requests) + "</QBXMLMsgsRq></QBXML>"
    )


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _answers(response_xml: str) -> dict[str, etree._Element] | None:
    """Each `…Rs` of a response by its requestID; None when the response cannot be read."""
    try:
        root = etree.fromstring(response_xml.encode(), parser=_parser())
    except (etree.XMLSyntaxError, ValueError):
        return None
    msgs = root.find("QBXMLMsgsRs")
    if msgs is None:
        return None
    return {rs.get("requestID", ""): rs for rs in msgs.iterchildren(tag=etree.Element)}


def _status(rs: etree._Element) -> tuple[str, str]:
    code = rs.get("statusCode", "")
    return (code if code.isdigit() else "9999"), (rs.get("statusMessage") or "")[:500]


def read_adds(response_xml: str, bills: list[BillData]) -> list[Outcome]:
    """The outcome of each document's add, in the order of `bills`, from receiveResponseXML's answer."""
    answers = _answers(response_xml)
    if answers is None:
        return [InDoubt(f"{LABEL}'s answer could not be read: it may have created the document.")] * len(
            bills
        )
    outcomes: list[Outcome] = []
    for bill in bills:
        rs = answers.get(request_id(bill.key))
        if rs is None:
            outcomes.append(InDoubt(f"{LABEL} did not answer for this document: it may have created it."))
            continue
        code, message = _status(rs)
        if int(code) < 1000:
            txn = rs.findtext(".//TxnID") or ""
            outcomes.append(
                Published(txn) if txn else InDoubt(f"{LABEL} did not say which document it created.")
            )
        elif code in RETRY_LATER:
            outcomes.append(RetryAfter(RETRY_WAIT, f"{LABEL} was busy ({code}: {message})."))
        else:
            outcomes.append(Rejected(f"{LABEL} refused it ({code}): {message}", code))
    return outcomes


# statusCode of an add whose name another list element already has (Q-ERR: "The name … of the list
# element is already in use.").
NAME_IN_USE = "3100"


def vendor_add_request(bill: BillData) -> str:
    """`VendorAddRq` for a supplier QuickBooks may not have yet (we know only its name), sent just before
    the document that names it by FullName in the same continueOnError message set. If QuickBooks has
    the name already (3100) the document still finds it. requestID "vendor-<key>" (made to fit)."""
    rid = escape(request_id(f"vendor-{bill.key}"), {'"': "&quot;"})
    return (
        f'<VendorAddRq requestID="{rid}"><VendorAdd>'
        f"<Name>{escape(bill.supplier.name[:NAME_MAX])}</Name></VendorAdd></VendorAddRq>"
    )


def read_vendor_add(response_xml: str, bill: BillData) -> tuple[str, str] | None:
    """(ListID, Name) of the vendor QuickBooks created for `bill`'s VendorAddRq; None when it created
    none (the name was in use, or no readable answer)."""
    answers = _answers(response_xml)
    rs = answers.get(request_id(f"vendor-{bill.key}")) if answers is not None else None
    if rs is None:
        return None
    code, _ = _status(rs)
    list_id, name = rs.findtext("VendorRet/ListID") or "", rs.findtext("VendorRet/Name") or ""
    return (list_id, name) if int(code) < 1000 and list_id and name else None


def lookup_query(bill: BillData) -> str:
    """The query that finds a document whose add is in doubt: the vendor's (customer's) documents whose
    RefNumber starts with ours. requestID "find-<key>" (made to fit)."""
    query = {"VendorCreditAdd": "VendorCreditQuery", "InvoiceAdd": "InvoiceQuery"}.get(
        operation_of(bill), "BillQuery"
    )
    entity = (
        f"<ListID>{escape(bill.supplier.external_id)}</ListID>"
        if bill.supplier.external_id
        else f"<FullName>{escape(bill.supplier.name[:NAME_MAX])}</FullName>"
    )
    rid = escape(request_id(f"find-{bill.key}"), {'"': "&quot;"})
    return (
        f'<{query}Rq requestID="{rid}">'
        f"<EntityFilter>{entity}</EntityFilter>"
        "<RefNumberFilter><MatchCriterion>StartsWith</MatchCriterion>"
        f"<RefNumber>{escape(bill.number)}</RefNumber></RefNumberFilter>"
        "<IncludeLineItems>false</IncludeLineItems>"
        f"</{query}Rq>"
    )


def read_lookup(response_xml: str, bill: BillData) -> Lookup:
    """Found (its TxnID), NotFound (statusCode 1, "no match", or no document with exactly our number),
    or InDoubt when QuickBooks could not answer. A document carrying another ExternalGUID than ours is
    someone else's with the same number: ours is not there, but sending it would make a second bill
    with that number, which the publishing service must decide about (the outcome says so)."""
    answers = _answers(response_xml)
    rs = answers.get(request_id(f"find-{bill.key}")) if answers is not None else None
    if rs is None:
        return InDoubt(f"{LABEL}'s answer to the lookup could not be read.")
    code, message = _status(rs)
    if code == "1":
        return NotFound(message)
    if int(code) >= 1000:
        return InDoubt(f"{LABEL} could not look the document up ({code}: {message}).")
    ours = external_guid(bill.key).lower()
    same_number = [
        ret for ret in rs.iterchildren(tag=etree.Element) if (ret.findtext("RefNumber") or "") == bill.number
    ]
    for ret in same_number:
        guid = (ret.findtext("ExternalGUID") or "").lower()
        if not guid or guid == ours:
            return Published(ret.findtext("TxnID") or "")
    if same_number:
        return NotFound(
            f"{LABEL} has a document numbered {bill.number!r} for this supplier, not made by Dext Connect."
        )
    return NotFound(f"{LABEL} has no document numbered {bill.number!r} for this supplier.")

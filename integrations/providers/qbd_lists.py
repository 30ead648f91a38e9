"""qbXML for reading a QuickBooks Desktop company file's lists through the Web Connector: the queries
and what their answers say. Protocol only (no models): integrations/qbwc_lists.py decides when to ask
and what an answer means for the connection's lists.

One request per sendRequestXML call, in this order (docs/providers.md, "QuickBooks Desktop's lists"):

- chart of accounts: `AccountQuery` — no iterator (the query has none: OSR XMLOps `AccountQueryRq
  metaData` only), one answer with every account;
- tax rates: `SalesTaxCodeQuery` — no iterator either. A bill's line takes a *sales-tax code*
  (`ExpenseLineAdd/SalesTaxCodeRef`, its `ExpenseLineRet` answers with one), never a sales-tax item:
  `ItemSalesTaxRef` is what sales forms (invoices, sales receipts) carry for the tax to charge, so the
  ListIDs `ItemSalesTaxQuery` returns could not go on a bill;
- suppliers: `VendorQuery` with an iterator: `iterator="Start"` and `MaxReturned`, then
  `iterator="Continue" iteratorID="…"` with the same filters until `iteratorRemainingCount` is 0.
  Iterators exist from qbXML 5.0 and "are only valid for the current QuickBooks session", so a read
  never spans two Web Connector runs.

Every query asks `ActiveStatus` All (inactive entries are learned, and become inactive here too) and,
for an incremental read, `FromModifiedDate`: QuickBooks' own `TimeModified` of the newest entry the
last read returned, with the offset QuickBooks wrote it in (its clock, not ours). Element order follows the
OSR (QuickBooks refuses anything else with 0x80040400): MaxReturned, ActiveStatus, FromModifiedDate,
IncludeRetElement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from lxml import etree

from .lists import ACCOUNT, SUPPLIER, TAX_RATE, EntryData

# Suppliers per iterator page: small enough that an answer stays well within the Web Connector's and
# our request limits (a VendorRet trimmed by IncludeRetElement is a few hundred bytes).
PAGE_SIZE = 500
ITERATORS_FROM = (5, 0)  # the OSR marks iterator/iteratorID "5.0"
INCLUDE_RET_FROM = (4, 0)


@dataclass(frozen=True)
class Query:
    tag: str  # the request's name without "Rq"
    ret: str  # the element each entry comes back in
    iterates: bool
    fields: tuple[str, ...]  # IncludeRetElement: only what we read


QUERIES = {
    ACCOUNT: Query(
        "AccountQuery",
        "AccountRet",
        iterates=False,
        fields=("ListID", "TimeModified", "Name", "FullName", "IsActive", "AccountType", "AccountNumber"),
    ),
    TAX_RATE: Query(
        "SalesTaxCodeQuery",
        "SalesTaxCodeRet",
        iterates=False,
        fields=("ListID", "TimeModified", "Name", "IsActive", "IsTaxable", "Desc"),
    ),
    SUPPLIER: Query(
        "VendorQuery", "VendorRet", iterates=True, fields=("ListID", "TimeModified", "Name", "IsActive")
    ),
}

# AccountRet/AccountType (OSR enum) → (what the choice shows, a cost item may use it, a sales item may).
ACCOUNT_TYPES = {
    "AccountsPayable": ("Accounts payable", False, False),
    "AccountsReceivable": ("Accounts receivable", False, False),
    "Bank": ("Bank", False, False),
    "CostOfGoodsSold": ("Cost of goods sold", True, False),
    "CreditCard": ("Credit card", False, False),
    "Equity": ("Equity", False, False),
    "Expense": ("Expense", True, False),
    "FixedAsset": ("Fixed asset", True, False),
    "Income": ("Income", False, True),
    "LongTermLiability": ("Long term liability", False, False),
    "NonPosting": ("Non-posting", False, False),
    "OtherAsset": ("Other asset", True, False),
    "OtherCurrentAsset": ("Other current asset", True, False),
    "OtherCurrentLiability": ("Other current liability", False, False),
    "OtherExpense": ("Other expense", True, False),
    "OtherIncome": ("Other income", False, True),
}

_VERSION = re.compile(r"(?:[A-Z]{2})?([0-9]{1,2})\.([0-9]{1,2})")


def _version(text: str) -> tuple[int, int]:
    match = _VERSION.fullmatch(text.strip())
    return (int(match[1]), int(match[2])) if match else (0, 0)


@dataclass(frozen=True)
class ListStep:
    """The next request of a read: page `page` (from 1) of `kind`, `since` its FromModifiedDate ("" =
    a full read), `iterator_id` the iterator to continue ("" on the first page)."""

    kind: str
    page: int = 1
    since: str = ""
    iterator_id: str = ""

    @property
    def request_id(self) -> str:
        # Correlates the answer with the request (≤ 50 characters, Q-ERR 1060).
        return f"lists-{self.kind}-{self.page}"


def iterates(kind: str, version: str) -> bool:
    return QUERIES[kind].iterates and _version(version) >= ITERATORS_FROM


def list_query(step: ListStep, *, version: str) -> str:
    """The qbXML message set for `step`, in the company file's qbXML `version`."""
    query = QUERIES[step.kind]
    attributes = f'requestID="{escape(step.request_id)}"'
    elements = []
    if iterates(step.kind, version):
        if step.iterator_id:
            attributes += f' iterator="Continue" iteratorID="{escape(step.iterator_id)}"'
        else:
            attributes += ' iterator="Start"'
        # Every page of an iterator repeats the query's filters.
        elements.append(f"<MaxReturned>{PAGE_SIZE}</MaxReturned>")
    elements.append("<ActiveStatus>All</ActiveStatus>")
    if step.since:
        elements.append(f"<FromModifiedDate>{escape(step.since)}</FromModifiedDate>")
    if _version(version) >= INCLUDE_RET_FROM:
        elements.extend(f"<IncludeRetElement>{name}</IncludeRetElement>" for name in query.fields)
    return (
        f'<?xml version="1.0" encoding="utf-8"?><?qbxml version="{escape(version)}"?>'
        f'<QBXML><QBXMLMsgsRq onError="stopOnError"><{query.tag}Rq {attributes}>'
        + "".join(elements)
        + f"</{query.tag}Rq></QBXMLMsgsRq></QBXML>"
    )


@dataclass(frozen=True)
class ListAnswer:
    """A list query's answer: its status, the entries, and where the iterator stands."""

    status_code: int
    status_message: str
    entries: tuple[EntryData, ...] = ()
    iterator_id: str = ""
    remaining: int = 0

    @property
    def answered(self) -> bool:
        # 0-499 info (1: "No match", an empty list), 500-999 warning with data; 1000+: no data.
        return self.status_code < 1000


def _parse(xml: str) -> etree._Element | None:
    from .qbd import _safe_parser  # one XXE-safe parser for all qbXML we read

    try:
        return etree.fromstring(xml.encode(), parser=_safe_parser())
    except (etree.XMLSyntaxError, ValueError):
        return None


def _int(text: str | None, default: int) -> int:
    return int(text) if text and re.fullmatch(r"[0-9]{1,9}", text) else default


def _modified(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    # QuickBooks writes its local time with the offset; without one, read it as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _text(ret: etree._Element, name: str) -> str:
    return (ret.findtext(name) or "").strip()


def _entry(kind: str, ret: etree._Element) -> EntryData | None:
    list_id = _text(ret, "ListID")
    if not list_id:
        return None
    common = {
        "kind": kind,
        "external_id": list_id,
        "active": _text(ret, "IsActive").lower() != "false",  # optional; absent means active
        "changed_at": _modified(_text(ret, "TimeModified")),
    }
    if kind == ACCOUNT:
        type_ = _text(ret, "AccountType")
        detail, for_costs, for_sales = ACCOUNT_TYPES.get(type_, (type_, True, True))
        return EntryData(
            name=_text(ret, "FullName") or _text(ret, "Name"),  # sub-accounts: "Utilities:Telephone"
            code=_text(ret, "AccountNumber"),
            detail=detail,
            for_costs=for_costs,
            for_sales=for_sales,
            **common,
        )
    if kind == TAX_RATE:
        code = _text(ret, "Name")  # the code itself: "Tax", "Non" (at most 3 characters)
        taxable = _text(ret, "IsTaxable").lower() == "true"
        return EntryData(
            name=_text(ret, "Desc") or code,
            code=code,
            detail="Taxable" if taxable else "Non-taxable",
            **common,
        )
    return EntryData(name=_text(ret, "Name"), **common)


def list_answer_from(response_xml: str, step: ListStep) -> ListAnswer | None:
    """The answer to `step`'s request, or None when the response has none (unreadable, or an answer to
    another request)."""
    root = _parse(response_xml)
    if root is None:
        return None
    query = QUERIES[step.kind]
    rs = next(
        (r for r in root.iter(f"{query.tag}Rs") if r.get("requestID", "") == step.request_id),
        None,
    )
    if rs is None:
        return None
    code = _int(rs.get("statusCode"), 9999)  # unreadable counts as an error, never as success
    entries = tuple(e for e in (_entry(step.kind, ret) for ret in rs.iterfind(query.ret)) if e is not None)
    return ListAnswer(
        status_code=code,
        status_message=(rs.get("statusMessage") or "")[:300],
        entries=entries if code < 1000 else (),
        iterator_id=(rs.get("iteratorID") or "").strip()[:100],
        remaining=_int(rs.get("iteratorRemainingCount"), 0),
    )

"""What the sandbox's pretend QuickBooks (sandbox/webconnector.py `Computer`) answers to the list
queries a Web Connector run hands it: AccountQuery, SalesTaxCodeQuery and VendorQuery, from the company
file's SandboxListEntry rows (sandbox/listdata.py, provider "qbd").

It plays the request processor's rules as documented (docs/providers.md, "What the sandbox's pretend
QuickBooks answers"): elements in the OSR's order and attributes the query has, else the whole message
is refused with 0x80040400 (`QbxmlRefused`); `ActiveStatus` (default ActiveOnly), `FromModifiedDate` /
`ToModifiedDate` (an unreadable date is statusCode 3020), `MaxReturned`, `ListID` / `FullName`,
`IncludeRetElement`; iterators (`iterator="Start"` / `"Continue"`, `iteratorRemainingCount`,
`iteratorID`) that live only as long as the QuickBooks session (an unknown one is statusCode 3391); no
match is statusCode 1. Filters it does not play (NameFilter, AccountType, …) get statusCode 1030 ("not
supported by this implementation"), the sandbox's own limit, so that it never answers as if it had
applied them.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from lxml import etree

from . import listdata
from .models import SandboxListEntry

NO_MATCH = ("1", "Info", "A query request did not find a matching object in QuickBooks")
OK = ("0", "Info", "Status OK")
INTERNAL_ERROR = ("1000", "Error", "There has been an internal error when processing the request.")
UNSUPPORTED = ("1030", "Error", "This request is not supported by this implementation.")
INVALID_DATE = ("3020", "Error", 'There was an error when converting the date value "{}" in the field "{}".')
INVALID_ITERATOR = ("3391", "Error", 'The iteratorID "{}" is not valid.')

_FILTERS = (
    "MaxReturned",
    "ActiveStatus",
    "FromModifiedDate",
    "ToModifiedDate",
    "NameFilter",
    "NameRangeFilter",
)


@dataclass(frozen=True)
class ListQuery:
    kind: str
    ret: str
    iterates: bool
    # The request's elements in the OSR's order (ListID | FullName | the filters), then the rest.
    elements: tuple[str, ...]
    # Each Ret's elements in the OSR's order: what the sandbox can answer.
    ret_elements: tuple[str, ...]


QUERIES = {
    "AccountQueryRq": ListQuery(
        "account",
        "AccountRet",
        iterates=False,
        elements=(
            "ListID",
            "FullName",
            *_FILTERS,
            "AccountType",
            "CurrencyFilter",
            "IncludeRetElement",
            "OwnerID",
        ),
        ret_elements=(
            "ListID",
            "TimeCreated",
            "TimeModified",
            "EditSequence",
            "Name",
            "FullName",
            "IsActive",
            "Sublevel",
            "AccountType",
            "AccountNumber",
        ),  # fmt: skip
    ),
    "SalesTaxCodeQueryRq": ListQuery(
        "tax_rate",
        "SalesTaxCodeRet",
        iterates=False,
        elements=("ListID", "FullName", *_FILTERS, "IncludeRetElement"),
        ret_elements=(
            "ListID",
            "TimeCreated",
            "TimeModified",
            "EditSequence",
            "Name",
            "IsActive",
            "IsTaxable",
            "Desc",
        ),  # fmt: skip
    ),
    "VendorQueryRq": ListQuery(
        "supplier",
        "VendorRet",
        iterates=True,
        elements=(
            "ListID",
            "FullName",
            *_FILTERS,
            "TotalBalanceFilter",
            "CurrencyFilter",
            "ClassFilter",
            "IncludeRetElement",
            "OwnerID",
        ),  # fmt: skip
        ret_elements=("ListID", "TimeCreated", "TimeModified", "EditSequence", "Name", "IsActive"),
    ),
}
_REPEATABLE = {"ListID", "FullName", "AccountType", "IncludeRetElement", "OwnerID"}
_NOT_PLAYED = {
    "NameFilter",
    "NameRangeFilter",
    "AccountType",
    "CurrencyFilter",
    "TotalBalanceFilter",
    "ClassFilter",
}
_ACTIVE_STATUS = {"ActiveOnly", "InactiveOnly", "All"}
# The sandbox's US chart names QuickBooks Online's account types; Desktop's AccountType enum.
_DESKTOP_TYPES = {
    "Income": "Income",
    "Cost of Goods Sold": "CostOfGoodsSold",
    "Expense": "Expense",
    "Other Current Asset": "OtherCurrentAsset",
    "Accounts Payable": "AccountsPayable",
    "Fixed Asset": "FixedAsset",
}


class QbxmlRefused(Exception):
    """The request processor refuses the whole message set (0x80040400)."""


@dataclass
class Iterator:
    """A running iterator: which query started it and the entries it has still to return (the set is
    fixed when it starts)."""

    query: str
    remaining: list[int] = field(default_factory=list)


def _version(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(?:[A-Z]{2})?([0-9]{1,2})\.([0-9]{1,2})", text or "")
    return (int(match[1]), int(match[2])) if match else (0, 0)


def validate(tag: str, rq: etree._Element, version: str) -> None:
    """Refuse (QbxmlRefused) what the qbXML schema does not allow: unknown or misplaced elements,
    attributes the query does not have, values outside an enum, a non-numeric MaxReturned."""
    query = QUERIES[tag]
    allowed_attributes = {"requestID", "metaData"} | ({"iterator", "iteratorID"} if query.iterates else set())
    if set(rq.attrib) - allowed_attributes:
        raise QbxmlRefused
    if rq.get("iterator") is not None:
        if rq.get("iterator") not in ("Start", "Continue") or _version(version) < (5, 0):
            raise QbxmlRefused
    position, seen = -1, []
    for child in rq.iterchildren(etree.Element):
        name = etree.QName(child).localname
        if name not in query.elements:
            raise QbxmlRefused
        index = query.elements.index(name)
        if index < position or (index == position and name not in _REPEATABLE):
            raise QbxmlRefused
        position = index
        seen.append(name)
    if {"ListID", "FullName"} & set(seen) and set(seen) & set(
        query.elements[2 : query.elements.index("IncludeRetElement")]
    ):
        raise QbxmlRefused  # ListID | FullName | the filters: one choice
    if len({"ListID", "FullName"} & set(seen)) > 1:
        raise QbxmlRefused
    if (status := rq.findtext("ActiveStatus")) is not None and status not in _ACTIVE_STATUS:
        raise QbxmlRefused
    if (most := rq.findtext("MaxReturned")) is not None and not re.fullmatch(r"[0-9]{1,9}", most):
        raise QbxmlRefused


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # the pretend computer runs on UTC


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _rs(tag: str, request_id: str, status: tuple[str, str, str], body: str = "", extra: str = "") -> str:
    code, severity, message = status
    return (
        f'<{tag[:-2]}Rs requestID="{escape(request_id)}" statusCode="{code}" statusSeverity="{severity}" '
        f'statusMessage="{escape(message)}"{extra}>{body}</{tag[:-2]}Rs>'
    )


def _matches(org_id: str, query: ListQuery, rq: etree._Element) -> list[int] | tuple[str, str, str]:
    """The pks of the entries the request selects, or the status refusing it."""
    listdata.ensure_lists("qbd", org_id)
    entries = SandboxListEntry.objects.filter(provider="qbd", org_id=org_id, kind=query.kind)
    ids = [t or "" for t in rq.xpath("ListID/text()")]
    names = [t or "" for t in rq.xpath("FullName/text()")]
    if ids:
        return list(entries.filter(entry_id__in=ids).order_by("pk").values_list("pk", flat=True))
    if names:
        return list(entries.filter(name__in=names).order_by("pk").values_list("pk", flat=True))
    if any(rq.find(name) is not None for name in _NOT_PLAYED):
        return UNSUPPORTED
    status = rq.findtext("ActiveStatus") or "ActiveOnly"
    if status == "ActiveOnly":
        entries = entries.filter(status="ACTIVE")
    elif status == "InactiveOnly":
        entries = entries.exclude(status="ACTIVE")
    for name, lookup in (("FromModifiedDate", "updated_at__gte"), ("ToModifiedDate", "updated_at__lte")):
        text = rq.findtext(name)
        if text is None:
            continue
        moment = _moment(text)
        if moment is None:
            code, severity, message = INVALID_DATE
            return (code, severity, message.format(text, name))
        entries = entries.filter(**{lookup: moment})
    return list(entries.order_by("pk").values_list("pk", flat=True))


def _ret(query: ListQuery, entry: SandboxListEntry, wanted: set[str]) -> str:
    created = min(entry.updated_at, listdata.SEEDED_AT)
    values = {
        "ListID": entry.entry_id,
        "TimeCreated": _stamp(created),
        "TimeModified": _stamp(entry.updated_at),
        "EditSequence": str(int(entry.updated_at.timestamp())),
        "Name": entry.code if query.kind == "tax_rate" else entry.name,
        "FullName": entry.name,
        "IsActive": "true" if entry.status == "ACTIVE" else "false",
        "Sublevel": "0",
        "AccountType": _DESKTOP_TYPES.get(
            entry.data.get("AccountType", ""), re.sub(r"[^A-Za-z]", "", entry.data.get("AccountType", ""))
        ),
        "AccountNumber": entry.code,
        "IsTaxable": "true" if entry.data.get("Taxable") else "false",
        "Desc": entry.name,
    }
    body = "".join(
        f"<{name}>{escape(values[name])}</{name}>"
        for name in query.ret_elements
        if (not wanted or name in wanted) and values[name] != ""
    )
    return f"<{query.ret}>{body}</{query.ret}>"


def answer(tag: str, rq: etree._Element, *, org_id: str, version: str, iterators: dict[str, Iterator]) -> str:
    """The `tag` query's answer (an ...Rs element), or QbxmlRefused for the whole message set."""
    validate(tag, rq, version)
    query = QUERIES[tag]
    request_id = rq.get("requestID", "")
    iterator = rq.get("iterator")
    most = int(rq.findtext("MaxReturned")) if rq.findtext("MaxReturned") is not None else None
    iterator_id = ""
    if iterator == "Continue":
        iterator_id = rq.get("iteratorID", "")
        running = iterators.get(iterator_id)
        if running is None or running.query != tag:
            code, severity, message = INVALID_ITERATOR
            return _rs(tag, request_id, (code, severity, message.format(iterator_id)))
        pks = running.remaining
    else:
        selected = _matches(org_id, query, rq)
        if isinstance(selected, tuple):
            return _rs(tag, request_id, selected)
        pks = selected
        if iterator == "Start":
            iterator_id = "{" + str(uuid.uuid4()) + "}"
            iterators[iterator_id] = Iterator(query=tag)
    page, rest = (pks[:most], pks[most:]) if most is not None else (pks, [])
    if iterator:
        iterators[iterator_id].remaining = rest
        if not rest:
            del iterators[iterator_id]
    extra = f' iteratorRemainingCount="{len(rest)}" iteratorID="{iterator_id}"' if iterator else ""
    by_pk = SandboxListEntry.objects.in_bulk(page)
    wanted = set(rq.xpath("IncludeRetElement/text()"))
    body = "".join(_ret(query, by_pk[pk], wanted) for pk in page if pk in by_pk)
    return _rs(tag, request_id, OK if body else NO_MATCH, body, extra)

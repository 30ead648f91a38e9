"""QuickBooks Online's lists, played over HTTP: the query endpoint for Account, TaxCode and Vendor, and
the vendor create. The data are the company's SandboxListEntry rows (sandbox/listdata.py).

What it plays, as Intuit documents it (sources: docs/providers.md, "QuickBooks Online"):
- `GET /v3/company/{realmId}/query?query=<select>` (or POST with the statement as the body). The
  statement is Intuit's query subset, parsed strictly:
  `SELECT * | COUNT(*) FROM <Entity> [WHERE <cond> [AND <cond>]…] [ORDERBY <prop> [ASC|DESC], …]
  [STARTPOSITION n] [MAXRESULTS n]`, conditions `=, <, >, <=, >=, IN (…), LIKE '…%'` (no OR, no
  projections, `%` the only wildcard; a backslash escapes a quote in a string). Anything else is
  Intuit's ValidationFault 4000 "Error parsing query" (QueryParserError); a property Intuit does not
  let you filter on (AcctNum, for one) is 4001 "Invalid query" (QueryValidationError).
- A query answers active entities only, unless its WHERE names `Active` (`Active IN (true, false)`:
  every one). MAXRESULTS above 1000 is answered with 1000. `{"QueryResponse": {"<Entity>": […],
  "startPosition": n, "maxResults": n}, "time": …}`; no match: `{"QueryResponse": {}, …}`.
- Times are written in the company's time zone with its offset (MetaData.LastUpdatedTime), to the
  second, and compared to the second.
- `POST /v3/company/{realmId}/vendor?requestid=…`: a requestid seen before answers with that vendor
  and creates nothing; a DisplayName a vendor already has (active or not, any case) is ValidationFault
  6240 "Duplicate Name Exists Error".
- Bearer token and company checks as companyinfo and bill do (401 without a live token, 403
  AUTHORIZATION for a company the token was not granted).
- Not played: the throttle (429), requestid over 50 characters (Intuit's refusal of it is not
  documented), entities other than these three (answered 4001, saying so).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from . import listdata
from .models import SandboxListEntry, SandboxOrganisation
from .views import _bearer, _unauthorized, logged, qbo_request_note, read_json

# The sandbox companies are in California; Intuit writes a company's times with its offset.
ZONE = ZoneInfo("America/Los_Angeles")
MAX_RESULTS = 1000
DEFAULT_RESULTS = 100
ENTITIES = {
    "account": ("Account", "account"),
    "taxcode": ("TaxCode", "tax_rate"),
    "vendor": ("Vendor", "supplier"),
}
# What each entity lets a query filter and sort on (a subset of Intuit's "filterable" properties; the
# sandbox keeps no others). Types: "s" string, "b" boolean, "t" date-time.
_META = {
    "metadata.createtime": ("MetaData.CreateTime", "t"),
    "metadata.lastupdatedtime": ("MetaData.LastUpdatedTime", "t"),
}
QUERYABLE: dict[str, dict[str, tuple[str, str]]] = {
    "Account": {
        "id": ("Id", "s"),
        "name": ("Name", "s"),
        "fullyqualifiedname": ("FullyQualifiedName", "s"),
        "active": ("Active", "b"),
        "accounttype": ("AccountType", "s"),
        "accountsubtype": ("AccountSubType", "s"),
        "classification": ("Classification", "s"),
        **_META,
    },
    "TaxCode": {
        "id": ("Id", "s"),
        "name": ("Name", "s"),
        "active": ("Active", "b"),
        "taxable": ("Taxable", "b"),
        **_META,
    },
    "Vendor": {"id": ("Id", "s"), "displayname": ("DisplayName", "s"), "active": ("Active", "b"), **_META},
}
CLASSIFICATIONS = {
    "Income": "Revenue",
    "Other Income": "Revenue",
    "Expense": "Expense",
    "Other Expense": "Expense",
    "Cost of Goods Sold": "Expense",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Other Current Liability": "Liability",
    "Long Term Liability": "Liability",
    "Equity": "Equity",
}
DUPLICATE_NAME_DETAIL = (
    "The name supplied already exists. : Another customer, vendor or employee is already using this name. "
    "Please use a different name."
)

# Test-only: entities whose query answers Intuit's 500 from the given page on (1 = every page), as during
# an outage. Tests set it with monkeypatch; it is empty in every real run.
OUTAGE: dict[str, int] = {}


# --- Intuit's answers ---------------------------------------------------------------------------


def intuit_time(value: datetime) -> str:
    return value.astimezone(ZONE).isoformat(timespec="seconds")


def _now() -> str:
    return timezone.now().astimezone(ZONE).isoformat(timespec="milliseconds")


def fault(status: int, fault_type: str, message: str, detail: str, code: str) -> JsonResponse:
    """Intuit's error body (developer.intuit.com error codes; shape as in intuit/QuickBooks-V3-PHP-SDK#8)."""
    error = {"Message": message, "Detail": detail, "code": code}
    return JsonResponse({"Fault": {"Error": [error], "type": fault_type}, "time": _now()}, status=status)


class QueryError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail

    def response(self) -> JsonResponse:
        message = "Error parsing query" if self.code == "4000" else "Invalid query"
        return fault(400, "ValidationFault", message, self.detail, self.code)


def parse_error(detail: str) -> QueryError:
    return QueryError("4000", f"QueryParserError: {detail}")


def invalid(detail: str) -> QueryError:
    return QueryError("4001", f"QueryValidationError: {detail}")


# --- the query language ------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:\\.|[^'\\])*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<op><=|>=|!=|=|<|>)"
    r"|(?P<punct>[*(),])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)
_KEYWORDS = {
    "select",
    "from",
    "where",
    "and",
    "or",
    "orderby",
    "asc",
    "desc",
    "startposition",
    "maxresults",
    "in",
    "like",
    "count",
}


@dataclass
class Token:
    kind: str  # string, number, op, punct, word
    text: str
    column: int

    @property
    def word(self) -> str:
        return self.text.lower() if self.kind == "word" else ""


def tokens_of(statement: str) -> list[Token]:
    found, position = [], 0
    while position < len(statement):
        if statement[position:].strip() == "":
            break
        match = _TOKEN.match(statement, position)
        if match is None or match.end() == position:
            column = len(statement) - len(statement[position:].lstrip()) + 1
            raise parse_error(
                f"Invalid content. Lexical error at line 1, column {column}. "
                f"Encountered: {statement[column - 1]!r}"
            )
        kind = match.lastgroup or "word"
        found.append(Token(kind, match.group(kind), match.start(kind) + 1))
        position = match.end()
    return found


@dataclass
class Condition:
    prop: str
    kind: str  # s, b, t
    op: str  # = < > <= >= in like
    values: list[Any]


@dataclass
class Query:
    entity: str
    count: bool = False
    conditions: list[Condition] = field(default_factory=list)
    order: list[tuple[str, str, bool]] = field(default_factory=list)
    start: int = 1
    max_results: int = DEFAULT_RESULTS
    names_active: bool = False


class Parser:
    def __init__(self, statement: str) -> None:
        if not statement.strip():
            raise parse_error("The query provided was empty")
        self.tokens = tokens_of(statement)
        self.at = 0

    def _peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _next(self, expecting: str) -> Token:
        token = self._peek()
        if token is None:
            raise parse_error(f'Encountered "<EOF>". Was expecting: {expecting}')
        self.at += 1
        return token

    def _keyword(self, word: str) -> None:
        token = self._next(f'"{word}"')
        if token.word != word:
            raise self._unexpected(token, f'"{word}"')

    def _unexpected(self, token: Token, expecting: str) -> QueryError:
        return parse_error(
            f'Encountered " {token.text} " at line 1, column {token.column}. Was expecting: {expecting}'
        )

    def _integer(self) -> int:
        token = self._next("<INTEGER>")
        if token.kind != "number" or not token.text.isdigit():
            raise self._unexpected(token, "<INTEGER>")
        return int(token.text)

    def parse(self) -> Query:
        self._keyword("select")
        token = self._next('"*" or "count"')
        count = False
        if token.word == "count":
            for expected in ("(", "*", ")"):
                got = self._next(f'"{expected}"')
                if got.text != expected:
                    raise self._unexpected(got, f'"{expected}"')
            count = True
        elif token.text != "*":
            # Projections are not supported: SELECT * only.
            raise self._unexpected(token, '"*" or "count"')
        self._keyword("from")
        token = self._next("<IDENTIFIER>")
        if token.kind != "word" or token.word in _KEYWORDS:
            raise self._unexpected(token, "<IDENTIFIER>")
        if token.word not in ENTITIES:
            raise invalid(
                f"the sandbox plays the Account, TaxCode and Vendor entities only, not {token.text}"
            )
        query = Query(entity=ENTITIES[token.word][0], count=count)
        properties = QUERYABLE[query.entity]
        token = self._peek()
        if token is not None and token.word == "where":
            self.at += 1
            while True:
                query.conditions.append(self._condition(properties))
                token = self._peek()
                if token is not None and token.word == "and":
                    self.at += 1
                    continue
                if token is not None and token.word == "or":
                    # Intuit: "The OR operation is not supported in WHERE clauses".
                    raise self._unexpected(token, '"and", "orderby", "startposition", "maxresults" or <EOF>')
                break
        token = self._peek()
        if token is not None and token.word == "orderby":
            self.at += 1
            while True:
                query.order.append(self._order(properties))
                token = self._peek()
                if token is not None and token.text == ",":
                    self.at += 1
                    continue
                break
        token = self._peek()
        if token is not None and token.word == "startposition":
            self.at += 1
            query.start = max(self._integer(), 1)
        token = self._peek()
        if token is not None and token.word == "maxresults":
            self.at += 1
            # More than 1000 is answered with 1000 (docs/providers.md).
            query.max_results = min(self._integer(), MAX_RESULTS)
        token = self._peek()
        if token is not None:
            raise self._unexpected(token, '"and", "orderby", "startposition", "maxresults" or <EOF>')
        query.names_active = any(c.prop == "Active" for c in query.conditions)
        return query

    def _property(self, properties: dict[str, tuple[str, str]]) -> tuple[str, str]:
        token = self._next("<IDENTIFIER>")
        if token.kind != "word" or token.word in _KEYWORDS:
            raise self._unexpected(token, "<IDENTIFIER>")
        if token.word not in properties:
            raise invalid(f"property '{token.text}' is not queryable")
        return properties[token.word]

    def _value(self, kind: str) -> Any:
        token = self._next("<STRING> or <NUMBER> or true/false")
        if token.kind == "string":
            text = re.sub(r"\\(.)", r"\1", token.text[1:-1])
        elif token.kind == "number":
            text = token.text
        elif token.word in {"true", "false"}:
            text = token.word
        else:
            raise self._unexpected(token, "<STRING>")
        if kind == "b":
            if text.lower() not in {"true", "false"}:
                raise invalid(f"value {text} is not a boolean")
            return text.lower() == "true"
        if kind == "t":
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                raise invalid(f"value {text} is not a valid date-time") from None
            moment = moment if moment.tzinfo else moment.replace(tzinfo=ZONE)
            return moment.replace(microsecond=0)
        return text

    def _condition(self, properties: dict[str, tuple[str, str]]) -> Condition:
        prop, kind = self._property(properties)
        token = self._next('"=", "<", ">", "<=", ">=", "in" or "like"')
        if token.word == "in":
            opened = self._next('"("')
            if opened.text != "(":
                raise self._unexpected(opened, '"("')
            values = [self._value(kind)]
            while True:
                token = self._next('"," or ")"')
                if token.text == ")":
                    break
                if token.text != ",":
                    raise self._unexpected(token, '"," or ")"')
                values.append(self._value(kind))
            return Condition(prop, kind, "in", values)
        if token.word == "like":
            if kind != "s":
                raise invalid(f"LIKE applies to text, not to {prop}")
            return Condition(prop, kind, "like", [self._value(kind)])
        if token.kind != "op" or token.text == "!=":
            raise self._unexpected(token, '"=", "<", ">", "<=", ">=", "in" or "like"')
        return Condition(prop, kind, token.text, [self._value(kind)])

    def _order(self, properties: dict[str, tuple[str, str]]) -> tuple[str, str, bool]:
        prop, kind = self._property(properties)
        token = self._peek()
        descending = False
        if token is not None and token.word in {"asc", "desc"}:
            self.at += 1
            descending = token.word == "desc"
        return prop, kind, descending


# --- the company's entities ----------------------------------------------------------------------


def _created(row: SandboxListEntry) -> datetime:
    stamp = (row.data or {}).get("CreateTime")
    return datetime.fromisoformat(stamp) if stamp else min(row.updated_at, listdata.SEEDED_AT)


def entity_of(entity: str, row: SandboxListEntry) -> dict[str, Any]:
    """The row as Intuit answers it (a subset of the entity's properties)."""
    meta = {"CreateTime": intuit_time(_created(row)), "LastUpdatedTime": intuit_time(row.updated_at)}
    common = {"domain": "QBO", "sparse": False, "Id": row.entry_id, "SyncToken": "0", "MetaData": meta}
    active = row.status == "ACTIVE"
    data = row.data or {}
    if entity == "Account":
        account_type = data.get("AccountType", "Expense")
        return {
            **common,
            "Name": row.name,
            "SubAccount": False,
            "FullyQualifiedName": row.name,
            "Active": active,
            "Classification": CLASSIFICATIONS.get(account_type, "Asset"),
            "AccountType": account_type,
            "AccountSubType": data.get("AccountSubType", ""),
            "AcctNum": row.code,
            "CurrentBalance": 0,
            "CurrentBalanceWithSubAccounts": 0,
            "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
        }
    if entity == "TaxCode":
        return {
            **common,
            "Name": row.name,
            "Description": data.get("Description", ""),
            "Active": active,
            "Hidden": False,
            "Taxable": bool(data.get("Taxable", False)),
            "TaxGroup": False,
        }
    return {
        **common,
        "DisplayName": row.name,
        "PrintOnCheckName": row.name,
        "Active": active,
        "Vendor1099": False,
        "Balance": 0,
        "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
    }


def _value_of(entity: dict[str, Any], prop: str, kind: str) -> Any:
    value: Any = entity
    for part in prop.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if kind == "t" and value:
        return datetime.fromisoformat(value)
    return value


def _like(value: str, pattern: str) -> bool:
    regex = "".join(".*" if ch == "%" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value or "", flags=re.IGNORECASE | re.DOTALL) is not None


def _matches(entity: dict[str, Any], condition: Condition) -> bool:
    value = _value_of(entity, condition.prop, condition.kind)
    wanted = condition.values
    if condition.op == "in":
        if condition.kind == "s":
            return str(value).casefold() in {str(w).casefold() for w in wanted}
        return value in wanted
    if condition.op == "like":
        return _like(str(value), wanted[0])
    if value is None:
        return False
    target = wanted[0]
    if condition.kind == "s":
        # Names compare without regard to case, as Intuit's uniqueness of names does.
        value, target = str(value).casefold(), str(target).casefold()
    return {
        "=": value == target,
        "<": value < target,
        ">": value > target,
        "<=": value <= target,
        ">=": value >= target,
    }[condition.op]


def run_query(realm_id: str, query: Query) -> tuple[list[dict[str, Any]], int]:
    """The page of entities the query answers, and how many matched in all."""
    kind = ENTITIES[query.entity.lower()][1]
    rows = SandboxListEntry.objects.filter(provider="qbo", org_id=realm_id, kind=kind).order_by("pk")
    entities = [entity_of(query.entity, row) for row in rows]
    if not query.names_active:
        # "SELECT * FROM Customer" retrieves "all active customers" (Intuit's query articles).
        entities = [e for e in entities if e.get("Active")]
    entities = [e for e in entities if all(_matches(e, c) for c in query.conditions)]
    for prop, kind_, descending in reversed(query.order):
        entities.sort(
            key=lambda e, p=prop, k=kind_: (_value_of(e, p, k) is None, _value_of(e, p, k) or ""),
            reverse=descending,
        )
    page = entities[query.start - 1 : query.start - 1 + query.max_results]
    return page, len(entities)


# --- the endpoints ---------------------------------------------------------------------------------


def _company(request: HttpRequest, realm_id: str):
    """The token's access to the company, or the answer refusing it."""
    access = _bearer(request, "qbo")
    if access is None:
        return _unauthorized(request)
    known = SandboxOrganisation.objects.filter(provider="qbo", org_id=realm_id).exists()
    request.sandbox_orgs = [realm_id] if realm_id in access.org_ids else list(access.org_ids)
    if not known or realm_id not in access.org_ids:
        request.sandbox_note = f"company {realm_id} not authorised for this token"
        return JsonResponse(
            {"Fault": {"Error": [{"Message": "Forbidden"}], "type": "AUTHORIZATION"}}, status=403
        )
    listdata.ensure_lists("qbo", realm_id)
    return None


@csrf_exempt
@require_http_methods(["GET", "POST"])
@logged("qbo")
def qbo_query(request: HttpRequest, realm_id: str) -> HttpResponse:
    refused = _company(request, realm_id)
    if refused is not None:
        return refused
    statement = (
        request.GET.get("query", "") if request.method == "GET" else request.body.decode("utf-8", "replace")
    )
    try:
        query = Parser(statement).parse()
    except QueryError as exc:
        request.sandbox_note = f"query refused ({exc.code}): {statement[:200]}"
        return exc.response()
    page_number = (query.start - 1) // max(query.max_results, 1) + 1
    failing_from = OUTAGE.get(query.entity)
    if failing_from is not None and page_number >= failing_from:
        request.sandbox_note = (
            f"query {query.entity} page {page_number}: service outage (test) [{qbo_request_note(request)}]"
        )
        return fault(
            500,
            "SystemFault",
            "An application error has occurred while processing your request",
            "System Failure Error: An unexpected error occurred while accessing or saving your data.",
            "10000",
        )
    page, matched = run_query(realm_id, query)
    if query.count:
        request.sandbox_note = f"query COUNT(*) {query.entity}: {matched} [{qbo_request_note(request)}]"
        return JsonResponse({"QueryResponse": {"totalCount": matched}, "time": _now()})
    request.sandbox_note = (
        f"query {query.entity} STARTPOSITION {query.start} MAXRESULTS {query.max_results}: "
        f"{len(page)} of {matched}"
        + (" (active and inactive)" if query.names_active else " (active only)")
        + f" [{qbo_request_note(request)}] {statement[:160]}"
    )
    answer: dict[str, Any] = {}
    if page:
        answer = {query.entity: page, "startPosition": query.start, "maxResults": len(page)}
    return JsonResponse({"QueryResponse": answer, "time": _now()})


@csrf_exempt
@require_POST
@logged("qbo")
def qbo_vendor(request: HttpRequest, realm_id: str) -> HttpResponse:
    refused = _company(request, realm_id)
    if refused is not None:
        return refused
    key = request.GET.get("requestid", "")
    with transaction.atomic():
        vendors = SandboxListEntry.objects.select_for_update().filter(
            provider="qbo", org_id=realm_id, kind="supplier"
        )
        if key:
            replay = vendors.filter(idempotency_key=key).first()
            if replay is not None:
                request.sandbox_note = (
                    f"vendor {replay.entry_id} replayed for requestid [{qbo_request_note(request)}]"
                )
                return JsonResponse({"Vendor": entity_of("Vendor", replay), "time": _now()})
        body = read_json(request)
        name = str((body or {}).get("DisplayName") or "").strip() if isinstance(body, dict) else ""
        if not name:
            request.sandbox_note = f"vendor refused: DisplayName missing [{qbo_request_note(request)}]"
            return fault(
                400,
                "ValidationFault",
                "Required param missing, need to supply the required value for the API",
                "Required parameter DisplayName is missing in the request",
                "2020",
            )
        if vendors.filter(name__iexact=name).exists():
            request.sandbox_note = f"vendor refused: {name!r} exists (6240) [{qbo_request_note(request)}]"
            return fault(400, "ValidationFault", "Duplicate Name Exists Error", DUPLICATE_NAME_DETAIL, "6240")
        now = timezone.now()
        row = SandboxListEntry.objects.create(
            provider="qbo",
            org_id=realm_id,
            kind="supplier",
            entry_id=f"pending-{uuid.uuid4()}",
            name=name,
            data={"CreateTime": now.isoformat()},
            updated_at=now,
            idempotency_key=key,
        )
        # Intuit's ids are numbers; from the row's own key, so two creates at once never share one.
        row.entry_id = str(1000 + row.pk)
        row.save(update_fields=["entry_id"])
    request.sandbox_note = f"vendor {row.entry_id} {name!r} created [{qbo_request_note(request)}]"
    return JsonResponse({"Vendor": entity_of("Vendor", row), "time": _now()})

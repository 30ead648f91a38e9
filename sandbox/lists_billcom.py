"""Bill.com's lists, played over HTTP: the chart of accounts and the vendors of the signed-in
organisation (its SandboxListEntry rows, sandbox/listdata.py), and the vendor create.

What it plays, as BILL documents it (sources: docs/providers.md, "Bill.com"):
- `GET /v3/classifications/chart-of-accounts`, `GET /v3/vendors`: the `devKey` and `sessionId` headers
  and the concurrency limit as every call after the login (views.billcom_api); `max` 1 to 100 (20
  when absent), `page` the token of the previous answer's `nextPage`/`prevPage`; an answer is
  `{"results": [...], "nextPage": …, "prevPage": …}`. `filters=field:op:value,…` with the documented
  fields and operators (vendors: developer.bill.com/docs/filterable-fields; chart of accounts: the
  same shape, fields as a BILL SDK lists them), `sort=field:asc|desc`. Archived objects are listed
  too, `archived: true`.
- Refusals in BILL's error list shape, with BILL's codes (developersupport.bill.com "Error codes
  list"): BDC_1129 an invalid parameter value (a `max` over 100, a page token from another query, a
  date BILL does not read), BDC_1130 a field that cannot be filtered on, BDC_1131 an operator the
  field does not take, BDC_1122 a body that is not JSON, BDC_1117 a required field missing, BDC_1119
  an invalid field value.
- `POST /v3/vendors`: `name` (1 to 100 characters) and the `address` object are required
  (developer.bill.com/reference/createvendor). BILL documents no refusal of a second vendor with the
  same name, and no idempotency key: the sandbox refuses neither.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from . import listdata
from .models import BillcomSession, SandboxListEntry
from .views import _billcom_error, billcom_api, logged, read_json

DEFAULT_MAX, MAX = 20, 100
_TIME_OPS = frozenset({"gt", "gte", "lt", "lte"})
_ID_OPS = frozenset({"eq", "ne", "in"})
FILTERS = {
    "vendors": {
        "id": _ID_OPS,
        "archived": frozenset({"eq", "ne"}),
        "name": frozenset({"eq", "sw"}),
        "accountType": frozenset({"eq", "ne", "in", "nin"}),
        "billCurrency": frozenset({"eq", "ne", "in", "nin"}),
        "createdTime": _TIME_OPS,
        "updatedTime": _TIME_OPS,
    },
    "chart-of-accounts": {
        "id": _ID_OPS,
        "archived": frozenset({"eq", "ne"}),
        "name": frozenset({"eq", "sw"}),
        "parentId": _ID_OPS,
        "createdTime": _TIME_OPS,
        "updatedTime": _TIME_OPS,
    },
    # GET /v3/bills (sandbox/bills_billcom.py): the fields publishing's lookup relies on. Whether
    # invoice.invoiceNumber can be filtered on is not in the stored documentation, so it is refused
    # (BDC_1130) and the adapter compares the number itself.
    "bills": {
        "id": _ID_OPS,
        "archived": frozenset({"eq", "ne"}),
        "vendorId": frozenset({"eq", "ne", "in", "nin"}),
        "createdTime": _TIME_OPS,
        "updatedTime": _TIME_OPS,
    },
}
SORTABLE = frozenset({"name", "createdTime", "updatedTime"})
KINDS = {"vendors": "supplier", "chart-of-accounts": "account"}
# The mirrored software's account types as BILL's chart-of-accounts types (account.type).
ACCOUNT_TYPES = {
    # Xero
    "REVENUE": "INCOME",
    "DIRECTCOSTS": "COST_OF_GOODS_SOLD",
    "OVERHEADS": "EXPENSE",
    "DEPRECIATN": "EXPENSE",
    "CURRENT": "OTHER_CURRENT_ASSET",
    "FIXED": "FIXED_ASSET",
    "CURRLIAB": "ACCOUNTS_PAYABLE",
    # QuickBooks
    "Income": "INCOME",
    "Cost of Goods Sold": "COST_OF_GOODS_SOLD",
    "Expense": "EXPENSE",
    "Other Current Asset": "OTHER_CURRENT_ASSET",
    "Fixed Asset": "FIXED_ASSET",
    "Accounts Payable": "ACCOUNTS_PAYABLE",
}
VENDOR_ACCOUNT_TYPES = frozenset({"BUSINESS", "PERSON", "NONE"})

# Test-only: list resources ("vendors", "chart-of-accounts") that answer BILL's server error from the
# given page on (1 = every page), as during an outage. Tests set it with monkeypatch; empty otherwise.
OUTAGE: dict[str, int] = {}


class Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def bill_time(value: datetime) -> str:
    utc = value.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}+00:00"


def _read_time(text: str) -> datetime:
    """A filter's date-time, in the formats BILL lists (yyyy-MM-dd'T'HH:mm:ss.SSSX … yyyy-MM-dd)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Refused("BDC_1129", f"Invalid parameter value for parameter,value: filters, {text}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _split(text: str) -> list[str]:
    """`a:eq:"x, y",b:gte:1` -> ['a:eq:"x, y"', 'b:gte:1']: commas inside double quotes do not split."""
    parts, current, quoted = [], [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return [p for p in parts if p]


def _filters(resource: str, text: str) -> list[tuple[str, str, Any]]:
    allowed = FILTERS[resource]
    found = []
    for part in _split(text):
        field, _, rest = part.partition(":")
        op, _, value = rest.partition(":")
        if field not in allowed:
            raise Refused("BDC_1130", f"Invalid list filter field: {field}")
        if op not in allowed[field]:
            raise Refused("BDC_1131", f"Invalid list filter operator: {op}")
        raw = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
        if field.endswith("Time"):
            found.append((field, op, _read_time(raw)))
        elif op in {"in", "nin"}:
            found.append((field, op, [v.strip() for v in raw.split(",")]))
        else:
            found.append((field, op, raw))
    return found


def _holds(obj: dict[str, Any], field: str, op: str, wanted: Any) -> bool:
    value = obj.get(field)
    if field.endswith("Time"):
        value = datetime.fromisoformat(value)
    elif field == "archived":
        value, wanted = str(value).lower(), str(wanted).lower()
    return {
        "eq": lambda: value == wanted,
        "ne": lambda: value != wanted,
        "in": lambda: value in wanted,
        "nin": lambda: value not in wanted,
        "sw": lambda: str(value or "").startswith(wanted),
        "gt": lambda: value > wanted,
        "gte": lambda: value >= wanted,
        "lt": lambda: value < wanted,
        "lte": lambda: value <= wanted,
    }[op]()


def object_of(resource: str, row: SandboxListEntry) -> dict[str, Any]:
    """The row as BILL answers it (the fields the sandbox keeps)."""
    data = row.data or {}
    created = data.get("createdTime") or bill_time(listdata.SEEDED_AT)
    common = {
        "id": row.entry_id,
        "archived": row.status != "ACTIVE",
        "name": row.name,
        "createdTime": created,
        "updatedTime": bill_time(row.updated_at),
    }
    if resource == "vendors":
        return {
            **common,
            "accountType": data.get("accountType", "BUSINESS"),
            "address": data.get("address") or {},
            "billCurrency": "USD",
        }
    account_type = data.get("accountType", "")
    return {
        **common,
        "description": "",
        "account": {"type": ACCOUNT_TYPES.get(account_type, "UNSPECIFIED"), "number": row.code},
    }


def _token(offset: int, signature: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "q": signature}).encode()).decode().rstrip("=")


def _offset(token: str, signature: str) -> int:
    """A page token's offset; BDC_1129 for one that is not ours or belongs to another query."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, query = int(decoded["o"]), decoded["q"]
    except (ValueError, KeyError, TypeError):
        raise Refused("BDC_1129", f"Invalid parameter value for parameter,value: page, {token}") from None
    if query != signature or offset < 0:
        raise Refused("BDC_1129", f"Invalid parameter value for parameter,value: page, {token}")
    return offset


def list_page(resource: str, org_id: str, params) -> tuple[dict[str, Any], str]:
    """One page of a list answer, and a note for the sandbox log."""
    raw_max = params.get("max", str(DEFAULT_MAX))
    if not raw_max.isdigit() or not 1 <= int(raw_max) <= MAX:
        raise Refused("BDC_1129", f"Invalid parameter value for parameter,value: max, {raw_max}")
    size = int(raw_max)
    filters_text, sort_text = params.get("filters", ""), params.get("sort", "")
    filters = _filters(resource, filters_text) if filters_text else []
    signature = hashlib.sha256(f"{resource}|{filters_text}|{sort_text}|{size}".encode()).hexdigest()[:16]
    offset = _offset(params["page"], signature) if params.get("page") else 0
    rows = SandboxListEntry.objects.filter(provider="billcom", org_id=org_id, kind=KINDS[resource]).order_by(
        "pk"
    )
    objects = [object_of(resource, row) for row in rows]
    objects = [o for o in objects if all(_holds(o, f, op, v) for f, op, v in filters)]
    for part in reversed(_split(sort_text) if sort_text else []):
        field, _, order = part.partition(":")
        if field not in SORTABLE or order not in {"asc", "desc", ""}:
            raise Refused("BDC_1129", f"Invalid parameter value for parameter,value: sort, {part}")
        objects.sort(key=lambda o, f=field: o[f], reverse=order == "desc")
    page = objects[offset : offset + size]
    more = offset + size < len(objects)
    body = {
        "results": page,
        "nextPage": _token(offset + size, signature) if more else None,
        "prevPage": _token(max(offset - size, 0), signature) if offset else None,
    }
    note = f"{resource} page {offset // size + 1} (max {size}): {len(page)} of {len(objects)}" + (
        f" [filters {filters_text}]" if filters_text else ""
    )
    return body, note


def _outage(resource: str, params) -> bool:
    failing_from = OUTAGE.get(resource)
    if failing_from is None:
        return False
    page = 1
    if params.get("page"):
        try:
            decoded = json.loads(base64.urlsafe_b64decode(params["page"] + "=" * (-len(params["page"]) % 4)))
            page = int(decoded["o"]) // max(int(params.get("max", DEFAULT_MAX)), 1) + 1
        except (ValueError, KeyError, TypeError):
            page = 1
    return page >= failing_from


def _answer_list(request: HttpRequest, session: BillcomSession, resource: str) -> HttpResponse:
    org_id = session.user.organisation_id
    listdata.ensure_lists("billcom", org_id)
    if _outage(resource, request.GET):
        request.sandbox_note = f"{resource}: service outage (test)"
        return _billcom_error("BDC_1001", "System error occurred.", 500)
    try:
        body, note = list_page(resource, org_id, request.GET)
    except Refused as exc:
        request.sandbox_note = f"{resource} refused: {exc.code} {exc.message}"
        return _billcom_error(exc.code, exc.message, 400)
    request.sandbox_note = note
    return JsonResponse(body)


@require_GET
@logged("billcom")
@billcom_api
def billcom_chart_of_accounts(request: HttpRequest, session: BillcomSession) -> HttpResponse:
    return _answer_list(request, session, "chart-of-accounts")


@csrf_exempt
@require_http_methods(["GET", "POST"])
@logged("billcom")
@billcom_api
def billcom_vendors(request: HttpRequest, session: BillcomSession) -> HttpResponse:
    if request.method == "GET":
        return _answer_list(request, session, "vendors")
    org_id = session.user.organisation_id
    listdata.ensure_lists("billcom", org_id)
    body = read_json(request)
    if not isinstance(body, dict):
        request.sandbox_note = "vendor refused: body not JSON"
        return _billcom_error("BDC_1122", "Error Parsing Json Object. Please check your request.", 400)
    name = body.get("name")
    problem: tuple[str, str] | None = None
    if not isinstance(name, str) or not name.strip():
        problem = "BDC_1117", "Missing required data for: name"
    elif len(name) > 100:
        problem = "BDC_1119", f"Invalid field,value: name, {name[:40]}…"
    elif not isinstance(body.get("address"), dict):
        problem = "BDC_1117", "Missing required data for: address"
    elif "accountType" in body and body["accountType"] not in VENDOR_ACCOUNT_TYPES:
        problem = "BDC_1119", f"Invalid field,value: accountType, {body['accountType']}"
    if problem:
        request.sandbox_note = f"vendor refused: {problem[0]} {problem[1]}"
        return _billcom_error(problem[0], problem[1], 400)
    now = timezone.now()
    row = SandboxListEntry.objects.create(
        provider="billcom",
        org_id=org_id,
        kind="supplier",
        entry_id=f"009{uuid.uuid4().hex[:17].upper()}",
        name=name,
        data={
            "accountType": body.get("accountType", "NONE"),
            "address": body["address"],
            "createdTime": bill_time(now),
        },
        updated_at=now,
    )
    request.sandbox_note = f"vendor {row.entry_id} {name!r} created"
    return JsonResponse(object_of("vendors", row))

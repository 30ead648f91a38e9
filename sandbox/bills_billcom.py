"""Bill.com's bills, played over HTTP: `POST /v3/bills` and `GET /v3/bills` (developer.bill.com
reference "Create a bill", "List bills"; docs/publishing-research.md §4).

- Every call after the login: the `devKey` and `sessionId` headers and 3 requests at once per
  organisation (views.billcom_api).
- Create: `vendorId` (an active vendor of the organisation), `invoice.invoiceNumber`,
  `invoice.invoiceDate`, `dueDate` (yyyy-MM-dd) and `billLineItems` each with an `amount` are
  required; a line's `chartOfAccountId`, when given, must be an active account of the organisation.
  Refusals in BILL's error list: BDC_1117 a required field missing, BDC_1119 an invalid value,
  BDC_1122 a body that is not JSON.
- BILL has NO idempotency key: an `Idempotency-Key` header (or anything else) is ignored, and BILL
  does not refuse a second bill with the same vendor and invoice number (changelog 2024-05-20). A
  resend makes a second bill: the adapter looks the bill up first.
- List: `max` (1 to 100, 20 by default), `page` tokens (`nextPage`/`prevPage`), `filters` on id,
  archived, vendorId, createdTime, updatedTime (sandbox/lists_billcom.py's rules).
- Fault injection (sandbox/faults.py): "429" answers BDC_1322, "500" BILL's BDC_1001 system error.
"""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import data, faults, listdata
from .bills import with_faults
from .documents import cents, decimal, parse_day, record_bill
from .lists_billcom import DEFAULT_MAX, MAX, Refused, _filters, _holds, _offset, _token, bill_time
from .models import BillcomSession, SandboxBill, SandboxListEntry
from .views import _billcom_error, billcom_api, logged, read_json


def _problem(body: dict, org_id: str) -> tuple[str, str] | None:
    vendor_id = body.get("vendorId")
    invoice = body.get("invoice") if isinstance(body.get("invoice"), dict) else {}
    for present, name in (
        (vendor_id, "vendorId"),
        (invoice.get("invoiceNumber"), "invoice.invoiceNumber"),
        (invoice.get("invoiceDate"), "invoice.invoiceDate"),
        (body.get("dueDate"), "dueDate"),
        (body.get("billLineItems"), "billLineItems"),
    ):
        if not present:
            return "BDC_1117", f"Missing required data for: {name}"
    vendor = SandboxListEntry.objects.filter(
        provider="billcom", org_id=org_id, kind="supplier", entry_id=str(vendor_id)
    ).first()
    if vendor is None or vendor.status != "ACTIVE":
        return "BDC_1119", f"Invalid field,value: vendorId, {vendor_id}"
    for name in ("invoiceDate",):
        if parse_day(invoice.get(name)) is None:
            return "BDC_1119", f"Invalid field,value: invoice.{name}, {invoice.get(name)}"
    if parse_day(body.get("dueDate")) is None:
        return "BDC_1119", f"Invalid field,value: dueDate, {body.get('dueDate')}"
    lines = body.get("billLineItems")
    if not isinstance(lines, list):
        return "BDC_1119", "Invalid field,value: billLineItems"
    accounts = {
        r.entry_id: r
        for r in SandboxListEntry.objects.filter(provider="billcom", org_id=org_id, kind="account")
    }
    for line in lines:
        if not isinstance(line, dict) or decimal(line.get("amount")) is None:
            return "BDC_1117", "Missing required data for: billLineItems.amount"
        account = line.get("chartOfAccountId")
        if account and (account not in accounts or accounts[account].status != "ACTIVE"):
            return "BDC_1119", f"Invalid field,value: billLineItems.chartOfAccountId, {account}"
    return None


def _answer(bill: SandboxBill) -> dict:
    return bill.payload


def _create(request: HttpRequest, session: BillcomSession) -> HttpResponse:
    org_id = session.user.organisation_id
    body = read_json(request)
    if not isinstance(body, dict):
        request.sandbox_note = "bill refused: body not JSON"
        return _billcom_error("BDC_1122", "Error Parsing Json Object. Please check your request.", 400)
    problem = _problem(body, org_id)
    if problem is not None:
        request.sandbox_note = f"bill refused: {problem[0]} {problem[1]}"
        return _billcom_error(*problem, 400)
    vendor = SandboxListEntry.objects.get(
        provider="billcom", org_id=org_id, kind="supplier", entry_id=body["vendorId"]
    )
    total = sum((decimal(line["amount"]) or Decimal("0") for line in body["billLineItems"]), Decimal("0"))
    now = timezone.now()
    bill = record_bill(
        provider="billcom",
        org_id=org_id,
        kind="bill",
        supplier=vendor.name,
        number=str(body["invoice"]["invoiceNumber"]),
        on=parse_day(body["invoice"]["invoiceDate"]),
        total=cents(total),
        currency="USD",
        status="UNASSIGNED",
        # What the request came with, shown on /sandbox/: BILL takes no key, so nothing.
        key="",
        payload={},
        make_id=lambda: f"00n{uuid.uuid4().hex[:17].upper()}",
    )
    bill.payload = {
        **body,
        "id": bill.bill_id,
        "archived": False,
        "vendorName": vendor.name,
        "amount": float(cents(total)),
        "dueAmount": float(cents(total)),
        "billLineItems": [
            {**line, "id": f"00e{hashlib.sha256(f'{bill.bill_id}:{n}'.encode()).hexdigest()[:17].upper()}"}
            for n, line in enumerate(body["billLineItems"])
        ],
        "approvalStatus": "UNASSIGNED",
        "paymentStatus": "UNPAID",
        "createdTime": bill_time(now),
        "updatedTime": bill_time(now),
    }
    bill.save(update_fields=["payload"])
    ignored = (
        " (its Idempotency-Key header ignored: BILL has none)" if "Idempotency-Key" in request.headers else ""
    )
    request.sandbox_note = f"bill {bill.bill_id} created for {vendor.name}, invoice {bill.number}{ignored}"
    return JsonResponse(_answer(bill))


def _list(request: HttpRequest, session: BillcomSession) -> HttpResponse:
    org_id = session.user.organisation_id
    params = request.GET
    try:
        raw_max = params.get("max", str(DEFAULT_MAX))
        if not raw_max.isdigit() or not 1 <= int(raw_max) <= MAX:
            raise Refused("BDC_1129", f"Invalid parameter value for parameter,value: max, {raw_max}")
        size = int(raw_max)
        filters_text = params.get("filters", "")
        filters = _filters("bills", filters_text) if filters_text else []
        signature = hashlib.sha256(f"bills|{filters_text}|{size}".encode()).hexdigest()[:16]
        offset = _offset(params["page"], signature) if params.get("page") else 0
    except Refused as exc:
        request.sandbox_note = f"bills refused: {exc.code} {exc.message}"
        return _billcom_error(exc.code, exc.message, 400)
    bills = [b.payload for b in SandboxBill.objects.filter(provider="billcom", org_id=org_id).order_by("pk")]
    bills = [b for b in bills if all(_holds(b, f, op, v) for f, op, v in filters)]
    page = bills[offset : offset + size]
    more = offset + size < len(bills)
    request.sandbox_note = f"bills page {offset // size + 1} (max {size}): {len(page)} of {len(bills)}" + (
        f" [filters {filters_text}]" if filters_text else ""
    )
    return JsonResponse(
        {
            "results": page,
            "nextPage": _token(offset + size, signature) if more else None,
            "prevPage": _token(max(offset - size, 0), signature) if offset else None,
        }
    )


def _refuse(fault: faults.Fault) -> HttpResponse:
    if fault.kind == "429":
        return _billcom_error(
            data.BILLCOM_CONCURRENCY_LIMIT, "Max number of concurrent requests per organization reached.", 429
        )
    return _billcom_error("BDC_1001", "System error occurred.", 500)


@csrf_exempt
@require_http_methods(["GET", "POST"])
@logged("billcom")
@billcom_api
def billcom_bills(request: HttpRequest, session: BillcomSession) -> HttpResponse:
    listdata.ensure_lists("billcom", session.user.organisation_id)
    if request.method == "GET":
        return _list(request, session)
    return with_faults("billcom", request, _refuse)(lambda: _create(request, session))

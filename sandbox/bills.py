"""The sandbox's create-bill endpoints, one per provider, for the publishing work: each validates like
its provider, answers in its provider's shape, and honours its idempotency key (Xero `Idempotency-Key`
header, QuickBooks Online `requestid` query parameter, Bill.com/ApprovalMax `Idempotency-Key` header):
a retry with the same key gets the first bill back and creates nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from .models import SandboxBill, SandboxOrganisation
from .views import (
    _bearer,
    _billcom_error,
    _unauthorized,
    billcom_api,
    logged,
    qbo_request_note,
    read_json,
    xero_insufficient_scope,
    xero_tenant_connected,
)

MAX_XERO_BATCH = 50


def _create(
    provider: str, org_id: str, key: str, payload: dict, make_id: Callable[[], str] | None
) -> SandboxBill:
    """The bill for this idempotency key, or a new one with id `make_id()` (None: a number taken
    from the row's primary key, unique and never reused)."""
    if key:
        existing = SandboxBill.objects.filter(provider=provider, org_id=org_id, idempotency_key=key).first()
        if existing is not None:
            return existing
    if make_id is not None:
        return SandboxBill.objects.create(
            provider=provider, org_id=org_id, bill_id=make_id(), idempotency_key=key, payload=payload
        )
    bill = SandboxBill.objects.create(
        provider=provider,
        org_id=org_id,
        bill_id=f"pending-{uuid.uuid4()}",
        idempotency_key=key,
        payload=payload,
    )
    bill.bill_id = str(1000 + bill.pk)
    bill.save(update_fields=["bill_id"])
    return bill


def _total(lines: list[dict], amount_key: str) -> float:
    return round(sum(float(line.get(amount_key) or 0) for line in lines), 2)


# --- Xero: PUT/POST /api.xro/2.0/Invoices (xero_accounting.yaml createInvoices) ----------------------


def _xero_problems(invoice: dict) -> list[str]:
    problems = []
    if invoice.get("Type") not in {"ACCPAY", "ACCREC"}:
        problems.append("Invoice Type must be ACCPAY or ACCREC.")
    contact = invoice.get("Contact") or {}
    if not (contact.get("ContactID") or contact.get("Name")):
        problems.append("A Contact must be specified for this type of transaction")
    if not invoice.get("LineItems"):
        problems.append("Invoices must contain at least one line item.")
    return problems


@csrf_exempt
@require_http_methods(["PUT", "POST"])
@logged("xero")
def xero_invoices(request: HttpRequest) -> HttpResponse:
    access = _bearer(request, "xero")
    if access is None:
        return _unauthorized(request)
    # Per-endpoint scopes (granular scopes: Invoices needs accounting.invoices to write).
    if "accounting.invoices" not in access.scope.split():
        request.sandbox_orgs = list(access.org_ids)
        return xero_insufficient_scope(request, "accounting.invoices")
    tenant = request.headers.get("xero-tenant-id", "")
    connected = xero_tenant_connected(access, tenant)
    request.sandbox_orgs = [tenant] if connected else list(access.org_ids)
    if not connected:
        request.sandbox_note = "refused: xero-tenant-id not connected for this token's user"
        return JsonResponse(
            {"Title": "Forbidden", "Status": 403, "Detail": "AuthenticationUnsuccessful"}, status=403
        )
    body = read_json(request)
    invoices = (body or {}).get("Invoices") if isinstance(body, dict) else None
    if not isinstance(invoices, list) or not invoices or len(invoices) > MAX_XERO_BATCH:
        request.sandbox_note = "refused: body must hold 1 to 50 Invoices"
        return JsonResponse(
            {
                "ErrorNumber": 14,
                "Type": "PostDataInvalidException",
                "Message": f"Send between 1 and {MAX_XERO_BATCH} Invoices.",
            },
            status=400,
        )
    problems = [(inv, _xero_problems(inv)) for inv in invoices]
    if any(p for _, p in problems):
        request.sandbox_note = "validation exception"
        return JsonResponse(
            {
                "ErrorNumber": 10,
                "Type": "ValidationException",
                "Message": "A validation exception occurred",
                "Elements": [{**inv, "ValidationErrors": [{"Message": m} for m in p]} for inv, p in problems],
            },
            status=400,
        )
    key = request.headers.get("Idempotency-Key", "")
    created = []
    for index, invoice in enumerate(invoices):
        bill = _create("xero", tenant, f"{key}#{index}" if key else "", invoice, lambda: str(uuid.uuid4()))
        stored = bill.payload
        created.append(
            {
                **stored,
                "InvoiceID": bill.bill_id,
                "Status": stored.get("Status", "DRAFT"),
                "Total": _total(stored.get("LineItems", []), "LineAmount")
                or _total(stored.get("LineItems", []), "UnitAmount"),
                "UpdatedDateUTC": f"/Date({int(bill.created_at.timestamp() * 1000)}+0000)/",
            }
        )
    request.sandbox_note = f"{len(created)} invoice(s) created or replayed"
    return JsonResponse(
        {
            "Id": str(uuid.uuid4()),
            "Status": "OK",
            "ProviderName": "Dext Connect",
            "DateTimeUTC": f"/Date({int(timezone.now().timestamp() * 1000)})/",
            "Invoices": created,
        }
    )


# --- QuickBooks Online: POST /v3/company/{realmId}/bill?requestid= ----------------------------------


@csrf_exempt
@require_POST
@logged("qbo")
def qbo_bill(request: HttpRequest, realm_id: str) -> HttpResponse:
    access = _bearer(request, "qbo")
    if access is None:
        return _unauthorized(request)
    request.sandbox_orgs = [realm_id] if realm_id in access.org_ids else list(access.org_ids)
    if realm_id not in access.org_ids:
        request.sandbox_note = f"company {realm_id} not authorised for this token"
        return JsonResponse(
            {"Fault": {"Error": [{"Message": "Forbidden"}], "type": "AUTHORIZATION"}}, status=403
        )
    body = read_json(request)
    lines = (body or {}).get("Line") if isinstance(body, dict) else None
    vendor = ((body or {}).get("VendorRef") or {}).get("value") if isinstance(body, dict) else None
    if not vendor or not lines:
        request.sandbox_note = f"validation fault [{qbo_request_note(request)}]"
        return _qbo_required_missing("Required parameter VendorRef and Line are missing in the request")
    untyped = [i for i, line in enumerate(lines) if not isinstance(line, dict) or not line.get("DetailType")]
    if untyped:
        # Every line says what kind it is (AccountBasedExpenseLineDetail, ItemBasedExpenseLineDetail).
        request.sandbox_note = f"validation fault: line DetailType missing [{qbo_request_note(request)}]"
        return _qbo_required_missing(
            "Required parameter Line.DetailType is missing in the request", element="Line.DetailType"
        )
    # QuickBooks Online ids are numbers: from the row's own primary key (make_id None), so two bills
    # created at once never get the same one (counting the rows did race).
    bill = _create("qbo", realm_id, request.GET.get("requestid", ""), body, None)
    request.sandbox_note = f"bill {bill.bill_id} created or replayed [{qbo_request_note(request)}]"
    return JsonResponse(
        {
            "Bill": {
                **bill.payload,
                "Id": bill.bill_id,
                "SyncToken": "0",
                "TotalAmt": _total(bill.payload.get("Line", []), "Amount"),
            },
            "time": timezone.now().isoformat(),
        }
    )


def _qbo_required_missing(detail: str, element: str = "") -> JsonResponse:
    """Intuit's ValidationFault 2020 "Required param missing" (developer.intuit.com error codes)."""
    error = {
        "Message": "Required param missing, need to supply the required value for the API",
        "Detail": detail,
        "code": "2020",
    }
    if element:
        error["element"] = element
    return JsonResponse(
        {"Fault": {"Error": [error], "type": "ValidationFault"}, "time": timezone.now().isoformat()},
        status=400,
    )


# --- Bill.com v3: POST /v3/bills -------------------------------------------------------------------


@csrf_exempt
@require_POST
@logged("billcom")
@billcom_api
def billcom_bills(request: HttpRequest, session) -> HttpResponse:
    body = read_json(request)
    if not isinstance(body, dict) or not body.get("vendorId") or not body.get("billLineItems"):
        request.sandbox_note = "bill refused: vendorId and billLineItems are required"
        return _billcom_error("BDC_1001", "vendorId and billLineItems are required.", 400)
    bill = _create(
        "billcom",
        session.user.organisation_id,
        request.headers.get("Idempotency-Key", ""),
        body,
        lambda: f"00n{uuid.uuid4().hex[:17]}",
    )
    request.sandbox_note = f"bill {bill.bill_id} created or replayed"
    return JsonResponse({**bill.payload, "id": bill.bill_id, "approvalStatus": "UNASSIGNED"})


# --- ApprovalMax: POST /api/v1/companies/{companyId}/bills -----------------------------------------


@csrf_exempt
@require_POST
@logged("approvalmax")
def approvalmax_bills(request: HttpRequest, company_id: str) -> HttpResponse:
    access = _bearer(request, "approvalmax")
    if access is None:
        return _unauthorized(request)
    org = SandboxOrganisation.objects.filter(provider="approvalmax", org_id=company_id).first()
    request.sandbox_orgs = [company_id] if company_id in access.org_ids else list(access.org_ids)
    if org is None or company_id not in access.org_ids:
        request.sandbox_note = f"company {company_id} not authorised for this token"
        return JsonResponse({"message": "Company not found or not authorised."}, status=403)
    body = read_json(request)
    if not isinstance(body, dict) or not body.get("supplier") or not body.get("lineItems"):
        request.sandbox_note = "bill refused: supplier and lineItems are required"
        return JsonResponse({"message": "supplier and lineItems are required."}, status=422)
    bill = _create(
        "approvalmax", company_id, request.headers.get("Idempotency-Key", ""), body, lambda: str(uuid.uuid4())
    )
    request.sandbox_note = f"bill {bill.bill_id} sent for approval (or replayed)"
    return JsonResponse({"requestId": bill.bill_id, "status": "OnApproval", "companyId": company_id})

"""ApprovalMax's documented read endpoints for bills, played over HTTP (docs/publishing-research.md §1;
docs/providers.md, "ApprovalMax"). ApprovalMax documents no way for an app to create a bill: the
sandbox has no create endpoint. A bill reaches ApprovalMax the documented way: created in Xero
awaiting approval (Status SUBMITTED), where ApprovalMax pulls it ("Pulling from Xero"; the real one
pulls hourly, the sandbox at once).

- `GET /api/v1/companies/{companyId}/xero/bills` and `…/xero/bills/{requestId}`: the ApprovalMax
  organisation's requests for the bills it pulled from its Xero organisation, with `requestStatus`
  (onApproval, approved, rejected; the values third-party clients observed), paged
  `{"payload": [...], "continuationToken": …}` (`limit` at most 100), filtered by `documentNumber`,
  `requestStatus`, `createdAtOrAfter`. A bill's status in Xero says the decision (ApprovalMax sets an
  approved bill to AUTHORISED and a rejected one back to DRAFT): a test or the demo decides by
  changing the Xero bill's status (SandboxBill.status).
- Bearer token with the organisation; an organisation this token was not granted: 403. ApprovalMax's
  error shape is ASP.NET problem details.
"""

from __future__ import annotations

import base64
import uuid

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from .models import SandboxBill
from .views import _bearer, _unauthorized, logged

# Which Xero organisation each sandbox ApprovalMax organisation is connected to ("Pulling from Xero").
PULLS_FROM_XERO = {
    "a7d0b1c2-0000-4000-8000-000000000001": "3f1e8c2a-6b0d-4c59-9a51-0c1d2e3f4a01",  # Acme
    "a7d0b1c2-0000-4000-8000-000000000004": "3f1e8c2a-6b0d-4c59-9a51-0c1d2e3f4a04",  # Initech
}
STATUS_OF = {"SUBMITTED": "onApproval", "AUTHORISED": "approved", "PAID": "approved", "DRAFT": "rejected"}
MAX_LIMIT = 100
_NS = uuid.UUID("0b5e3a7c-2a44-4f4e-8d1e-5a1f0c7e9b21")


def request_id_of(bill: SandboxBill) -> str:
    return str(uuid.uuid5(_NS, bill.bill_id))


def _problem(status: int, code: str, title: str, detail: str) -> JsonResponse:
    return JsonResponse(
        {
            "type": f"/api/errors/{code}",
            "title": title,
            "status": status,
            "detail": detail,
            "error": {"code": code},
        },
        status=status,
    )


def _request(company_id: str, bill: SandboxBill) -> dict:
    payload = bill.payload or {}
    contact = payload.get("Contact") or {}
    return {
        "requestId": request_id_of(bill),
        "companyId": company_id,
        "documentNumber": bill.number,
        "reference": bill.number,
        "friendlyName": f"{bill.supplier} {bill.number}".strip(),
        "contact": contact.get("Name", bill.supplier),
        "contactId": contact.get("ContactID", ""),
        "total": float(bill.total or 0),
        "currencyCode": bill.currency,
        "amountDue": float(bill.total or 0),
        "requestStatus": STATUS_OF.get(bill.status, "onApproval"),
        "createdAt": bill.created_at.isoformat(),
        "modifiedAt": bill.created_at.isoformat(),
        "externalUrl": None,
        "origin": "xero",
        "xeroInvoiceId": bill.bill_id,
    }


def _pulled(xero_org: str):
    """The bills ApprovalMax pulled: ACCPAY bills created in Xero awaiting approval (and what became of
    them), not drafts created as drafts."""
    return (
        SandboxBill.objects.filter(provider="xero", org_id=xero_org, kind="ACCPAY")
        .filter(payload__Status="SUBMITTED")
        .order_by("created_at", "pk")
    )


@require_GET
@logged("approvalmax")
def approvalmax_bills(request: HttpRequest, company_id: str, request_id: str = "") -> HttpResponse:
    access = _bearer(request, "approvalmax")
    if access is None:
        return _unauthorized(request)
    request.sandbox_orgs = [company_id] if company_id in access.org_ids else list(access.org_ids)
    if company_id not in access.org_ids:
        request.sandbox_note = f"company {company_id} not authorised for this token"
        return _problem(403, "forbidden", "Forbidden", "The company is not available for this token.")
    xero_org = PULLS_FROM_XERO.get(company_id, "")
    requests_ = [_request(company_id, b) for b in _pulled(xero_org)] if xero_org else []
    if request_id:
        found = [r for r in requests_ if r["requestId"] == request_id]
        request.sandbox_note = f"bill request {request_id}: {'found' if found else 'not found'}"
        if not found:
            return _problem(404, "notFound", "Not Found", f"The request {request_id} was not found.")
        return JsonResponse(found[0])
    for name, field in (("documentNumber", "documentNumber"), ("requestStatus", "requestStatus")):
        wanted = request.GET.get(name, "")
        if wanted:
            requests_ = [r for r in requests_ if r[field] == wanted]
    since = request.GET.get("createdAtOrAfter", "")
    if since:
        requests_ = [r for r in requests_ if r["createdAt"] >= since]
    try:
        limit = min(max(int(request.GET.get("limit") or MAX_LIMIT), 1), MAX_LIMIT)
        token = request.GET.get("continuationToken", "")
        offset = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
    except ValueError:
        request.sandbox_note = "refused: invalid limit or continuationToken"
        return _problem(400, "invalidInput", "Invalid input", "limit or continuationToken is not valid.")
    page = requests_[offset : offset + limit]
    more = offset + limit < len(requests_)
    request.sandbox_note = f"{len(page)} of {len(requests_)} bill request(s)"
    return JsonResponse(
        {
            "payload": page,
            "continuationToken": base64.urlsafe_b64encode(str(offset + limit).encode()).decode()
            if more
            else None,
        }
    )

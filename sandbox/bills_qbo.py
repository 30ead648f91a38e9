"""QuickBooks Online's create endpoints for what we publish, played over HTTP:
`POST /v3/company/{realmId}/{bill|vendorcredit|purchase|invoice}?minorversion=75&requestid=…`.

As Intuit documents them (docs/providers.md, "Publishing calls"; docs/publishing-research.md §3):
- `requestid` (per company): a request with a requestid seen before gets the first answer back and
  creates nothing (blogs.intuit.com/2015/04/06/15346); no expiry is documented, and none is played.
- Bill and VendorCredit: `VendorRef` and at least one `Line` with `Amount`; each line
  `DetailType: AccountBasedExpenseLineDetail` with an `AccountRef`. Purchase (a paid receipt):
  `PaymentType` Cash, Check or CreditCard, and `AccountRef` the account it was paid from ("Check must
  specify bank account, CreditCard must specify credit card account"); lines as a bill's. Invoice
  (sales): `CustomerRef`, lines `DetailType: SalesItemLineDetail` with an `ItemRef`; a DocNumber
  already used by another invoice is refused (6140).
- A reference to something the company does not have, or has made inactive (vendor, account, tax
  code, customer, item), is Intuit's 2500 "Invalid Reference Id"; a missing required field 2020
  "Required param missing"; both in Intuit's `Fault` shape, status 400.
- Bearer token and company checks as the lists (401; 403 AUTHORIZATION).
- Fault injection (sandbox/faults.py): "429" answers Intuit's throttle (ThrottleExceeded, 003001).
"""

from __future__ import annotations

import json
from decimal import Decimal

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import faults, listdata
from .bills import remember, remembered, replay, with_faults
from .documents import cents, decimal, parse_day, record_bill
from .lists_qbo import _company, _now, fault
from .models import SandboxBill, SandboxListEntry, SandboxOrganisation
from .views import logged, qbo_request_note, read_json

ENTITIES = {"bill": "Bill", "vendorcredit": "VendorCredit", "purchase": "Purchase", "invoice": "Invoice"}
PAYMENT_TYPES = {"Cash": "Bank", "Check": "Bank", "CreditCard": "Credit Card"}
INVALID_REFERENCE = (
    "Invalid Reference Id : Something you're trying to use has been made inactive. Check the fields with "
    "accounts, customers, items, vendors or employees."
)


class Refusal(Exception):
    def __init__(self, code: str, message: str, detail: str, element: str = "") -> None:
        super().__init__(detail)
        self.code, self.message, self.detail, self.element = code, message, detail, element

    def response(self) -> JsonResponse:
        answer = fault(400, "ValidationFault", self.message, self.detail, self.code)
        if self.element:
            body = json.loads(answer.content)
            body["Fault"]["Error"][0]["element"] = self.element
            return JsonResponse(body, status=400)
        return answer


def _missing(what: str) -> Refusal:
    return Refusal(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {what} is missing in the request",
        element=what,
    )


def _invalid_reference(element: str) -> Refusal:
    return Refusal("2500", "Invalid Reference Id", INVALID_REFERENCE, element=element)


class _Company:
    def __init__(self, realm_id: str) -> None:
        rows = SandboxListEntry.objects.filter(provider="qbo", org_id=realm_id)
        self.realm_id = realm_id
        self.accounts = {r.entry_id: r for r in rows if r.kind == "account"}
        self.tax_codes = {r.entry_id: r for r in rows if r.kind == "tax_rate"}
        self.vendors = {r.entry_id: r for r in rows if r.kind == "supplier"}

    def active(self, table: dict, ref: object, element: str) -> SandboxListEntry:
        value = str((ref or {}).get("value") or "") if isinstance(ref, dict) else ""
        if not value:
            raise _missing(element)
        row = table.get(value)
        if row is None or row.status != "ACTIVE":
            raise _invalid_reference(element)
        return row


def _expense_lines(body: dict, company: _Company) -> Decimal:
    lines = body.get("Line")
    if not isinstance(lines, list) or not lines:
        raise _missing("Line")
    total = Decimal("0")
    for line in lines:
        if not isinstance(line, dict) or not line.get("DetailType"):
            raise _missing("Line.DetailType")
        amount = decimal(line.get("Amount"))
        if amount is None:
            raise _missing("Line.Amount")
        if line["DetailType"] != "AccountBasedExpenseLineDetail":
            raise Refusal(
                "2010",
                "Request has invalid or unsupported property",
                f"Property Name:DetailType specified is unsupported or invalid ({line['DetailType']})",
            )
        detail = line.get("AccountBasedExpenseLineDetail") or {}
        company.active(
            company.accounts, detail.get("AccountRef"), "Line.AccountBasedExpenseLineDetail.AccountRef"
        )
        if detail.get("TaxCodeRef"):
            company.active(
                company.tax_codes, detail["TaxCodeRef"], "Line.AccountBasedExpenseLineDetail.TaxCodeRef"
            )
        total += amount
    return total


def _sales_lines(body: dict) -> Decimal:
    lines = body.get("Line")
    if not isinstance(lines, list) or not lines:
        raise _missing("Line")
    total = Decimal("0")
    for line in lines:
        if not isinstance(line, dict) or line.get("DetailType") != "SalesItemLineDetail":
            raise _missing("Line.SalesItemLineDetail")
        amount = decimal(line.get("Amount"))
        if amount is None:
            raise _missing("Line.Amount")
        item = str(((line.get("SalesItemLineDetail") or {}).get("ItemRef") or {}).get("value") or "")
        if not item:
            raise _missing("Line.SalesItemLineDetail.ItemRef")
        if item not in listdata.QBO_US_ITEMS:
            raise _invalid_reference("Line.SalesItemLineDetail.ItemRef")
        total += amount
    return total


def _validated(entity: str, body: dict, company: _Company) -> tuple[str, Decimal]:
    """(the supplier's or customer's name, the total) of a document Intuit would accept; Refusal
    otherwise."""
    if entity == "Invoice":
        customer = str((body.get("CustomerRef") or {}).get("value") or "")
        if not customer:
            raise _missing("CustomerRef")
        if customer not in listdata.QBO_US_CUSTOMERS:
            raise _invalid_reference("CustomerRef")
        total = _sales_lines(body)
        number = str(body.get("DocNumber") or "")
        if (
            number
            and SandboxBill.objects.filter(
                provider="qbo", org_id=company.realm_id, kind="Invoice", number=number
            ).exists()
        ):
            raise Refusal(
                "6140",
                "Duplicate Document Number Error",
                f"Duplicate Document Number Error : You must specify a different number. This number has "
                f"already been used. DocNumber={number} is assigned to TxnType=Invoice",
            )
        return listdata.QBO_US_CUSTOMERS[customer], total
    if entity == "Purchase":
        payment = body.get("PaymentType")
        if payment not in PAYMENT_TYPES:
            raise _missing("PaymentType")
        account = company.active(company.accounts, body.get("AccountRef"), "AccountRef")
        if account.data.get("AccountType") != PAYMENT_TYPES[payment]:
            raise Refusal(
                "6000",
                "A business validation error has occurred while processing your request",
                "Business Validation Error: Check must specify bank account, CreditCard must specify credit "
                "card account.",
                element="AccountRef",
            )
        vendor = (
            company.active(company.vendors, body["EntityRef"], "EntityRef").name
            if body.get("EntityRef")
            else ""
        )
        return vendor, _expense_lines(body, company)
    vendor = company.active(company.vendors, body.get("VendorRef"), "VendorRef")
    return vendor.name, _expense_lines(body, company)


def _create(request: HttpRequest, realm_id: str, entity: str) -> HttpResponse:
    key = request.GET.get("requestid", "")
    note = qbo_request_note(request)
    with transaction.atomic():
        # One company's creates one at a time (the requestid check and the create together).
        list(SandboxOrganisation.objects.select_for_update().filter(provider="qbo", org_id=realm_id))
        if key:
            earlier = remembered("qbo", realm_id, key, None)
            if earlier is not None:
                request.sandbox_note = f"{entity} replayed for requestid {key} [{note}]"
                return replay(earlier)
        body = read_json(request)
        if not isinstance(body, dict):
            request.sandbox_note = f"{entity} refused: body not JSON [{note}]"
            return fault(
                400, "ValidationFault", "Request has invalid or unsupported property", "Bad JSON", "2010"
            )
        try:
            party, total = _validated(entity, body, _Company(realm_id))
        except Refusal as refusal:
            request.sandbox_note = f"{entity} refused ({refusal.code}): {refusal.detail[:120]} [{note}]"
            response = refusal.response()
        else:
            bill = record_bill(
                provider="qbo",
                org_id=realm_id,
                kind=entity,
                supplier=party,
                number=str(body.get("DocNumber") or ""),
                on=parse_day(body.get("TxnDate")),
                total=cents(total),
                currency=str((body.get("CurrencyRef") or {}).get("value") or "USD"),
                status="",
                key=key,
                payload={},
                make_id=None,
            )
            answer = {
                **body,
                "Id": bill.bill_id,
                "SyncToken": "0",
                "domain": "QBO",
                "TotalAmt": float(cents(total)),
                "MetaData": {"CreateTime": _now(), "LastUpdatedTime": _now()},
            }
            bill.payload = answer
            bill.save(update_fields=["payload"])
            request.sandbox_note = f"{entity} {bill.bill_id} created [requestid {key or 'none'}; {note}]"
            response = JsonResponse({entity: answer, "time": _now()})
        if key:
            # Intuit answers a repeated requestid with the same response, refusals included.
            remember("qbo", realm_id, key, request, response)
    return response


def _throttled(fault_: faults.Fault) -> HttpResponse:
    if fault_.kind == "429":
        return fault(429, "SERVICE", "ThrottleExceeded", "Throttle exceeded: too many requests", "003001")
    return fault(
        500,
        "SystemFault",
        "An application error has occurred while processing your request",
        "System Failure Error: An unexpected error occurred while accessing or saving your data.",
        "10000",
    )


@csrf_exempt
@require_POST
@logged("qbo")
def qbo_create(request: HttpRequest, realm_id: str, entity: str) -> HttpResponse:
    refused = _company(request, realm_id)
    if refused is not None:
        return refused
    name = ENTITIES[entity]
    return with_faults("qbo", request, _throttled)(lambda: _create(request, realm_id, name))

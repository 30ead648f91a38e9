"""The sandbox's receiving side for publishing: what each provider does with a document we create, played
over HTTP with the provider's own validation, limits and answers. This module: Xero, and what every
provider's create endpoint shares (recording the document for /sandbox/, fault injection). The others:
sandbox/bills_qbo.py (QuickBooks Online), sandbox/bills_billcom.py (Bill.com),
sandbox/approvalmax_reads.py (ApprovalMax's documented read endpoints), sandbox/qbdbills.py (the
pretend QuickBooks Desktop's answers to BillAdd & co). Sources: docs/providers.md, "Publishing calls".

Xero (xero_accounting.yaml createInvoices / createCreditNotes / getInvoices / getCreditNotes /
getOrganisations; docs/publishing-research.md §2):
- `PUT|POST /Invoices` and `PUT|POST /CreditNotes`, `summarizeErrors=false`: 200 with each document's
  own result; one that fails validation carries `HasErrors`, `StatusAttributeString: ERROR` and its
  `ValidationErrors`, and the others are created. Without the flag: 400 ValidationException listing
  the failures, while the valid documents of the batch ARE created (Xero staff, provider-research
  §1.2): the hazard the adapter avoids by always sending the flag.
- Validation: ACCPAY/ACCREC (Invoices) or ACCPAYCREDIT/ACCRECCREDIT (CreditNotes); a Contact (its
  ContactID must be the organisation's; a Name finds the active contact of that name or creates one,
  as Xero does); at least one line; a line's AccountCode must be an active account of the chart and
  its TaxType an active rate that applies to the document's side (expenses or revenue); an account
  on every line of a document that is not a DRAFT; ACCREC numbers unique; the organisation's currency
  (GBP) only; Status DRAFT, SUBMITTED or AUTHORISED. Xero's own words (docs/providers.md).
- Limits per organisation, in the database so they hold across processes: 5 calls at once, 60 in a
  minute and 5,000 in a day (sandbox time, sandbox/clock.py). Refused with 429 and
  `X-Rate-Limit-Problem`; the minute and day limits say `Retry-After` (real seconds), the concurrent
  one does not. Checked before the Idempotency-Key, and replays count ("rate-limit checks occur
  before idempotency checks").
- `Idempotency-Key` (at most 128 characters), per app: the same key with the same request within 6
  minutes gets the first answer back (errors included) and nothing is created; the same key with
  another request (method, path or body) is refused with 400 "… is used with a different request.";
  after 6 minutes the key is new again (a resend then creates again: the adapter looks up first).
- A body over 3.5 MB is refused (413); 50 documents a call is Xero's recommendation, not a refusal.
- Lookups: `GET /Invoices?InvoiceNumbers=&ContactIDs=&Statuses=&page=` (100 a page) and
  `GET /CreditNotes?where=CreditNoteNumber=="…" AND Contact.ContactID==guid("…")`.
- `GET /Organisation`: name, base currency and the ShortCode deep links use; and the deep link's
  landing page (`/xero/go/…`, XERO_APP_URL) shows the document.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from . import clock, faults
from .documents import bill_row, cents, decimal, parse_day
from .listdata import ensure_lists
from .models import (
    IssuedToken,
    SandboxApiCall,
    SandboxBill,
    SandboxIdempotentAnswer,
    SandboxListEntry,
    SandboxOrganisation,
)
from .views import _bearer, _unauthorized, logged, read_json, xero_insufficient_scope, xero_tenant_connected
from .visibility import visible_to
from .xero_shapes import envelope, validation_exception, xero_date

# --- shared by every provider's create endpoints ---------------------------------------------------


def fingerprint(request: HttpRequest) -> str:
    """What makes two requests "the same request" for an idempotency key: method, path, body."""
    digest = hashlib.sha256()
    for part in (request.method or "", request.path, request.META.get("QUERY_STRING", "")):
        digest.update(part.encode() + b"\n")
    digest.update(request.body)
    return digest.hexdigest()


def remembered(provider: str, scope: str, key: str, since: datetime | None) -> SandboxIdempotentAnswer | None:
    answers = SandboxIdempotentAnswer.objects.filter(provider=provider, scope=scope, key=key)
    if since is not None:
        answers = answers.filter(created_at__gt=since)
    return answers.order_by("-created_at", "-pk").first()


def remember(provider: str, scope: str, key: str, request: HttpRequest, response: HttpResponse) -> None:
    SandboxIdempotentAnswer.objects.create(
        provider=provider,
        scope=scope,
        key=key,
        fingerprint=fingerprint(request),
        status=response.status_code,
        body=response.content.decode(),
        created_at=clock.now(),
    )


def replay(answer: SandboxIdempotentAnswer) -> HttpResponse:
    return HttpResponse(answer.body, status=answer.status, content_type="application/json")


def with_faults(provider: str, request: HttpRequest, refuse: Callable[[faults.Fault], HttpResponse]):
    """Run a create under the fault a test injected for it (sandbox/faults.py): `refuse(fault)` is the
    provider's answer for "429" and "500"; "timeout" holds the request, then answers 504 having done
    nothing; "dropped" does the work, then holds the answer until the client has given up."""

    def wrap(work: Callable[[], HttpResponse]) -> HttpResponse:
        fault = faults.take(provider, request.path)
        if fault is None:
            return work()
        request.sandbox_fault = fault  # views.logged says when the request is done with
        if fault.kind in ("429", "500"):
            request.sandbox_note = f"fault injected (test): {fault.kind}"
            return refuse(fault)
        if fault.kind == "timeout":
            fault.hold()
            request.sandbox_note = "fault injected (test): held until the client gave up, nothing done"
            return HttpResponse("Gateway Timeout", status=504, content_type="text/plain")
        response = work()  # "dropped": done and committed, then the answer never arrives
        fault.hold()
        request.sandbox_note = (
            f"fault injected (test): answer dropped after the work — {request.sandbox_note}"
        )
        return response

    return wrap


# --- Xero: limits ----------------------------------------------------------------------------------

# https://developer.xero.com/faq/limits: per organisation (tenant) and app.
XERO_CONCURRENT = 5
XERO_PER_MINUTE = 60
XERO_PER_DAY = 5000
# A call still "in progress" after this long was abandoned by a process that died: not counted.
_STALE_CALL = timedelta(minutes=5)


def _xero_rate_limited(problem: str, wait: float | None) -> JsonResponse:
    response = JsonResponse(
        {"Title": "Too Many Requests", "Status": 429, "Detail": f"{problem} rate limit exceeded"}, status=429
    )
    response["X-Rate-Limit-Problem"] = problem
    if wait is not None:
        response["Retry-After"] = str(clock.real_seconds(wait))
    return response


@contextmanager
def xero_call(tenant: str):
    """One call of `tenant` counted against Xero's limits while inside: yields None, or Xero's 429 when
    a limit is reached (and counts nothing)."""
    with transaction.atomic():
        # One organisation's calls are counted one at a time, in every process (a row lock; SQLite's
        # IMMEDIATE transactions serialise anyway).
        list(SandboxOrganisation.objects.select_for_update().filter(provider="xero", org_id=tenant))
        now = clock.now()
        calls = SandboxApiCall.objects.filter(provider="xero", org_id=tenant)
        if calls.filter(finished_at=None, started_at__gt=now - _STALE_CALL).count() >= XERO_CONCURRENT:
            refusal: JsonResponse | None = _xero_rate_limited("Concurrent", None)
        else:
            refusal = None
            for problem, window, limit in (
                ("Minute", timedelta(minutes=1), XERO_PER_MINUTE),
                ("Day", timedelta(days=1), XERO_PER_DAY),
            ):
                recent = calls.filter(started_at__gt=now - window)
                if recent.count() >= limit:
                    oldest = recent.order_by("started_at").values_list("started_at", flat=True)[
                        recent.count() - limit
                    ]
                    refusal = _xero_rate_limited(problem, (oldest + window - now).total_seconds())
                    break
        call = (
            None if refusal else SandboxApiCall.objects.create(provider="xero", org_id=tenant, started_at=now)
        )
    if refusal is not None:
        yield refusal
        return
    try:
        yield None
    finally:
        SandboxApiCall.objects.filter(pk=call.pk).update(finished_at=clock.now())


def _limits_headers(response: HttpResponse, tenant: str) -> HttpResponse:
    now = clock.now()
    calls = SandboxApiCall.objects.filter(provider="xero", org_id=tenant)
    response["X-MinLimit-Remaining"] = str(
        max(0, XERO_PER_MINUTE - calls.filter(started_at__gt=now - timedelta(minutes=1)).count())
    )
    response["X-DayLimit-Remaining"] = str(
        max(0, XERO_PER_DAY - calls.filter(started_at__gt=now - timedelta(days=1)).count())
    )
    return response


# --- Xero: access ----------------------------------------------------------------------------------

INVOICES_WRITE = ("accounting.invoices",)
INVOICES_READ = ("accounting.invoices", "accounting.invoices.read")
SETTINGS_READ = ("accounting.settings", "accounting.settings.read")
MAX_KEY = 128
MAX_BODY = 3_500_000  # "A single POST … has a size limit of 3.5MB"
IDEMPOTENCY_WINDOW = timedelta(minutes=6)
BASE_CURRENCY = "GBP"  # the sandbox's Xero organisations are UK ones (sandbox/listdata.py)


def _xero_access(
    request: HttpRequest, scopes: tuple[str, ...]
) -> tuple[IssuedToken | None, str, HttpResponse | None]:
    access = _bearer(request, "xero")
    if access is None:
        return None, "", _unauthorized(request)
    if not set(scopes) & set(access.scope.split()):
        request.sandbox_orgs = list(access.org_ids)
        return None, "", xero_insufficient_scope(request, scopes[0])
    tenant = request.headers.get("xero-tenant-id", "")
    if not tenant or not xero_tenant_connected(access, tenant):
        request.sandbox_orgs = list(access.org_ids)
        request.sandbox_note = "refused: xero-tenant-id missing or not connected for this token's user"
        return (
            None,
            "",
            JsonResponse(
                {"Title": "Forbidden", "Status": 403, "Detail": "AuthenticationUnsuccessful"}, status=403
            ),
        )
    request.sandbox_orgs = [tenant]
    ensure_lists("xero", tenant)
    return access, tenant, None


# --- Xero: documents -------------------------------------------------------------------------------

# (resource, list key, number field, id field, allowed types)
XERO_DOCUMENTS = {
    "Invoices": ("Invoices", "InvoiceNumber", "InvoiceID", {"ACCPAY", "ACCREC"}),
    "CreditNotes": ("CreditNotes", "CreditNoteNumber", "CreditNoteID", {"ACCPAYCREDIT", "ACCRECCREDIT"}),
}
CREATE_STATUSES = {"DRAFT", "SUBMITTED", "AUTHORISED"}
LINE_AMOUNT_TYPES = {"Exclusive", "Inclusive", "NoTax"}
_SALES_TYPES = {"ACCREC", "ACCRECCREDIT"}


class _Chart:
    """The organisation's lists, read once per request."""

    def __init__(self, tenant: str) -> None:
        rows = SandboxListEntry.objects.filter(provider="xero", org_id=tenant)
        self.tenant = tenant
        self.accounts = {r.code: r for r in rows if r.kind == "account"}
        self.tax_rates = {r.entry_id: r for r in rows if r.kind == "tax_rate"}
        self.contacts = {r.entry_id: r for r in rows if r.kind == "supplier"}
        # Sales invoice numbers created earlier in this request (saved together at its end).
        self.sales_numbers: set[str] = set()

    def contact_named(self, name: str) -> SandboxListEntry:
        """Xero: a contact name alone finds the active contact of that name, or creates it (X-STAFF)."""
        wanted = name.strip().casefold()
        for row in self.contacts.values():
            if row.status == "ACTIVE" and row.name.casefold() == wanted:
                return row
        now = clock.now()
        row = SandboxListEntry.objects.create(
            provider="xero",
            org_id=self.tenant,
            kind="supplier",
            entry_id=str(uuid.uuid4()),
            name=name.strip(),
            data={"IsSupplier": False, "IsCustomer": False},
            updated_at=now,
        )
        self.contacts[row.entry_id] = row
        return row


def _problems(document: dict, resource: str, chart: _Chart) -> tuple[list[str], SandboxListEntry | None]:
    """Xero's validation errors for one document, and its contact."""
    _, number_field, _, types = XERO_DOCUMENTS[resource]
    problems: list[str] = []
    kind = document.get("Type")
    if kind not in types:
        problems.append(f"{resource[:-1]} Type must be one of {', '.join(sorted(types))}.")
    status = document.get("Status") or "DRAFT"
    if status not in CREATE_STATUSES:
        problems.append(f"Status {status} is not valid for a new document.")
    if document.get("LineAmountTypes", "Exclusive") not in LINE_AMOUNT_TYPES:
        problems.append("LineAmountTypes must be Exclusive, Inclusive or NoTax.")
    currency = document.get("CurrencyCode") or BASE_CURRENCY
    if currency != BASE_CURRENCY:
        problems.append(f"Organisation is not subscribed to currency {currency}")
    for field_name in ("Date", "DueDate"):
        if field_name in document and parse_day(document[field_name]) is None:
            problems.append(f"{field_name} is not a valid date.")
    contact = None
    sent = document.get("Contact") if isinstance(document.get("Contact"), dict) else {}
    if sent.get("ContactID"):
        contact = chart.contacts.get(str(sent["ContactID"]))
        if contact is None:
            problems.append("The Contact is invalid.")
        elif contact.status != "ACTIVE":
            problems.append("The contact is archived and cannot be used.")
    elif str(sent.get("Name") or "").strip():
        contact = chart.contact_named(str(sent["Name"]))
    else:
        problems.append("A Contact must be specified for this type of transaction")
    lines = document.get("LineItems")
    if not isinstance(lines, list) or not lines:
        problems.append("Invoices must contain at least one line item.")
        lines = []
    side = "CanApplyToRevenue" if kind in _SALES_TYPES else "CanApplyToExpenses"
    for line in lines:
        if not isinstance(line, dict):
            problems.append("A line item could not be read.")
            continue
        if not str(line.get("Description") or "").strip() and decimal(line.get("UnitAmount")) is None:
            problems.append("Description needs to be at least 1 char long")
        for amount_field in ("Quantity", "UnitAmount", "TaxAmount", "LineAmount"):
            if amount_field in line and decimal(line[amount_field]) is None:
                problems.append(f"{amount_field} must be a number.")
        code = str(line.get("AccountCode") or "")
        if code:
            account = chart.accounts.get(code)
            if account is None:
                problems.append(f"Account code '{code}' is not a valid code for this document.")
            elif account.status != "ACTIVE":
                problems.append(
                    f"Account code '{code}' has been archived, or has been deleted. Each line item must "
                    "reference a valid account."
                )
        elif status != "DRAFT":
            problems.append("Account code or ID must be specified")
        tax = str(line.get("TaxType") or "")
        if tax:
            rate = chart.tax_rates.get(tax)
            if rate is None or rate.status != "ACTIVE" or not rate.data.get(side):
                problems.append(
                    f"The TaxType code {tax} does not exist or cannot be used for this type of transaction"
                )
    if kind == "ACCREC" and document.get(number_field):
        taken = SandboxBill.objects.filter(
            provider="xero", org_id=chart.tenant, kind="ACCREC", number=str(document[number_field])
        ).exclude(status__in=("DELETED", "VOIDED"))
        if str(document[number_field]) in chart.sales_numbers or taken.exists():
            problems.append("Invoice # must be unique.")
    return problems, contact


def _totals(document: dict, chart: _Chart) -> tuple[Decimal, Decimal, Decimal]:
    """(SubTotal, TotalTax, Total) as Xero works them out from the lines."""
    kind = document.get("LineAmountTypes", "Exclusive")
    sub = tax = Decimal("0")
    for line in document.get("LineItems") or []:
        amount = decimal(line.get("LineAmount"))
        if amount is None:
            amount = (decimal(line.get("Quantity")) or Decimal("1")) * (
                decimal(line.get("UnitAmount")) or Decimal("0")
            )
        amount = cents(amount)
        rate_row = chart.tax_rates.get(str(line.get("TaxType") or ""))
        rate = Decimal(str(rate_row.data.get("rate", "0"))) / 100 if rate_row is not None else Decimal("0")
        line_tax = decimal(line.get("TaxAmount"))
        if kind == "NoTax":
            line_tax = Decimal("0")
        elif line_tax is None:
            line_tax = amount * rate if kind == "Exclusive" else amount - amount / (1 + rate)
        line_tax = cents(line_tax)
        sub += amount - line_tax if kind == "Inclusive" else amount
        tax += line_tax
    return sub, tax, sub + tax


def _answer_document(
    document: dict, resource: str, bill: SandboxBill, contact: SandboxListEntry, chart: _Chart
) -> dict:
    _, number_field, id_field, _ = XERO_DOCUMENTS[resource]
    sub, tax, total = _totals(document, chart)
    on = parse_day(document.get("Date")) or timezone.now().date()
    answer = {
        **{k: v for k, v in document.items() if k != "Contact"},
        id_field: bill.bill_id,
        "Type": document.get("Type"),
        "Contact": {"ContactID": contact.entry_id, "Name": contact.name, "ContactStatus": contact.status},
        "Status": document.get("Status") or "DRAFT",
        "LineAmountTypes": document.get("LineAmountTypes", "Exclusive"),
        "CurrencyCode": document.get("CurrencyCode") or BASE_CURRENCY,
        "Date": xero_date(on),
        "DateString": f"{on.isoformat()}T00:00:00",
        "SubTotal": float(sub),
        "TotalTax": float(tax),
        "Total": float(total),
        "AmountDue": float(total),
        "UpdatedDateUTC": xero_date(bill.created_at),
        "HasErrors": False,
        "StatusAttributeString": "OK",
    }
    due = parse_day(document.get("DueDate"))
    if due is not None:
        answer.update({"DueDate": xero_date(due), "DueDateString": f"{due.isoformat()}T00:00:00"})
    answer[number_field] = str(document.get(number_field) or "")
    return answer


def _refused_document(document: dict, problems: list[str]) -> dict:
    """A document Xero did not create: no id, its errors (xero_accounting.yaml `Invoice` HasErrors,
    StatusAttributeString, ValidationErrors)."""
    shown = {
        k: document[k]
        for k in ("Type", "InvoiceNumber", "CreditNoteNumber", "Contact", "Reference")
        if k in document
    }
    return {
        **shown,
        "HasErrors": True,
        "StatusAttributeString": "ERROR",
        "ValidationErrors": [{"Message": m} for m in problems],
    }


def _xero_create(request: HttpRequest, resource: str, access: IssuedToken, tenant: str) -> HttpResponse:
    list_key, number_field, _, _ = XERO_DOCUMENTS[resource]
    key = request.headers.get("Idempotency-Key", "")
    if len(key) > MAX_KEY:
        request.sandbox_note = f"refused: Idempotency-Key longer than {MAX_KEY} characters"
        return validation_exception(
            [{"ValidationErrors": [{"Message": f"Idempotency-Key is longer than {MAX_KEY} characters."}]}]
        )
    if len(request.body) > MAX_BODY:
        request.sandbox_note = "refused: body over 3.5 MB"
        return JsonResponse({"Title": "Request Entity Too Large", "Status": 413}, status=413)
    if key:
        earlier = remembered("xero", access.client_id, key, clock.now() - IDEMPOTENCY_WINDOW)
        if earlier is not None:
            if earlier.fingerprint != fingerprint(request):
                request.sandbox_note = f"refused: Idempotency-Key {key} used with a different request"
                return JsonResponse(
                    {
                        "Title": "Bad Request",
                        "Status": 400,
                        "Detail": f"Idempotency Key: {key} is used with a different request.",
                    },
                    status=400,
                )
            request.sandbox_note = f"replayed the answer kept for Idempotency-Key {key}"
            return replay(earlier)
    body = read_json(request)
    documents = body.get(list_key) if isinstance(body, dict) else None
    if not isinstance(documents, list) or not documents or not all(isinstance(d, dict) for d in documents):
        request.sandbox_note = f"refused: body must hold {list_key}"
        return JsonResponse(
            {
                "ErrorNumber": 14,
                "Type": "PostDataInvalidException",
                "Message": f"Send one or more {list_key}.",
            },
            status=400,
        )
    summarise = request.GET.get("summarizeErrors", "true").lower() != "false"
    chart = _Chart(tenant)
    results: list[dict] = []
    failed: list[dict] = []
    bills: list[SandboxBill] = []
    with transaction.atomic():
        for document in documents:
            problems, contact = _problems(document, resource, chart)
            if problems or contact is None:
                results.append(_refused_document(document, problems))
                failed.append(results[-1])
                continue
            _, _, total = _totals(document, chart)
            bill = bill_row(
                provider="xero",
                org_id=tenant,
                bill_id=str(uuid.uuid4()),
                kind=str(document.get("Type")),
                supplier=contact.name,
                number=str(document.get(number_field) or ""),
                on=parse_day(document.get("Date")),
                total=total,
                currency=document.get("CurrencyCode") or BASE_CURRENCY,
                status=document.get("Status") or "DRAFT",
                key=key,
                payload={},
            )
            bill.payload = _answer_document(document, resource, bill, contact, chart)
            if bill.kind == "ACCREC" and bill.number:
                chart.sales_numbers.add(bill.number)
            bills.append(bill)
            results.append(bill.payload)
        SandboxBill.objects.bulk_create(bills)  # the documents created by this call, in one insert
        made = len(results) - len(failed)
        if summarise and failed:
            # Summarised, Xero answers 400 listing the failures; the valid ones were created all the same.
            response: HttpResponse = validation_exception(failed)
            request.sandbox_note = f"{made} created, {len(failed)} refused, summarised as a 400"
        else:
            response = JsonResponse(envelope(list_key, results))
            request.sandbox_note = f"{made} {list_key.lower()} created, {len(failed)} refused" + (
                f" [Idempotency-Key {key}]" if key else " [no Idempotency-Key]"
            )
        if key:
            remember("xero", access.client_id, key, request, response)
    return response


# --- Xero: lookups ----------------------------------------------------------------------------------

PAGE_SIZE = 100
_WHERE = re.compile(
    r'^\s*CreditNoteNumber\s*==\s*"(?P<number>[^"]*)"(?:\s+AND\s+Contact\.ContactID\s*==\s*guid\("(?P<contact>[0-9a-fA-F-]{36})"\))?\s*$'
)


def _split_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _xero_find(request: HttpRequest, resource: str, tenant: str) -> HttpResponse:
    list_key, number_field, _, types = XERO_DOCUMENTS[resource]
    bills = SandboxBill.objects.filter(provider="xero", org_id=tenant, kind__in=types).order_by(
        "created_at", "pk"
    )
    notes = []
    if resource == "Invoices":
        numbers = _split_list(request.GET.get("InvoiceNumbers", ""))
        contacts = _split_list(request.GET.get("ContactIDs", ""))
        statuses = _split_list(request.GET.get("Statuses", ""))
        ids = _split_list(request.GET.get("IDs", ""))
        if ids:
            bills = bills.filter(bill_id__in=ids)
            notes.append(f"{len(ids)} ID(s)")
        if numbers:
            bills = bills.filter(number__in=numbers)
            notes.append(f"InvoiceNumbers={','.join(numbers)}")
        if statuses:
            bills = bills.filter(status__in=statuses)
        found = [{**b.payload, "Status": b.status} for b in bills]
        if contacts:
            found = [p for p in found if (p.get("Contact") or {}).get("ContactID") in contacts]
            notes.append(f"{len(contacts)} ContactID(s)")
    else:
        where = request.GET.get("where", "")
        match = _WHERE.match(where) if where else None
        if where and match is None:
            request.sandbox_note = (
                "refused: the sandbox understands only where=CreditNoteNumber==… "
                f"[AND Contact.ContactID==guid(…)], not {where!r}"
            )
            return validation_exception([{"ValidationErrors": [{"Message": "Unsupported where filter"}]}])
        found = [b.payload for b in bills]
        if match is not None:
            found = [p for p in found if p.get(number_field) == match["number"]]
            if match["contact"]:
                found = [
                    p
                    for p in found
                    if (p.get("Contact") or {}).get("ContactID", "").lower() == match["contact"].lower()
                ]
            notes.append(f"where {where}")
    page = max(int(request.GET.get("page") or 1), 1) if (request.GET.get("page") or "1").isdigit() else 1
    shown = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    request.sandbox_note = f"{len(shown)} {list_key.lower()} found (page {page}) [{'; '.join(notes)}]"
    return JsonResponse(envelope(list_key, shown))


# --- Xero: the endpoints -----------------------------------------------------------------------------


def _xero_document_view(request: HttpRequest, resource: str) -> HttpResponse:
    writing = request.method in ("PUT", "POST")
    access, tenant, refusal = _xero_access(request, INVOICES_WRITE if writing else INVOICES_READ)
    if refusal is not None:
        return refusal
    with xero_call(tenant) as limited:
        if limited is not None:
            request.sandbox_note = f"refused: {limited['X-Rate-Limit-Problem']} limit reached (429)"
            return limited
        if not writing:
            return _limits_headers(_xero_find(request, resource, tenant), tenant)

        def refuse(fault: faults.Fault) -> HttpResponse:
            if fault.kind == "429":
                return _xero_rate_limited("Minute", fault.retry_after * clock.speed())
            return JsonResponse(
                {"Title": "An error occurred", "Status": 500, "Detail": "Internal Server Error"}, status=500
            )

        response = with_faults("xero", request, refuse)(
            lambda: _xero_create(request, resource, access, tenant)
        )
    return _limits_headers(response, tenant)


@csrf_exempt
@require_http_methods(["GET", "PUT", "POST"])
@logged("xero")
def xero_invoices(request: HttpRequest) -> HttpResponse:
    return _xero_document_view(request, "Invoices")


@csrf_exempt
@require_http_methods(["GET", "PUT", "POST"])
@logged("xero")
def xero_credit_notes(request: HttpRequest) -> HttpResponse:
    return _xero_document_view(request, "CreditNotes")


def short_code(tenant: str) -> str:
    """A Xero organisation's ShortCode ("!" and five characters), fixed per sandbox organisation."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789"
    digest = hashlib.sha256(tenant.encode()).digest()
    return "!" + "".join(alphabet[b % len(alphabet)] for b in digest[:5])


@csrf_exempt
@require_GET
@logged("xero")
def xero_organisation(request: HttpRequest) -> HttpResponse:
    """GET /Organisation (getOrganisations): the fields publishing uses."""
    _, tenant, refusal = _xero_access(request, SETTINGS_READ)
    if refusal is not None:
        return refusal
    with xero_call(tenant) as limited:
        if limited is not None:
            return limited
        org = SandboxOrganisation.objects.filter(provider="xero", org_id=tenant).first()
        request.sandbox_note = "organisation details"
        body = envelope(
            "Organisations",
            [
                {
                    "OrganisationID": tenant,
                    "Name": org.name if org else tenant,
                    "LegalName": org.name if org else tenant,
                    "ShortCode": short_code(tenant),
                    "BaseCurrency": BASE_CURRENCY,
                    "CountryCode": "GB",
                    "OrganisationType": "COMPANY",
                    "OrganisationStatus": "ACTIVE",
                    "IsDemoCompany": False,
                }
            ],
        )
        return _limits_headers(JsonResponse(body), tenant)


# --- deep links: the provider's web app, as far as the sandbox plays it ---------------------------


def _bill_page(request: HttpRequest, provider: str, bill_id: str) -> HttpResponse:
    """A document as the provider's web app would show it, to people who may see its organisation on
    /sandbox/ (sandbox/visibility.py): anyone else gets 404, as for a document that does not exist."""
    bill = SandboxBill.objects.filter(provider=provider, bill_id=bill_id).first()
    if bill is None or not visible_to(request.user).allows(bill.org_id):
        raise Http404("No such document.")
    org = SandboxOrganisation.objects.filter(provider=provider, org_id=bill.org_id).first()
    return render(request, "sandbox/bill.html", {"bill": bill, "organisation": org, "label": provider})


@require_GET
@login_required
def xero_go(request: HttpRequest, page: str) -> HttpResponse:
    """Xero's web app as a deep link reaches it ("Deep link to Xero"), played: the document's page, from
    `organisationlogin/default.aspx?shortcode=…&redirecturl=/AccountsPayable/Edit.aspx?InvoiceID=…` or
    straight from `/AccountsPayable/Edit.aspx?InvoiceID=…` (the organisation selected in Xero)."""
    query = request.GET
    if page.lower() == "organisationlogin/default.aspx":
        query = parse_qs(urlsplit(request.GET.get("redirecturl", "")).query)
        query = {k: v[0] for k, v in query.items()}  # type: ignore[assignment]
    params = {k.lower(): v for k, v in query.items()}
    return _bill_page(request, "xero", params.get("invoiceid") or params.get("creditnoteid") or "")


@require_GET
@login_required
def qbo_app(request: HttpRequest, entity: str) -> HttpResponse:
    """https://app.qbo.intuit.com/app/<entity>?txnId=<Id>, played: the document's page."""
    return _bill_page(request, "qbo", request.GET.get("txnId", ""))

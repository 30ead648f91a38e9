"""Xero's list endpoints in the sandbox (xero_accounting.yaml): GET Accounts, GET TaxRates, GET and PUT
Contacts, over the organisation's SandboxListEntry rows (sandbox/listdata.py), answered in Xero's JSON
shapes with its `/Date(ms+0000)/` dates.

Refused as Xero refuses them:
- no bearer token, or an expired or revoked one: 401 (views._unauthorized);
- a token without the endpoint's scope: 401 `insufficient_scope` (granular scopes,
  https://developer.xero.com/faq/granular-scopes; the spec's `security` blocks: Accounts and TaxRates
  need accounting.settings or accounting.settings.read, reading Contacts accounting.contacts or
  accounting.contacts.read, creating them accounting.contacts);
- a missing `xero-tenant-id`, or a tenant the token's user has not connected to the app: 403
  AuthenticationUnsuccessful (as the Invoices endpoint, sandbox/bills.py);
- PUT Contacts: a contact without a name, or with the name of another active contact: 400
  ValidationException ("The contact name must be unique across all active contacts", Xero's message
  as integrations quote it); an `Idempotency-Key` longer than 128 characters (the spec's limit).

Honoured: `If-Modified-Since` on Accounts and Contacts (entries changed after it; ISO 8601 or an HTTP
date; not on TaxRates, whose spec has no such header), Contacts' `page`/`pageSize` (100 by default) with
the `pagination` object, `includeArchived` (archived contacts are left out without it), `summaryOnly`,
`searchTerm` (case-insensitive, on the name) and `where=Name=="…"`; PUT Contacts' `Idempotency-Key`:
the same key with the same request within 6 minutes returns the contact it created and creates
nothing; with another request it is refused (400 "… is used with a different request."); after 6
minutes the key is new again (then the duplicate-name rule is what stops a second contact).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from .listdata import ensure_lists
from .models import IssuedToken, SandboxListEntry
from .views import _bearer, _unauthorized, logged, read_json, xero_insufficient_scope, xero_tenant_connected
from .xero_shapes import envelope, validation_exception, xero_date

SETTINGS_READ = ("accounting.settings", "accounting.settings.read")
CONTACTS_READ = ("accounting.contacts", "accounting.contacts.read")
CONTACTS_WRITE = ("accounting.contacts",)
PAGE_SIZE, MAX_PAGE_SIZE = 100, 1000
MAX_KEY = 128
# Xero keeps a request's answer under its Idempotency-Key for 6 minutes; after that the key is new
# again (docs/publishing-research.md 2.4, quoting developer.xero.com/documentation/guides/
# idempotent-requests/idempotency). Kept with the contact it created, in `data` (never answered).
IDEMPOTENCY_WINDOW = timedelta(minutes=6)
_KEY_AT, _KEY_REQUEST = "_idempotency_key_at", "_idempotency_request"
# Xero account types by class (xero_accounting.yaml Account.Class).
_CLASS_OF_TYPE = {
    "REVENUE": "REVENUE",
    "SALES": "REVENUE",
    "OTHERINCOME": "REVENUE",
    "DIRECTCOSTS": "EXPENSE",
    "OVERHEADS": "EXPENSE",
    "EXPENSE": "EXPENSE",
    "DEPRECIATN": "EXPENSE",
    "CURRLIAB": "LIABILITY",
    "LIABILITY": "LIABILITY",
    "TERMLIAB": "LIABILITY",
    "EQUITY": "EQUITY",
}


# --- access --------------------------------------------------------------------------------------


def _tenant_for(request: HttpRequest, scopes: tuple[str, ...]) -> tuple[str, HttpResponse | None]:
    """The tenant this request may use, or Xero's refusal."""
    access: IssuedToken | None = _bearer(request, "xero")
    if access is None:
        return "", _unauthorized(request)
    if not set(scopes) & set(access.scope.split()):
        request.sandbox_orgs = list(access.org_ids)
        return "", xero_insufficient_scope(request, scopes[-1])
    tenant = request.headers.get("xero-tenant-id", "")
    if not tenant or not xero_tenant_connected(access, tenant):
        request.sandbox_orgs = list(access.org_ids)
        request.sandbox_note = (
            "refused: xero-tenant-id missing"
            if not tenant
            else "refused: xero-tenant-id not connected for this token's user"
        )
        return "", JsonResponse(
            {"Title": "Forbidden", "Status": 403, "Detail": "AuthenticationUnsuccessful"}, status=403
        )
    request.sandbox_orgs = [tenant]
    ensure_lists("xero", tenant)
    return tenant, None


# --- Xero's shapes -------------------------------------------------------------------------------


def _envelope(key: str, items: list[dict], **extra) -> JsonResponse:
    return JsonResponse(envelope(key, items, **extra))


def _account(row: SandboxListEntry) -> dict:
    type_ = row.data.get("Type", "EXPENSE")
    return {
        "AccountID": row.entry_id,
        "Code": row.code,
        "Name": row.name,
        "Status": row.status,
        "Type": type_,
        "TaxType": row.data.get("TaxType", "NONE"),
        "Class": row.data.get("Class") or _CLASS_OF_TYPE.get(type_, "ASSET"),
        "EnablePaymentsToAccount": False,
        "ShowInExpenseClaims": _CLASS_OF_TYPE.get(type_) == "EXPENSE",
        "ReportingCode": "",
        "HasAttachments": False,
        "UpdatedDateUTC": xero_date(row.updated_at),
        "AddToWatchlist": False,
    }


def _tax_rate(row: SandboxListEntry) -> dict:
    rate = float(row.data.get("rate", "0"))
    return {
        "Name": row.name,
        "TaxType": row.entry_id,
        "ReportTaxType": row.data.get("ReportTaxType", row.entry_id),
        "CanApplyToAssets": bool(row.data.get("CanApplyToExpenses")),
        "CanApplyToEquity": bool(row.data.get("CanApplyToExpenses")),
        "CanApplyToExpenses": bool(row.data.get("CanApplyToExpenses")),
        "CanApplyToLiabilities": True,
        "CanApplyToRevenue": bool(row.data.get("CanApplyToRevenue")),
        "DisplayTaxRate": rate,
        "EffectiveRate": rate,
        "Status": row.status,
        "TaxComponents": [{"Name": "VAT", "Rate": rate, "IsCompound": False, "IsNonRecoverable": False}],
    }


def _contact(row: SandboxListEntry, *, summary: bool = False) -> dict:
    contact = {
        "ContactID": row.entry_id,
        "ContactStatus": row.status,
        "Name": row.name,
        "UpdatedDateUTC": xero_date(row.updated_at),
        "IsSupplier": bool(row.data.get("IsSupplier")),
        "IsCustomer": bool(row.data.get("IsCustomer")),
        "HasAttachments": False,
        "HasValidationErrors": False,
    }
    if not summary:
        contact.update(
            {
                "EmailAddress": row.data.get("EmailAddress", ""),
                "Addresses": [{"AddressType": "STREET"}, {"AddressType": "POBOX"}],
                "Phones": [{"PhoneType": t} for t in ("DEFAULT", "DDI", "FAX", "MOBILE")],
                "ContactGroups": [],
                "ContactPersons": [],
            }
        )
    return contact


# --- filters -------------------------------------------------------------------------------------


def _modified_since(request: HttpRequest) -> datetime | None | str:
    """If-Modified-Since as a UTC time; None when absent; the raw value when it cannot be read."""
    raw = request.headers.get("If-Modified-Since", "").strip()
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return raw
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _changed(request: HttpRequest, rows: QuerySet) -> tuple[QuerySet, str]:
    since = _modified_since(request)
    if since is None:
        return rows, ""
    if isinstance(since, str):
        # Xero's reaction to an unreadable header is not documented: say so, and answer in full.
        return rows, f", If-Modified-Since {since!r} not understood: answered in full"
    return rows.filter(updated_at__gt=since), f", If-Modified-Since {since.isoformat()}"


def _rows(tenant: str, kind: str) -> QuerySet:
    return SandboxListEntry.objects.filter(provider="xero", org_id=tenant, kind=kind).order_by("pk")


def _flag(request: HttpRequest, name: str) -> bool:
    return request.GET.get(name, "").lower() == "true"


def _where_name(where: str) -> str | None:
    """The name of `Name=="…"`, the one `where` form the sandbox understands (None: another form)."""
    text = where.strip()
    if text.startswith('Name=="') and text.endswith('"') and len(text) >= len('Name==""'):
        return text[len('Name=="') : -1]
    return None


# --- endpoints -----------------------------------------------------------------------------------


@csrf_exempt
@require_GET
@logged("xero")
def xero_accounts(request: HttpRequest) -> HttpResponse:
    """GET /Accounts (getAccounts): the whole chart, every status, no paging."""
    tenant, refusal = _tenant_for(request, SETTINGS_READ)
    if refusal is not None:
        return refusal
    rows, note = _changed(request, _rows(tenant, "account"))
    accounts = [_account(r) for r in rows]
    request.sandbox_note = f"{len(accounts)} account(s){note}"
    return _envelope("Accounts", accounts)


@csrf_exempt
@require_GET
@logged("xero")
def xero_tax_rates(request: HttpRequest) -> HttpResponse:
    """GET /TaxRates (getTaxRates): every rate; the spec has no If-Modified-Since here."""
    tenant, refusal = _tenant_for(request, SETTINGS_READ)
    if refusal is not None:
        return refusal
    rates = [_tax_rate(r) for r in _rows(tenant, "tax_rate")]
    asked = "If-Modified-Since" in request.headers
    ignored = ", If-Modified-Since ignored (not on TaxRates)" if asked else ""
    request.sandbox_note = f"{len(rates)} tax rate(s){ignored}"
    return _envelope("TaxRates", rates)


@csrf_exempt
@require_http_methods(["GET", "PUT"])
@logged("xero")
def xero_contacts(request: HttpRequest) -> HttpResponse:
    if request.method == "PUT":
        return _create_contacts(request)
    tenant, refusal = _tenant_for(request, CONTACTS_READ)
    if refusal is not None:
        return refusal
    rows = _rows(tenant, "supplier")
    notes = []
    if not _flag(request, "includeArchived"):
        rows = rows.filter(status="ACTIVE")
    else:
        notes.append("includeArchived")
    rows, changed = _changed(request, rows)
    where = request.GET.get("where", "")
    if where:
        name = _where_name(where)
        if name is None:
            request.sandbox_note = f'refused: the sandbox only understands where=Name=="…", not {where!r}'
            return validation_exception([{"ValidationErrors": [{"Message": "Unsupported where filter"}]}])
        rows = rows.filter(name=name)
        notes.append(f"where Name=={name!r}")
    term = request.GET.get("searchTerm", "")
    if term:
        rows = rows.filter(name__icontains=term)
        notes.append(f"searchTerm={term!r}")
    summary = _flag(request, "summaryOnly")
    if summary:
        notes.append("summaryOnly")
    extra = {}
    page = request.GET.get("page", "")
    if page:
        try:
            number = max(int(page), 1)
            size = min(max(int(request.GET.get("pageSize") or PAGE_SIZE), 1), MAX_PAGE_SIZE)
        except ValueError:
            request.sandbox_note = "refused: page and pageSize must be numbers"
            return validation_exception([{"ValidationErrors": [{"Message": "Invalid page or pageSize"}]}])
        count = rows.count()
        extra["pagination"] = {
            "page": number,
            "pageSize": size,
            "pageCount": (count + size - 1) // size,
            "itemCount": count,
        }
        rows = rows[(number - 1) * size : number * size]
        notes.insert(0, f"page={number} pageSize={size}")
    contacts = [_contact(r, summary=summary) for r in rows]
    request.sandbox_note = f"{len(contacts)} contact(s) [{', '.join(notes)}]{changed}"
    return _envelope("Contacts", contacts, **extra)


def _create_contacts(request: HttpRequest) -> HttpResponse:
    """PUT /Contacts (createContacts) with an optional Idempotency-Key."""
    tenant, refusal = _tenant_for(request, CONTACTS_WRITE)
    if refusal is not None:
        return refusal
    key = request.headers.get("Idempotency-Key", "")
    if len(key) > MAX_KEY:
        request.sandbox_note = f"refused: Idempotency-Key longer than {MAX_KEY} characters"
        return validation_exception(
            [{"ValidationErrors": [{"Message": f"Idempotency-Key is longer than {MAX_KEY} characters."}]}]
        )
    body = read_json(request)
    sent = body.get("Contacts") if isinstance(body, dict) else None
    if not isinstance(sent, list) or not sent or not all(isinstance(c, dict) for c in sent):
        request.sandbox_note = "refused: body must hold Contacts"
        return JsonResponse(
            {"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": "Send one or more Contacts."},
            status=400,
        )
    fingerprint = hashlib.sha256(request.body).hexdigest()
    now = timezone.now()
    with transaction.atomic():
        rows = _rows(tenant, "supplier").select_for_update()
        if key:
            remembered = [_remembered(rows, f"{key}#{i}", now) for i in range(len(sent))]
            if any(remembered):
                if not all(remembered) or any(r.data.get(_KEY_REQUEST) != fingerprint for r in remembered):
                    request.sandbox_note = "refused: Idempotency-Key used with a different request"
                    return JsonResponse(
                        {
                            "Title": "Bad Request",
                            "Status": 400,
                            "Detail": f"Idempotency Key {key} is used with a different request.",
                        },
                        status=400,
                    )
                request.sandbox_note = f"{len(remembered)} contact(s) replayed for the Idempotency-Key"
                return _envelope("Contacts", [_contact(r) for r in remembered])
        problems = [(c, _contact_problems(rows, c)) for c in sent]
        if any(p for _, p in problems):
            request.sandbox_note = "validation exception: " + "; ".join(m for _, p in problems for m in p)
            return validation_exception(
                [
                    {**c, "HasValidationErrors": bool(p), "ValidationErrors": [{"Message": m} for m in p]}
                    for c, p in problems
                ]
            )
        created = [
            SandboxListEntry.objects.create(
                provider="xero",
                org_id=tenant,
                kind="supplier",
                entry_id=str(uuid.uuid4()),
                name=str(c["Name"]).strip(),
                status="ACTIVE",
                # IsSupplier: Xero sets it once a bill exists for the contact, not on create.
                data={
                    "IsSupplier": False,
                    "IsCustomer": False,
                    **({_KEY_AT: now.isoformat(), _KEY_REQUEST: fingerprint} if key else {}),
                },
                updated_at=now,
                idempotency_key=f"{key}#{i}" if key else "",
            )
            for i, c in enumerate(sent)
        ]
    request.sandbox_note = f"{len(created)} contact(s) created"
    return _envelope("Contacts", [_contact(r) for r in created])


def _remembered(rows: QuerySet, key: str, now: datetime) -> SandboxListEntry | None:
    """The contact a request with this key created while Xero still remembers the key (6 minutes)."""
    entry = rows.filter(idempotency_key=key).order_by("-pk").first()
    if entry is None or not entry.data.get(_KEY_AT):
        return None
    return entry if now - datetime.fromisoformat(entry.data[_KEY_AT]) < IDEMPOTENCY_WINDOW else None


def _contact_problems(rows: QuerySet, contact: dict) -> list[str]:
    name = str(contact.get("Name") or "").strip()
    if not name:
        return ["Contact Name cannot be empty."]
    if rows.filter(status="ACTIVE", name__iexact=name).exists():
        return [
            f"The contact name {name} is already assigned to another contact. The contact name must be "
            "unique across all active contacts."
        ]
    return []

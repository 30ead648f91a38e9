"""Bill.com API v3, I/O only: sign in, read the organisation's name, make a call with a session. Every
refusal comes back as a typed outcome (providers/base.py); what it means for a connection (reconnect,
retry later, a misconfigured server) and where the session is kept is decided in
integrations/services.py ("Bill.com" section). Sources for each call and code: docs/providers.md.

- `POST /v3/login` carries the developer key in the JSON body; every call after it sends the `devKey`
  and `sessionId` headers (we send the header on the login too; Bill.com reads the body).
- A session ends after 35 idle minutes; Bill.com then answers BDC_1109 ("Session is invalid. Please
  log in.").
- Error bodies are a JSON list of {timestamp, code, severity, category, message}; the code is what
  counts, never the HTTP status (Bill.com documents only "4XX"/"5XX").
- Lists (`read_list`, `create_supplier`: the contract of providers/lists.py) go through the caller
  (integrations/provider_calls.BillcomCaller, i.e. services.billcom_call, which keeps the session):
  v3 list pages of `max` up to 100, followed by the `nextPage` token.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from django.utils import timezone

from .base import (
    LoginFailed,
    NotConfigured,
    ProviderError,
    ProviderMisconfigured,
    ProviderUnavailable,
    RateLimited,
    logger,
    setting,
    timeout,
)
from .lists import ACCOUNT, SUPPLIER, Caller, EntryData, ListPage

LABEL = "Bill.com"

# https://developer.bill.com/reference/login: "If your API session is inactive for 35 minutes, the
# session expires and you are automatically signed out."
SESSION_IDLE_LIFE = timedelta(minutes=35)

# https://developer.bill.com/docs/common-api-error-codes, https://developer.bill.com/docs/faq,
# https://developer.bill.com/docs/api-rate-limits
WRONG_SIGN_IN = "BDC_1101"  # "User name and/or password do not match our records."
BAD_DEV_KEY = "BDC_1102"  # "Developer key is invalid."
SESSION_INVALID = "BDC_1109"  # "Session is invalid. Please log in."
HOURLY_LIMIT = "BDC_1144"  # 20,000 calls (200 logins) per developer key per hour: wait for the next hour
CONCURRENCY_LIMIT = "BDC_1322"  # 3 requests at once per developer key and organisation

BUSY = "Bill.com is busy, try again in a few minutes."
MISCONFIGURED = (
    "Bill.com refused this server's developer key, so the server's Bill.com set-up is wrong. This is "
    "not a problem with your Bill.com sign-in and nothing was changed: the administrators have been "
    "alerted. Try again once they have fixed it."
)


class SessionInvalid(ProviderError):
    """BDC_1109: the session ended (35 idle minutes, or signed out). Sign in again and retry once."""


@dataclass(frozen=True)
class Session:
    """A signed-in API session (POST /v3/login answers sessionId, organizationId, userId)."""

    session_id: str
    organisation_id: str
    user_id: str = ""


@dataclass(frozen=True)
class BillcomError:
    status: int
    code: str
    message: str


def _api() -> tuple[str, str]:
    url, key = setting("BILLCOM_API_URL"), setting("BILLCOM_DEV_KEY")
    if not url or not key:
        raise NotConfigured(
            "Bill.com is not set up on this server yet (BILLCOM_API_URL / BILLCOM_DEV_KEY). Ask your "
            "administrator to configure it.",
            code="not_configured",
        )
    return url.rstrip("/"), key


def error_of(response: requests.Response) -> BillcomError:
    """The first error of Bill.com's error list (or of a single error object), with the HTTP status."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    first = body[0] if isinstance(body, list) and body else body if isinstance(body, dict) else {}
    if not isinstance(first, dict):
        first = {}
    return BillcomError(response.status_code, str(first.get("code") or ""), str(first.get("message") or ""))


def seconds_to_next_hour() -> int:
    """BDC_1144: "All subsequent API requests must wait until the beginning of the next hour"."""
    now = timezone.now()
    return 3600 - (now.minute * 60 + now.second)


def outcome(error: BillcomError, *, what: str) -> ProviderError:
    """The typed outcome of a Bill.com refusal. `what` names the call for the logs."""
    if error.code == WRONG_SIGN_IN:
        return LoginFailed(
            "Bill.com did not accept that user name, password and organisation ID"
            + (f" ({error.message})" if error.message else "")
            + ". Check them in Bill.com and try again.",
            code=error.code,
        )
    if error.code == BAD_DEV_KEY:
        return ProviderMisconfigured(MISCONFIGURED, code=error.code)
    if error.code == SESSION_INVALID:
        return SessionInvalid("The Bill.com session ended. Sign in again.", code=error.code)
    if error.code == HOURLY_LIMIT:
        return RateLimited(BUSY, code=error.code, retry_after=seconds_to_next_hour())
    if error.code == CONCURRENCY_LIMIT:
        return RateLimited(BUSY, code=error.code)
    logger.warning(
        "Bill.com %s answered %s with an unmapped error: %s %s", what, error.status, error.code, error.message
    )
    return ProviderUnavailable(
        f"Bill.com could not do that just now ({error.message or f'HTTP {error.status}'}). Try again in a "
        f"few minutes, or contact support if it keeps happening.",
        code=error.code or "unavailable",
    )


def _send(
    method: str,
    path: str,
    *,
    json: dict | None = None,
    params: dict | None = None,
    session_id: str = "",
    data: bytes | None = None,
    content_type: str = "",
) -> requests.Response:
    url, key = _api()
    # Every call carries the developer key header; calls after the login also carry the session id.
    headers = {"devKey": key, "Accept": "application/json"}
    if session_id:
        headers["sessionId"] = session_id
    if data is not None:
        # A file sent as the raw body (POST /v3/documents/bills/{billId}): its own Content-Type.
        headers["Content-Type"] = content_type or "application/octet-stream"
    try:
        return requests.request(
            method, f"{url}{path}", json=json, params=params, data=data, headers=headers, timeout=timeout()
        )
    except requests.RequestException as exc:
        logger.warning("Bill.com %s %s unreachable: %s", method, path, exc)
        raise ProviderUnavailable(
            f"{LABEL} could not be reached. Try again in a few minutes.", code="unavailable"
        ) from exc


def _json(response: requests.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        logger.warning("Bill.com %s answered %s with a body that is not JSON", what, response.status_code)
        raise ProviderUnavailable(
            f"{LABEL} sent an answer we could not read. Try again in a few minutes.", code="bad_response"
        ) from exc


def _refusal(response: requests.Response, what: str) -> ProviderError:
    error = error_of(response)
    logger.info("Bill.com %s refused: %s %s %s", what, error.status, error.code, error.message)
    return outcome(error, what=what)


def login(*, username: str, password: str, organisation_id: str) -> Session:
    """POST /v3/login. Raises LoginFailed (BDC_1101 only), ProviderMisconfigured (BDC_1102),
    RateLimited (BDC_1144/BDC_1322), ProviderUnavailable (anything else)."""
    _, key = _api()
    response = _send(
        "POST",
        "/v3/login",
        json={"username": username, "password": password, "organizationId": organisation_id, "devKey": key},
    )
    if response.status_code != 200:
        raise _refusal(response, "login")
    body = _json(response, "login")
    if not isinstance(body, dict) or not body.get("sessionId"):
        raise ProviderUnavailable(f"{LABEL} sent an answer we could not read. Try again in a few minutes.")
    return Session(
        session_id=str(body["sessionId"]),
        organisation_id=str(body.get("organizationId") or organisation_id),
        user_id=str(body.get("userId") or ""),
    )


def request(
    session_id: str,
    method: str,
    path: str,
    *,
    json: dict | None = None,
    params: dict | None = None,
    data: bytes | None = None,
    content_type: str = "",
) -> Any:
    """One API call with a session (`data`: a raw body of `content_type`, e.g. a bill's document).
    Raises SessionInvalid (BDC_1109, also a bare 401) and the outcomes of `outcome`; any other refusal
    is a ProviderError carrying Bill.com's code and message (a bill Bill.com refuses is not "try again
    later")."""
    what = f"{method} {path}"
    response = _send(
        method, path, json=json, params=params, session_id=session_id, data=data, content_type=content_type
    )
    if response.status_code < 400:
        return _json(response, what)
    error = error_of(response)
    if error.code in {WRONG_SIGN_IN, BAD_DEV_KEY, SESSION_INVALID, HOURLY_LIMIT, CONCURRENCY_LIMIT}:
        raise _refusal(response, what)
    if response.status_code == 401 and not error.code:
        raise SessionInvalid("The Bill.com session ended. Sign in again.", code=SESSION_INVALID)
    if response.status_code >= 500 or not error.code:
        raise _refusal(response, what)  # ProviderUnavailable with Bill.com's message
    logger.warning("Bill.com %s answered %s: %s %s", what, error.status, error.code, error.message)
    raise ProviderError(f"Bill.com refused the request: {error.message or error.code}.", code=error.code)


# --- the organisation's name ------------------------------------------------------------------------


def _items(body: Any) -> list[dict]:
    """The organisations of a GET /v3/login/organizations answer. Its field names are not in the
    stored documentation (docs/providers.md): accept a v3 list page ({"results": [...]}), an
    {"organizations": [...]} object or a bare list."""
    if isinstance(body, dict):
        body = body.get("results", body.get("organizations", []))
    return [item for item in body if isinstance(item, dict)] if isinstance(body, list) else []


def _name_in(item: dict, organisation_id: str) -> str:
    if str(item.get("id") or item.get("organizationId") or "") != organisation_id:
        return ""
    return str(item.get("name") or item.get("organizationName") or "").strip()


def organisation_name(session: Session) -> str | None:
    """The signed-in organisation's name, or None when Bill.com does not say. `/v3/login/session`
    documents only the organisation id, user id and MFA status, so: GET /v3/login/organizations
    (any user, "organizations that are accessible with your current API session"), then GET
    /v3/organizations/{id} (its `name`; needs the ADMINISTRATOR role). A name is not worth failing a
    sign-in over: a refusal here falls through to the next way, except a refused developer key."""
    org = session.organisation_id
    try:
        for item in _items(request(session.session_id, "GET", "/v3/login/organizations")):
            if name := _name_in(item, org):
                return name
    except ProviderMisconfigured:
        raise
    except ProviderError as exc:
        logger.info("Bill.com GET /v3/login/organizations gave no name: %s", exc.code)
    try:
        body = request(session.session_id, "GET", f"/v3/organizations/{org}")
    except ProviderMisconfigured:
        raise
    except ProviderError as exc:
        logger.info("Bill.com GET /v3/organizations/{id} gave no name: %s", exc.code)
        return None
    name = str(body.get("name") or "").strip() if isinstance(body, dict) else ""
    return name or None


# --- lists (integrations/providers/lists.py) ------------------------------------------------------
# Sources: docs/providers.md, "Bill.com" (list endpoints, paging, filters, the vendor create).

# "By default, you get 20 results on one page of results. Set `max` in your request to get up to 100
# results on one page." (developer.bill.com/reference/listvendors)
PAGE_MAX = 100
LIST_PATHS = {ACCOUNT: "/v3/classifications/chart-of-accounts", SUPPLIER: "/v3/vendors"}
# Read from a cursor after the first full read: vendors, whose `updatedTime:gte` filter BILL documents
# (developer.bill.com/docs/filterable-fields, "Vendors and Customers"). The chart of accounts is read
# whole each time: its filterable fields are not in the stored documentation, and it is short.
INCREMENTAL = frozenset({SUPPLIER})
# BILL's chart-of-accounts types (account.type) a bill line may post to, and the ones sales post to.
COST_ACCOUNT_TYPES = frozenset(
    {"EXPENSE", "OTHER_EXPENSE", "COST_OF_GOODS_SOLD", "FIXED_ASSET", "OTHER_CURRENT_ASSET", "OTHER_ASSET"}
)
SALES_ACCOUNT_TYPES = frozenset({"INCOME", "OTHER_INCOME"})
UNTYPED = frozenset({"", "UNSPECIFIED"})


def bill_time(value: Any) -> datetime | None:
    """A BILL date-time ("2026-01-05T09:00:00.000+00:00", "…Z"), or None."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else None


def filter_time(value: datetime) -> str:
    """A time as BILL's list filters take it: yyyy-MM-dd'T'HH:mm:ss.SSSX, in UTC."""
    utc = value.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def _page_of(body: Any, what: str) -> tuple[list[dict], str]:
    """(results, next page token or "") of a v3 list answer {"results": [...], "nextPage", "prevPage"}
    (developer.bill.com/docs/v3-vendors-changes: "The response includes nextPage and prevPage")."""
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list):
        logger.warning("Bill.com %s answered without results: %r", what, str(body)[:300])
        raise ProviderUnavailable(
            f"{LABEL} sent an answer we could not read. Try again in a few minutes.", code="bad_response"
        )
    return [r for r in results if isinstance(r, dict)], str(body.get("nextPage") or "")


def _pages(caller: Caller, path: str, params: dict[str, Any]) -> Iterator[tuple[list[dict], bool]]:
    """Every page of a list: (its results, whether it is the last)."""
    token = ""
    while True:
        body = caller.request("GET", path, params={**params, **({"page": token} if token else {})})
        results, token = _page_of(body, f"GET {path}")
        yield results, not token
        if not token:
            return


def entry(kind: str, row: dict) -> EntryData | None:
    """A chart-of-accounts object or a vendor as a list entry; None (logged) without an id or name."""
    external_id, name = str(row.get("id") or ""), str(row.get("name") or "")
    if not external_id or not name:
        logger.warning("Bill.com %s without an id or a name skipped: %r", kind, str(row)[:200])
        return None
    active, changed = row.get("archived") is not True, bill_time(row.get("updatedTime"))
    if kind == SUPPLIER:
        return EntryData(kind=kind, external_id=external_id, name=name, active=active, changed_at=changed)
    account = row.get("account") if isinstance(row.get("account"), dict) else {}
    account_type = str(account.get("type") or "")
    untyped = account_type in UNTYPED
    return EntryData(
        kind=kind,
        external_id=external_id,
        name=name,
        code=str(account.get("number") or ""),
        detail="" if untyped else account_type.replace("_", " ").capitalize(),
        for_costs=untyped or account_type in COST_ACCOUNT_TYPES,
        for_sales=untyped or account_type in SALES_ACCOUNT_TYPES,
        active=active,
        changed_at=changed,
    )


def read_list(caller: Caller, *, organisation: str, kind: str, since: str) -> Iterator[ListPage]:
    """Every chart-of-accounts object or vendor, archived ones included (`archived: true` = inactive),
    PAGE_MAX a page. Vendors from a cursor: `updatedTime:gte` the newest updatedTime read before
    (`gte`, so a change in the cursor's own millisecond is not missed). `organisation` is the session's
    own: BILL answers for the organisation signed in to."""
    path = LIST_PATHS[kind]
    since_time = bill_time(since) if kind in INCREMENTAL else None
    params: dict[str, Any] = {"max": PAGE_MAX}
    if since_time is not None:
        params["filters"] = f'updatedTime:gte:"{filter_time(since_time)}"'
    newest = since_time
    for rows, last in _pages(caller, path, params):
        entries = [e for row in rows if (e := entry(kind, row)) is not None]
        for e in entries:
            if e.changed_at is not None and (newest is None or e.changed_at > newest):
                newest = e.changed_at
        yield ListPage(
            entries=entries,
            last=last,
            complete=last and since_time is None,
            cursor=filter_time(newest) if last and newest is not None and kind in INCREMENTAL else "",
        )


def find_vendor(caller: Caller, *, name: str) -> EntryData | None:
    """The vendor named exactly `name`: an active one first, else an archived one, else None. Asked of
    BILL with `name:eq` (filterable-fields); a name with a double quote, which the filter syntax has no
    documented escape for, is asked with `name:sw` on the part before it and compared here."""
    prefix = name.split('"', 1)[0]
    if not prefix:
        query: dict[str, Any] = {"max": PAGE_MAX}
    elif prefix == name:
        query = {"max": PAGE_MAX, "filters": f'name:eq:"{name}"'}
    else:
        query = {"max": PAGE_MAX, "filters": f'name:sw:"{prefix}"'}
    archived: EntryData | None = None
    for rows, _last in _pages(caller, LIST_PATHS[SUPPLIER], query):
        for row in rows:
            found = entry(SUPPLIER, row)
            if found is None or found.name != name:
                continue
            if found.active:
                return found
            archived = archived or found
    return archived


def create_supplier(caller: Caller, *, organisation: str, name: str, key: str) -> EntryData:
    """A vendor named `name`. BILL has no idempotency key for creates (`key` is not sent), so the
    vendor is looked up by its exact name first and created only when BILL has no active one: a
    retry after a create whose answer was lost finds the vendor the first attempt made. (An archived
    vendor of that name is not brought back: archived vendors cannot be paid, so a new one is made.)

    The create sends what BILL's reference marks required, `name` (1 to 100 characters) and the
    `address` object, plus `accountType`: BUSINESS. Of the address only the country is sent, US (BILL
    organisations are US businesses); BILL needs the rest of the address only to pay the vendor by
    check or invite it to its network, which is done in BILL (developer.bill.com/reference/createvendor)."""
    found = find_vendor(caller, name=name)
    if found is not None and found.active:
        return found
    body = caller.request(
        "POST",
        LIST_PATHS[SUPPLIER],
        json={"name": name, "accountType": "BUSINESS", "address": {"country": "US"}},
    )
    created = entry(SUPPLIER, body) if isinstance(body, dict) else None
    if created is None:
        raise ProviderUnavailable(
            f"{LABEL} sent an answer we could not read. Try again in a few minutes.", code="bad_response"
        )
    return created

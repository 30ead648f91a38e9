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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
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
) -> requests.Response:
    url, key = _api()
    # Every call carries the developer key header; calls after the login also carry the session id.
    headers = {"devKey": key, "Accept": "application/json"}
    if session_id:
        headers["sessionId"] = session_id
    try:
        return requests.request(
            method, f"{url}{path}", json=json, params=params, headers=headers, timeout=timeout()
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
    session_id: str, method: str, path: str, *, json: dict | None = None, params: dict | None = None
) -> Any:
    """One API call with a session. Raises SessionInvalid (BDC_1109, also a bare 401) and the
    outcomes of `outcome`; any other refusal is a ProviderError carrying Bill.com's code and message
    (a bill Bill.com refuses is not "try again later")."""
    what = f"{method} {path}"
    response = _send(method, path, json=json, params=params, session_id=session_id)
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

"""Bill.com API v3: log in with user name, password, organisation id and our developer key to get a
session id. Sessions end after 35 idle minutes; when the API says a session is invalid we log in again
once, transparently, with the stored (encrypted) credentials."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from django.utils import timezone

from .base import LoginFailed, NotConfigured, ProviderError, ProviderUnavailable, logger, setting, timeout

LABEL = "Bill.com"
# Bill.com's error codes for a session that expired or was logged out.
INVALID_SESSION_CODES = {"BDC_1109"}


@dataclass
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


def _error_of(response: requests.Response) -> BillcomError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    first = body[0] if isinstance(body, list) and body else body if isinstance(body, dict) else {}
    return BillcomError(response.status_code, str(first.get("code", "")), str(first.get("message", "")))


def _send(method: str, path: str, *, json: dict | None = None, session_id: str = "") -> requests.Response:
    url, key = _api()
    headers = {"devKey": key, "Accept": "application/json"}
    if session_id:
        headers["sessionId"] = session_id
    try:
        response = requests.request(method, f"{url}{path}", json=json, headers=headers, timeout=timeout())
    except requests.RequestException as exc:
        raise ProviderUnavailable(f"{LABEL} could not be reached. Try again in a few minutes.") from exc
    if response.status_code >= 500:
        raise ProviderUnavailable(
            f"{LABEL} is having trouble right now ({response.status_code}). Try again in a few minutes."
        )
    return response


def login(*, username: str, password: str, organisation_id: str) -> dict[str, Any]:
    """POST /v3/login. Returns the credentials to store (session included). Wrong details → LoginFailed."""
    _, key = _api()
    response = _send(
        "POST",
        "/v3/login",
        json={"username": username, "password": password, "organizationId": organisation_id, "devKey": key},
    )
    if response.status_code != 200:
        error = _error_of(response)
        logger.info("Bill.com login refused: %s %s", error.code, error.message)
        raise LoginFailed(
            "Bill.com did not accept that user name, password and organisation ID"
            + (f" ({error.message})" if error.message else "")
            + ". Check them in Bill.com and try again.",
            code="billcom_login_failed",
        )
    body = response.json()
    return {
        "username": username,
        "password": password,
        "organisation_id": organisation_id,
        "session_id": body["sessionId"],
        "user_id": body.get("userId", ""),
        "session_started_at": timezone.now().isoformat(),
    }


def organisation_name(credentials: dict[str, Any]) -> str:
    """The organisation's name, from the session details (GET /v3/login/session)."""
    response = _send("GET", "/v3/login/session", session_id=credentials["session_id"])
    if response.status_code != 200:
        return credentials["organisation_id"]
    return response.json().get("organizationName") or credentials["organisation_id"]


def call(connection, method: str, path: str, *, json: dict | None = None) -> Any:
    """An API call for a connection, logging in again once if the session expired."""
    from integrations import services

    credentials = services.credentials_of(connection)
    response = _send(method, path, json=json, session_id=credentials.get("session_id", ""))
    if _error_of(response).code in INVALID_SESSION_CODES or response.status_code == 401:
        try:
            credentials = login(
                username=credentials["username"],
                password=credentials["password"],
                organisation_id=credentials["organisation_id"],
            )
        except LoginFailed as exc:
            reason = (
                "Bill.com no longer accepts the saved sign-in. Reconnect Bill.com with its current password."
            )
            services.mark_needs_reconnect(account=connection.account, connection=connection, reason=reason)
            raise LoginFailed(reason, code="billcom_relogin_failed") from exc
        services.store_credentials(
            account=connection.account, connection=connection, credentials=credentials, access_expires_at=None
        )
        response = _send(method, path, json=json, session_id=credentials["session_id"])
    if response.status_code >= 400:
        error = _error_of(response)
        logger.warning(
            "Bill.com %s %s answered %s: %s %s", method, path, error.status, error.code, error.message
        )
        raise ProviderError(f"Bill.com refused the request: {error.message or response.status_code}.")
    return response.json()

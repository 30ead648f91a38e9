"""What every provider client shares: settings lookup, errors a bookkeeper can act on, and the OAuth 2.0
authorization-code flow with PKCE (S256) on authlib.

OAuth token endpoint errors (RFC 6749 §5.2) mean different things, and only one of them is about the
customer: `invalid_grant` (the grant or refresh token is expired, revoked or already used) means the
customer must reconnect (GrantRevoked); `invalid_client` and `unauthorized_client` mean THIS SERVER's
client id or secret (or the app's registration) is wrong (ProviderMisconfigured): an operator must
fix it and no customer's connection changes. Refresh never sends `scope` (RFC 6749 §6: omitted
means "as granted"), so a grant made before our scope list grew keeps refreshing."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings
from django.utils import timezone

from accounts.errors import DomainError
from integrations.catalog import ProviderInfo, provider_info

# Operators see what the provider actually answered; users see a message they can act on.
logger = logging.getLogger("integrations.providers")


class ProviderError(DomainError):
    """The provider refused or failed; the message says what the user can do."""


class ProviderUnavailable(ProviderError):
    """Network trouble or a 5xx: try again later. Nothing about the connection changes."""


class GrantRevoked(ProviderError):
    """The provider will never accept these credentials again (invalid_grant): reconnect."""


class LoginFailed(ProviderError):
    """Wrong user name, password or organisation (Bill.com)."""


class NotConfigured(ProviderError):
    """This server has no endpoint or client credentials for the provider."""


class ProviderMisconfigured(ProviderError):
    """The provider refused this server's own credentials (a client secret, Bill.com's developer key):
    the server is misconfigured, not the customer's connection. Services log it loudly and change no
    connection; `message` tells the user to ask an administrator."""


class ProviderRefused(ProviderError):
    """The provider answered a request with a 4xx (other than 401 and 429): `status` and `answer` (its
    body as JSON, or None) let an adapter read the provider's own refusal, e.g. Xero's
    ValidationException naming a contact that already exists."""

    def __init__(
        self, message: str, *, code: str = "provider_refused", status: int, answer: Any = None
    ) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.answer = answer


class RateLimited(ProviderUnavailable):
    """The provider is busy with our requests (a rate or concurrency limit): try again later. Nothing
    about the connection changes. `retry_after` is the wait in seconds when the provider's rules say
    (Bill.com's hourly cap: until the next hour), else None."""

    def __init__(self, message: str, *, code: str = "rate_limited", retry_after: int | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


def setting(name: str) -> str:
    """A provider setting with "{sandbox}" filled in now, so a moved sandbox (tests) is followed."""
    value = getattr(settings, name, "") or ""
    return value.replace("{sandbox}", settings.SANDBOX_BASE_URL)


def timeout() -> float:
    return float(getattr(settings, "PROVIDER_HTTP_TIMEOUT", 20.0))


# Token response fields kept as typed values, not in `extra`. Intuit: `x_refresh_token_expires_in` is the
# rolling (~100 day) refresh-token lifetime; `x_refresh_token_hard_expires_in` the five-year maximum,
# sent only when the request asks for it (header `x-include-refresh-token-hard-expires-in: true`,
# intuit/oauth-jsclient CHANGELOG 4.2.4).
_TYPED_FIELDS = {
    "access_token",
    "refresh_token",
    "expires_in",
    "expires_at",
    "token_type",
    "x_refresh_token_expires_in",
    "x_refresh_token_hard_expires_in",
}


def _seconds_from_now(value: Any) -> datetime | None:
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return timezone.now() + timedelta(seconds=seconds)


def _parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass
class TokenSet:
    access_token: str
    refresh_token: str
    expires_at: datetime
    extra: dict[str, Any] = field(default_factory=dict)
    # When the refresh token itself stops working if unused (QuickBooks Online's rolling expiry), and
    # the date after which no refresh works and the customer must consent again (Intuit's five years).
    refresh_expires_at: datetime | None = None
    refresh_hard_expires_at: datetime | None = None

    @classmethod
    def from_response(cls, token: dict[str, Any]) -> TokenSet:
        expires_in = int(token.get("expires_in") or 1800)
        extra = {k: v for k, v in token.items() if k not in _TYPED_FIELDS}
        return cls(
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token", ""),
            expires_at=timezone.now() + timedelta(seconds=expires_in),
            extra=extra,
            refresh_expires_at=_seconds_from_now(token.get("x_refresh_token_expires_in")),
            refresh_hard_expires_at=_seconds_from_now(token.get("x_refresh_token_hard_expires_in")),
        )

    def as_credentials(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at.isoformat(),
            **({"extra": self.extra} if self.extra else {}),
            **(
                {"refresh_expires_at": self.refresh_expires_at.isoformat()} if self.refresh_expires_at else {}
            ),
            **(
                {"refresh_hard_expires_at": self.refresh_hard_expires_at.isoformat()}
                if self.refresh_hard_expires_at
                else {}
            ),
        }

    @classmethod
    def from_credentials(cls, creds: dict[str, Any]) -> TokenSet:
        return cls(
            access_token=creds.get("access_token", ""),
            refresh_token=creds.get("refresh_token", ""),
            expires_at=datetime.fromisoformat(creds["expires_at"])
            if creds.get("expires_at")
            else timezone.now(),
            extra=creds.get("extra", {}),
            refresh_expires_at=_parse_time(creds.get("refresh_expires_at")),
            refresh_hard_expires_at=_parse_time(creds.get("refresh_hard_expires_at")),
        )

    def jwt_claims(self) -> dict[str, Any]:
        """The claims of a JWT access token (Xero's are JWTs), or {} for an opaque one. Read as a hint
        from a token the token endpoint just gave us over TLS; never used to authenticate anything,
        so the signature is not checked."""
        parts = self.access_token.split(".")
        if len(parts) != 3:
            return {}
        try:
            payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
            claims = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            return {}
        return claims if isinstance(claims, dict) else {}


@dataclass(frozen=True)
class Organisation:
    """An organisation the user may connect: Xero tenant, QBO company, ApprovalMax organisation."""

    id: str
    name: str
    selectable: bool = True
    # Why it cannot be chosen, in words the user can act on.
    reason: str = ""
    note: str = ""
    # ApprovalMax: the accounting software (our provider key, "xero" or "qbo") the organisation is
    # connected to in ApprovalMax; it must be this account's main software (services checks it).
    # LINKED_UNKNOWN when ApprovalMax did not say (the field is not in its documented answer).
    linked: str = ""
    # What the connection keeps with its tokens for this organisation, e.g. Xero's connection id (for
    # DELETE /connections/{id} on disconnect). Nothing secret: ids the provider gave us.
    grant: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "selectable": self.selectable,
            "reason": self.reason,
            "note": self.note,
            "linked": self.linked,
            "grant": dict(self.grant),
        }


LINKED_UNKNOWN = "unknown"


@dataclass(frozen=True)
class GrantEnded:
    """What telling the provider about a disconnect achieved (OAuthProvider.end_grant).

    `detail`: for the activity log ("removed the connection to Acme and revoked the access").
    `still_to_do`: what the user must still do at the provider themselves ("" when nothing).
    """

    detail: str
    still_to_do: str = ""


class OAuthProvider:
    """OAuth 2.0 authorization code + PKCE. Subclasses say which registry entry they serve (`key`) and
    list organisations; the label, settings prefix and scopes are the entry's (integrations/catalog.py)."""

    key: str = ""
    # How the token endpoint takes our client credentials (RFC 6749 §2.3.1): HTTP Basic, or in the
    # form body ("client_secret_post"), as each provider documents.
    token_auth_method: str = "client_secret_basic"
    # Extra headers on token requests (Intuit: ask for the five-year refresh-token expiry).
    token_headers: dict[str, str] = {}
    # Query parameters every API call carries (Intuit: minorversion).
    api_params: dict[str, str] = {}
    # Where a user removes Dext Connect's access in the provider, when we could not do it for them.
    remove_access_hint: str = ""

    # --- configuration -------------------------------------------------------------------------

    @property
    def info(self) -> ProviderInfo:
        info = provider_info(self.key)
        if info is None:
            raise LookupError(f"{type(self).__name__}: no provider {self.key!r} in integrations/catalog.py.")
        return info

    @property
    def label(self) -> str:
        return self.info.label

    @property
    def prefix(self) -> str:
        """The settings prefix, e.g. "XERO" for XERO_CLIENT_ID."""
        return self.info.settings_prefix

    @property
    def scope(self) -> str:
        return self.info.scope

    def _conf(self, name: str) -> str:
        value = setting(f"{self.prefix}_{name}")
        if not value:
            raise NotConfigured(
                f"{self.label} is not set up on this server yet ({self.prefix}_{name} is missing). "
                f"Ask your administrator to configure it.",
                code="not_configured",
            )
        return value

    def _session(self, *, scope: str | None = None, **kwargs: Any) -> OAuth2Session:
        session = OAuth2Session(
            client_id=self._conf("CLIENT_ID"),
            client_secret=self._conf("CLIENT_SECRET"),
            token_endpoint_auth_method=self.token_auth_method,
            # Only the authorization request names scopes; the session adds `scope` to every refresh
            # it is given one for (authlib OAuth2Client.refresh_token), so token calls get none.
            scope=scope,
            code_challenge_method="S256",
            default_timeout=timeout(),
            **kwargs,
        )
        # Token calls are rare; a kept-alive connection (notably one left open by an error answer)
        # would only pin a server thread and its database connection. Callers also close it (`with`).
        session.headers["Connection"] = "close"
        return session

    # --- the flow ------------------------------------------------------------------------------

    def authorization_url(self, *, redirect_uri: str, state: str, code_verifier: str) -> str:
        url, _ = self._session(scope=self.scope, redirect_uri=redirect_uri).create_authorization_url(
            self._conf("AUTHORIZE_URL"), state=state, code_verifier=code_verifier
        )
        return url

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> TokenSet:
        with self._session(redirect_uri=redirect_uri) as session:
            token = self._token_call(
                lambda: session.fetch_token(
                    self._conf("TOKEN_URL"),
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                    headers=self._token_request_headers(),
                ),
                refused=(
                    f"{self.label} did not accept the sign-in (the link may have been used already or "
                    f"expired). Start again from Business settings > Connections."
                ),
            )
        return TokenSet.from_response(token)

    def refresh(self, *, refresh_token: str) -> TokenSet:
        """Refresh tokens rotate: the answer carries a new refresh token that replaces the old one.
        No `scope` is sent (the session has none): the grant keeps the scopes the customer consented
        to, and a scope list that grew since cannot make the provider refuse (invalid_scope)."""
        with self._session() as session:
            token = self._token_call(
                lambda: session.refresh_token(
                    self._conf("TOKEN_URL"),
                    refresh_token=refresh_token,
                    headers=self._token_request_headers(),
                ),
                refused=(
                    f"{self.label} no longer accepts our access (it may have been revoked or expired). "
                    f"Reconnect {self.label} in Business settings > Connections."
                ),
            )
        if not token.get("refresh_token"):
            token["refresh_token"] = refresh_token
        return TokenSet.from_response(token)

    def _token_request_headers(self) -> dict[str, str]:
        # authlib uses these instead of its defaults, so they are repeated here.
        return {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
            **self.token_headers,
        }

    def misconfigured_message(self, error: str) -> str:
        what = (
            "the client id or secret is wrong"
            if error == "invalid_client"
            else "the app is not allowed this kind of access"
        )
        return (
            f"{self.label} is misconfigured on this server ({what}). Your connection is unchanged; tell "
            f"your Dext Connect administrator."
        )

    def _token_call(self, call, *, refused: str) -> dict[str, Any]:
        try:
            return dict(call())
        except OAuthError as exc:
            if exc.error in {"invalid_client", "unauthorized_client"}:
                # Every customer's refresh fails the same way until an operator fixes the settings.
                logger.error(
                    "%s token endpoint refused OUR CLIENT (%s: %s): check %s_CLIENT_ID / %s_CLIENT_SECRET "
                    "and the app's registration with %s. Connections are left as they are.",
                    self.label,
                    exc.error,
                    exc.description,
                    self.prefix,
                    self.prefix,
                    self.label,
                )
                raise ProviderMisconfigured(self.misconfigured_message(exc.error), code=exc.error) from exc
            logger.warning("%s token endpoint refused: %s %s", self.label, exc.error, exc.description)
            if exc.error == "invalid_grant":
                raise GrantRevoked(refused, code=exc.error) from exc
            raise ProviderError(
                f"{self.label} refused the request ({exc.error}). Try again, or contact support if it "
                f"keeps happening.",
                code=exc.error or "oauth_error",
            ) from exc
        except requests.RequestException as exc:
            logger.warning("%s token endpoint unreachable: %s", self.label, exc)
            raise ProviderUnavailable(
                f"{self.label} could not be reached. Try again in a few minutes.", code="unavailable"
            ) from exc

    # --- after consent -------------------------------------------------------------------------

    def organisations(self, *, tokens: TokenSet, callback: dict[str, str]) -> list[Organisation]:
        raise NotImplementedError

    def end_grant(
        self, *, credentials: dict[str, Any], external_id: str, shared: Callable[[list[str]], bool]
    ) -> GrantEnded:
        """Tell the provider that this connection is gone (called after our own disconnect committed).

        `shared(ids)`: does another live connection of ours use any of these organisations? Raises
        ProviderError (ProviderUnavailable, ProviderMisconfigured, ...) when the provider could not be
        told."""
        raise NotImplementedError

    def _api(self, method: str, url: str, tokens: TokenSet, **kwargs: Any) -> requests.Response:
        """One API call with the bearer token, `Accept: application/json` and the provider's
        `api_params`; a refusal or an unreachable provider raises (see `_check`)."""
        params = {**self.api_params, **(kwargs.pop("params", None) or {})}
        response = self._send(
            method,
            url,
            headers={"Authorization": f"Bearer {tokens.access_token}", **kwargs.pop("headers", {})},
            params=params or None,
            **kwargs,
        )
        self._check(response, f"{method} {url}")
        return response

    def _get_json(self, url: str, tokens: TokenSet, **kwargs: Any) -> Any:
        response = self._api("GET", url, tokens, **kwargs)
        try:
            return response.json()
        except ValueError as exc:  # requests' JSONDecodeError is a ValueError
            logger.warning(
                "%s GET %s answered %s with a body that is not JSON: %r",
                self.label,
                url,
                response.status_code,
                response.text[:200],
            )
            raise ProviderError(
                f"{self.label} sent an answer we could not read. Try again in a few minutes, or contact "
                f"support if it keeps happening.",
                code="bad_response",
            ) from exc

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One HTTP request to the provider; unreachable means ProviderUnavailable."""
        headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
        try:
            return requests.request(method, url, headers=headers, timeout=timeout(), **kwargs)
        except requests.RequestException as exc:
            raise ProviderUnavailable(
                f"{self.label} could not be reached. Try again in a few minutes.", code="unavailable"
            ) from exc

    def _revocation(self, **kwargs: Any) -> None:
        """POST to the provider's token revocation endpoint (RFC 7009: 200 whether or not the token was
        still valid). A refusal of our client credentials is ProviderMisconfigured, as at the token
        endpoint."""
        response = self._send("POST", self._conf("REVOKE_URL"), **kwargs)
        if response.status_code == 200:
            return
        try:
            error = response.json().get("error", "")
        except (ValueError, AttributeError):
            error = ""
        if error in {"invalid_client", "unauthorized_client"}:
            logger.error(
                "%s revocation endpoint refused OUR CLIENT (%s): check %s_CLIENT_ID / %s_CLIENT_SECRET.",
                self.label,
                error,
                self.prefix,
                self.prefix,
            )
            raise ProviderMisconfigured(self.misconfigured_message(error), code=error)
        if error == "invalid_grant":  # the token was already dead: nothing left to revoke
            raise GrantRevoked(f"{self.label} had already ended our access.", code=error)
        self._check(response, f"POST {self._conf('REVOKE_URL')}")
        raise ProviderError(
            f"{self.label} answered the revocation with {response.status_code}.", code="provider_refused"
        )

    def _check(self, response: requests.Response, call: str) -> None:
        if response.status_code == 401:
            raise GrantRevoked(
                f"{self.label} did not accept our access. Start again from Business settings > Connections.",
                code="unauthorized",
            )
        if response.status_code >= 500:
            raise ProviderUnavailable(
                f"{self.label} is having trouble right now ({response.status_code}). Try again in a few "
                f"minutes.",
                code="unavailable",
            )
        if response.status_code == 429:
            # Xero: 429 with Retry-After (seconds) and X-Rate-Limit-Problem (Minute, Daily, Concurrent);
            # https://developer.xero.com/documentation/auth-and-limits/xero-api-limits.
            logger.warning(
                "%s %s answered 429 (%s)", self.label, call, response.headers.get("X-Rate-Limit-Problem", "")
            )
            wait = response.headers.get("Retry-After", "")
            raise RateLimited(
                f"{self.label} is busy with our requests right now. Try again in a few minutes.",
                retry_after=int(wait) if wait.isdigit() else None,
            )
        if response.status_code >= 400:
            logger.warning(
                "%s %s answered %s: %s", self.label, call, response.status_code, response.text[:500]
            )
            try:
                answer = response.json()
            except ValueError:
                answer = None
            raise ProviderRefused(
                f"{self.label} refused the request ({response.status_code}).",
                status=response.status_code,
                answer=answer,
            )

    def _fresh_tokens(self, credentials: dict[str, Any]) -> TokenSet:
        """Tokens good for one more call: refreshed when the access token has (nearly) expired."""
        tokens = TokenSet.from_credentials(credentials)
        if tokens.expires_at - timezone.now() > timedelta(minutes=1):
            return tokens
        return self.refresh(refresh_token=tokens.refresh_token)

"""What every provider client shares: settings lookup, errors a bookkeeper can act on, and the OAuth 2.0
authorization-code flow with PKCE (S256) on authlib."""

from __future__ import annotations

import logging
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


def setting(name: str) -> str:
    """A provider setting with "{sandbox}" filled in now, so a moved sandbox (tests) is followed."""
    value = getattr(settings, name, "") or ""
    return value.replace("{sandbox}", settings.SANDBOX_BASE_URL)


def timeout() -> float:
    return float(getattr(settings, "PROVIDER_HTTP_TIMEOUT", 20.0))


@dataclass
class TokenSet:
    access_token: str
    refresh_token: str
    expires_at: datetime
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_response(cls, token: dict[str, Any]) -> TokenSet:
        expires_in = int(token.get("expires_in") or 1800)
        extra = {
            k: v
            for k, v in token.items()
            if k not in {"access_token", "refresh_token", "expires_in", "expires_at", "token_type"}
        }
        return cls(
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token", ""),
            expires_at=timezone.now() + timedelta(seconds=expires_in),
            extra=extra,
        )

    def as_credentials(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at.isoformat(),
            **({"extra": self.extra} if self.extra else {}),
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
        )


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
    linked: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "selectable": self.selectable,
            "reason": self.reason,
            "note": self.note,
            "linked": self.linked,
        }


class OAuthProvider:
    """OAuth 2.0 authorization code + PKCE. Subclasses say which registry entry they serve (`key`) and
    list organisations; the label, settings prefix and scopes are the entry's (integrations/catalog.py)."""

    key: str = ""

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

    def _session(self, **kwargs: Any) -> OAuth2Session:
        session = OAuth2Session(
            client_id=self._conf("CLIENT_ID"),
            client_secret=self._conf("CLIENT_SECRET"),
            token_endpoint_auth_method="client_secret_basic",
            scope=self.scope,
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
        url, _ = self._session(redirect_uri=redirect_uri).create_authorization_url(
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
                ),
                refused=(
                    f"{self.label} did not accept the sign-in (the link may have been used already or "
                    f"expired). Start again from Business settings > Connections."
                ),
            )
        return TokenSet.from_response(token)

    def refresh(self, *, refresh_token: str) -> TokenSet:
        """Refresh tokens rotate: the answer carries a new refresh token that replaces the old one."""
        with self._session() as session:
            token = self._token_call(
                lambda: session.refresh_token(self._conf("TOKEN_URL"), refresh_token=refresh_token),
                refused=(
                    f"{self.label} no longer accepts our access (it may have been revoked or expired). "
                    f"Reconnect {self.label} in Business settings > Connections."
                ),
            )
        if not token.get("refresh_token"):
            token["refresh_token"] = refresh_token
        return TokenSet.from_response(token)

    def _token_call(self, call, *, refused: str) -> dict[str, Any]:
        try:
            return dict(call())
        except OAuthError as exc:
            logger.warning("%s token endpoint refused: %s %s", self.label, exc.error, exc.description)
            if exc.error in {"invalid_grant", "invalid_client", "unauthorized_client"}:
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

    def _get_json(self, url: str, tokens: TokenSet, **kwargs: Any) -> Any:
        try:
            response = requests.get(
                url,
                headers={"Authorization": f"Bearer {tokens.access_token}", "Accept": "application/json"},
                timeout=timeout(),
                **kwargs,
            )
        except requests.RequestException as exc:
            raise ProviderUnavailable(
                f"{self.label} could not be reached. Try again in a few minutes.", code="unavailable"
            ) from exc
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
        if response.status_code >= 400:
            logger.warning(
                "%s GET %s answered %s: %s", self.label, url, response.status_code, response.text[:500]
            )
            raise ProviderError(
                f"{self.label} refused the request ({response.status_code}).", code="provider_refused"
            )
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

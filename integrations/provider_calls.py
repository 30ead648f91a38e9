"""Authenticated calls for one connection, for the adapters' list reads and creates (the `Caller` of
integrations/providers/lists.py). The adapters build URLs and read answers; these hold the secrets.

- OAuth providers (Xero, QuickBooks Online, ApprovalMax): the connection's access token, refreshed
  before it expires (integrations/tokens.py); a 401 refreshes once and retries once (Xero and Intuit
  answer 401 to an access token that has expired early or been replaced), then is the provider's
  refusal.
- Bill.com: services.billcom_call, which keeps the session and signs in again when it has ended.

Every call first takes a slot of the provider organisation's limits, shared by all workers
(integrations/ratelimit.py: Xero 5 at once, 60 a minute, 5,000 a day; Bill.com one at a time), and a
429 with Retry-After blocks that organisation for every worker until then.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from accounts.errors import DomainError

from . import catalog, ratelimit, services
from .models import Connection
from .providers import GrantRevoked, RateLimited, TokenSet, oauth_provider
from .tokens import access_token_for


class OAuthCaller:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        provider = oauth_provider(connection.provider)
        if provider is None:
            raise DomainError(f"{connection.label} does not use access tokens.", code="no_tokens")
        self.provider = provider
        self.label = provider.label

    def _tokens(self, access_token: str) -> TokenSet:
        return TokenSet(access_token=access_token, refresh_token="", expires_at=None)  # type: ignore[arg-type]

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
    ) -> Any:
        with limited(self.connection):
            token = access_token_for(self.connection)
            try:
                return self._once(method, url, token, params=params, json=json, headers=headers, data=data)
            except GrantRevoked:
                token = access_token_for(self.connection, rejected_token=token)
                return self._once(method, url, token, params=params, json=json, headers=headers, data=data)

    def _once(self, method: str, url: str, token: str, **kwargs: Any) -> Any:
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        response = self.provider._api(method, url, self._tokens(token), **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text


class BillcomCaller:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.label = catalog.label_of("billcom")

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
    ) -> Any:
        with limited(self.connection):
            return services.billcom_call(
                account=self.connection.account,
                connection=self.connection,
                method=method,
                path=url,
                json=json,
                params=params,
                data=data,
                content_type=(headers or {}).get("Content-Type", ""),
            )


@contextmanager
def limited(connection: Connection) -> Iterator[None]:
    """One call of `connection` within its provider's limits (integrations/ratelimit.py); a 429 that
    says how long to wait holds every worker back from that organisation until then."""
    with ratelimit.slot(connection.provider, connection.external_id):
        try:
            yield
        except RateLimited as exc:
            if exc.retry_after:
                ratelimit.blocked(connection.provider, connection.external_id, exc.retry_after)
            raise


def caller_for(connection: Connection):
    """The Caller for this connection's provider, by how it connects (the registry's connect_kind)."""
    info = catalog.provider_info(connection.provider)
    if info is None:
        raise DomainError(f"{connection.provider!r} is not a provider.", code="unknown_provider")
    if info.connect_kind == "oauth":
        return OAuthCaller(connection)
    if info.connect_kind == "login":
        return BillcomCaller(connection)
    raise DomainError(f"{info.label} is not called over HTTP.", code="no_http_calls")

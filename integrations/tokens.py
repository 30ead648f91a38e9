"""Valid access tokens for OAuth connections (Xero, QuickBooks Online, ApprovalMax).

`access_token_for(connection)` refreshes when the token expires within five minutes. Refresh tokens
rotate (the old one stops working the moment a new one is issued), so two refreshes racing with the
same refresh token would leave one of them holding a dead token: only one refresh runs at a time per
connection, under the connection's row lock, and each waiter re-reads the row after the lock is its.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection as connection_for_db
from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from accounts.errors import DomainError

from . import catalog, services
from .models import Connection, ConnectionStatus
from .providers import GrantRevoked, ProviderMisconfigured, TokenSet, oauth_provider

REFRESH_MARGIN = timedelta(minutes=5)


class NeedsReconnect(DomainError):
    """The provider refused our refresh token for good; the connection now shows Reconnect."""


def _needs_reconnect(connection: Connection) -> NeedsReconnect:
    return NeedsReconnect(
        f"{connection.label} needs reconnecting: reconnect it in Business settings > Connections.",
        code="needs_reconnect",
    )


def _is_rejected(connection: Connection, rejected_token: str | None) -> bool:
    return (
        rejected_token is not None
        and services.credentials_of(connection).get("access_token") == rejected_token
    )


def _fresh(connection: Connection) -> bool:
    expires = connection.access_expires_at
    return expires is not None and expires - timezone.now() > REFRESH_MARGIN


def access_token_for(connection: Connection, *, rejected_token: str | None = None) -> str:
    """A valid access token for `connection`, refreshed (and the rotated tokens saved) when needed.

    `rejected_token`: the provider answered 401 to this token; refresh even though it has not expired,
    unless another worker already replaced it (then that newer token is returned, with no refresh).

    Raises NeedsReconnect when the refresh failed for good (the connection is marked needs reconnect),
    ProviderMisconfigured when the provider refused this server's client credentials (the connection keeps its
    status and shows the configuration warning), and ProviderUnavailable/ProviderError on a transient
    failure (nothing about the connection changes).
    """
    provider = oauth_provider(connection.provider)
    if provider is None:
        raise DomainError(f"{connection.label} does not use access tokens.", code="no_tokens")
    with scope(account=connection.account):
        if connection.status in (ConnectionStatus.PENDING, ConnectionStatus.DISCONNECTED):
            raise DomainError(f"{connection.label} is not connected to this account.", code="not_connected")
        if connection.status == ConnectionStatus.NEEDS_RECONNECT:
            raise _needs_reconnect(connection)
        if _fresh(connection) and not _is_rejected(connection, rejected_token):
            return services.credentials_of(connection)["access_token"]
        revoked: GrantRevoked | None = None
        misconfigured: ProviderMisconfigured | None = None
        with _one_refresh_at_a_time(connection) as locked:
            credentials = services.credentials_of(locked)
            if locked.status == ConnectionStatus.NEEDS_RECONNECT:
                _copy(locked, connection)
                raise _needs_reconnect(connection)
            if _fresh(locked) and not _is_rejected(locked, rejected_token):
                # Still good, or someone else refreshed while we waited for the lock.
                _copy(locked, connection)
                return credentials["access_token"]
            try:
                tokens = provider.refresh(refresh_token=credentials.get("refresh_token", ""))
            except GrantRevoked as exc:
                revoked = exc
            except ProviderMisconfigured as exc:
                misconfigured = exc
            else:
                services.store_credentials(
                    account=connection.account,
                    connection=locked,
                    credentials={**credentials, **tokens.as_credentials()},
                    access_expires_at=tokens.expires_at,
                )
                if locked.last_error:
                    services.clear_warning(account=connection.account, connection=locked)
                locked.refresh_from_db()
                _copy(locked, connection)
                return tokens.access_token
        # Outside the lock's transaction: marking the connection must not be rolled back with it.
        if misconfigured is not None:
            # Our server's fault, not the customer's: never "needs reconnect".
            services.note_misconfigured(
                account=connection.account, connection=connection, reason=misconfigured.message
            )
            raise misconfigured
        services.mark_needs_reconnect(
            account=connection.account, connection=connection, reason=revoked.message
        )
        raise NeedsReconnect(revoked.message, code="needs_reconnect") from revoked


@contextmanager
def _one_refresh_at_a_time(connection: Connection) -> Iterator[Connection]:
    """Hold the per-connection refresh lock and yield the row as it is now (re-read under the lock).

    PostgreSQL: the connection's row lock, held in a transaction for the length of the provider call;
    that call is exactly what must not run twice.
    SQLite has no row locks: a write transaction would lock the whole database for the length of the
    HTTP call, including the sandbox's tables, which the sandbox token endpoint (served from the same
    database in the demo) must write to — a deadlock until the timeout. SQLite only ever runs on one
    machine, so an exclusive file lock per connection serialises refreshes across processes instead.
    """
    if connection_for_db.vendor == "postgresql":
        with transaction.atomic():
            yield Connection.objects.select_for_update().get(pk=connection.pk)
        return
    lock_dir = Path(settings.BASE_DIR) / "var" / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"connection-{connection.pk}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield Connection.objects.get(pk=connection.pk)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _copy(source: Connection, target: Connection) -> None:
    """Keep the caller's instance in step with the row (it may reuse it for the next call)."""
    for field in ("credentials", "access_expires_at", "status", "last_error"):
        setattr(target, field, getattr(source, field))


def tokens_of(connection: Connection) -> TokenSet:
    return TokenSet.from_credentials(services.credentials_of(connection))


@dataclass(frozen=True)
class Refreshed:
    """What `refresh_due` did for one connection: "Acme Ltd: Xero", until when its token is valid, or
    why it could not be refreshed."""

    name: str
    valid_until: datetime | None
    problem: str = ""


def refresh_due(*, force: bool = False) -> list[Refreshed]:
    """Refresh the access tokens of every active OAuth connection (every provider whose connect kind is
    oauth in integrations/catalog.py) that expire within five minutes, or all of them with `force`:
    refresh tokens stay in use and revoked access is found early (the connection is then marked
    "needs reconnect"). Run by `manage.py refresh_tokens` and, every five minutes, by the worker's
    schedule (integrations/schedules.py)."""
    # Crosses every tenant on purpose (a maintenance job): the named escape from the scopes.
    with scopes_disabled():
        connections = list(
            Connection.objects.select_related("account").filter(
                provider__in=catalog.oauth_keys(), status=ConnectionStatus.ACTIVE
            )
        )
    done = []
    for connection in connections:
        name = f"{connection.account.name}: {connection.label}"
        try:
            rejected = services.credentials_of(connection).get("access_token") if force else None
            access_token_for(connection, rejected_token=rejected)
        except DomainError as exc:
            done.append(Refreshed(name=name, valid_until=None, problem=exc.message))
        else:
            done.append(Refreshed(name=name, valid_until=connection.access_expires_at))
    return done

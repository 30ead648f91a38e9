"""Reads about an account's connections that more than one view (and the costs app) needs."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Account

from .models import LIVE_STATUSES, Connection, ConnectionStatus, IntegrationDefaults


def live_connections(account: Account) -> QuerySet[Connection]:
    """Connections that count: active, or needing a reconnect (items still route to them)."""
    return Connection.objects.filter(account=account, status__in=LIVE_STATUSES)


def main_connection(account: Account) -> Connection | None:
    return live_connections(account).filter(is_main=True).first()


def live_additional(account: Account) -> list[Connection]:
    return list(live_connections(account).filter(is_main=False).order_by("provider"))


def has_additional(account: Account) -> bool:
    """While this is true the Integration column and field appear."""
    return live_connections(account).filter(is_main=False).exists()


def defaults_for(account: Account) -> IntegrationDefaults:
    return IntegrationDefaults.objects.filter(account=account).select_related(
        "publishing", "expense_claims"
    ).first() or IntegrationDefaults(account=account)


def effective_defaults(account: Account) -> tuple[Connection | None, Connection | None]:
    """(publishing, expense claims) as they apply now: a default naming a connection that is no
    longer live falls back to the main software. The one place that decides that fallback."""
    defaults = defaults_for(account)
    main = main_connection(account)

    def resolve(conn: Connection | None) -> Connection | None:
        # A default counts only while it is live and this account's own (set_defaults checks both;
        # this keeps a row written by any other path from routing items to another tenant).
        return conn if conn is not None and conn.is_live and conn.account_id == account.pk else main

    return resolve(defaults.publishing), resolve(defaults.expense_claims)


def connections_on_page(account: Account) -> list[Connection]:
    """What Business settings > Connections lists: live connections and ones still being connected.
    Disconnected rows stay in the database (their settings survive a reconnect) but not on the page."""
    return list(
        Connection.objects.filter(account=account)
        .exclude(status=ConnectionStatus.DISCONNECTED)
        .select_related("connected_by")
    )

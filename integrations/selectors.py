"""Reads about an account's connections that more than one view (and the costs app) needs."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet

from accounts.models import Account

from . import catalog
from .lists import is_on_its_way, source_for, waiting_message, when
from .models import (
    LIVE_STATUSES,
    Connection,
    ConnectionStatus,
    IntegrationDefaults,
    ListKind,
    ListSync,
    ListSyncState,
)


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


# --- the lists of each connection, as the Connections page shows them ------------------------------

PROGRESS_WORDS = {
    ListKind.ACCOUNT: "Chart of accounts",
    ListKind.TAX_RATE: "Tax rates",
    ListKind.SUPPLIER: "Suppliers",
}


@dataclass
class ListsShown:
    """One connection's lists on Business settings > Connections (integrations/_lists.html)."""

    connection: Connection
    own: bool = False  # it keeps lists of its own (Xero, QuickBooks, Bill.com)
    uses: str = ""  # software without lists of its own: whose lists it uses ("Xero")
    web_connector: bool = False  # read by the Web Connector on its next run (QuickBooks Desktop)
    waiting: str = ""  # lists.waiting_message: when the read happens, where it is not at once
    sync: ListSync | None = None
    on_its_way: bool = False
    progress: list[str] = field(default_factory=list)

    @property
    def last_read(self) -> str:
        return when(self.sync.last_success_at) if self.sync and self.sync.last_success_at else ""

    @property
    def state(self) -> str:
        return self.sync.state if self.sync else ListSyncState.NEVER

    @property
    def failed(self) -> bool:
        return self.state == ListSyncState.FAILED and bool(self.sync.message)

    @property
    def can_refresh(self) -> bool:
        """Refresh lists is offered (to those who may manage integrations): an active connection with
        lists of its own whose read is not already on its way."""
        return self.own and self.connection.status == ConnectionStatus.ACTIVE and not self.on_its_way

    @property
    def polling(self) -> bool:
        """The page asks again every few seconds while a read it can watch is on its way; a read
        waiting for the Web Connector may wait for days, so only its running part is watched."""
        return self.on_its_way and not (self.web_connector and self.state == ListSyncState.QUEUED)


def _progress_lines(connection: Connection, sync: ListSync) -> list[str]:
    lines = []
    for kind in catalog.provider_info(connection.provider).lists:
        step = (sync.progress or {}).get(kind)
        if step is None:
            lines.append(f"{PROGRESS_WORDS[kind]}: waiting")
        elif step.get("done"):
            lines.append(f"{PROGRESS_WORDS[kind]}: {step.get('read', 0)} read")
        else:
            lines.append(f"{PROGRESS_WORDS[kind]}: reading ({step.get('read', 0)} so far)")
    return lines


def lists_shown(account: Account, connections: list[Connection]) -> list[ListsShown]:
    """What the page says about each connection's lists, in one query for all their ListSync rows."""
    syncs = {s.connection_id: s for s in ListSync.objects.filter(account=account, connection__in=connections)}
    shown = []
    for connection in connections:
        info = catalog.provider_info(connection.provider)
        item = ListsShown(connection=connection)
        if info is not None and info.lists_read == "main":
            source = source_for(connection)
            item.uses = source.label if source is not None else "the main accounting software"
        elif info is not None and info.lists:
            item.own = True
            item.web_connector = info.lists_read == "web_connector"
            item.waiting = waiting_message(connection)
            item.sync = syncs.get(connection.pk)
            if item.sync is not None:
                item.on_its_way = is_on_its_way(item.sync, connection)
                if item.sync.state == ListSyncState.RUNNING:
                    item.progress = _progress_lines(connection, item.sync)
        shown.append(item)
    return shown

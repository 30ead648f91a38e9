"""Status at a glance: the account home and the practice's client list (issue 12 §5). For each account:
its connected software and their health (active, needs reconnecting, reading its lists), how many items
are To review, Ready and Failed, and its two defaults.

Grouped queries whatever the number of accounts: one for the connections, one for the list reads on
their way, one for the counts, never one per account or per connection.
`clients_status` reads across accounts: only ever for accounts the caller has already been allowed
(the practice page passes its own clients, filtered through accessible_accounts).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q
from django_scopes import scopes_disabled

from accounts.models import Account
from integrations import catalog
from integrations.lists import on_its_way_for
from integrations.models import Connection, ConnectionStatus, ListSync
from integrations.selectors import effective_defaults

from .models import SALES_TYPES, Item, ItemStatus

# What the glance counts: the items waiting for someone.
GLANCE_STATUSES = (ItemStatus.TO_REVIEW, ItemStatus.READY, ItemStatus.FAILED)
HEALTH_WORDS = {
    ConnectionStatus.ACTIVE: "Active",
    ConnectionStatus.NEEDS_RECONNECT: "Needs reconnecting",
    ConnectionStatus.PENDING: "Waiting to finish connecting",
}


@dataclass
class Software:
    connection: Connection
    reading_lists: bool = False

    @property
    def health(self) -> str:
        if self.connection.status == ConnectionStatus.ACTIVE and self.reading_lists:
            return "Active, reading its lists"
        return HEALTH_WORDS.get(self.connection.status, self.connection.get_status_display())

    @property
    def tone(self) -> str:
        """The badge's colour: ok, warn or plain."""
        status = self.connection.status
        if status == ConnectionStatus.NEEDS_RECONNECT:
            return "warn"
        return "ok" if status == ConnectionStatus.ACTIVE else ""


@dataclass
class Counts:
    to_review: int = 0
    ready: int = 0
    failed: int = 0

    def add(self, status: str, n: int) -> None:
        setattr(self, status, getattr(self, status) + n)


@dataclass
class AccountStatus:
    account: Account
    software: list[Software] = field(default_factory=list)
    costs: Counts = field(default_factory=Counts)
    sales: Counts = field(default_factory=Counts)
    publishing: str = ""  # account_status only: the defaults' labels ("" with no software)
    expense_claims: str = ""

    @property
    def needs_reconnecting(self) -> bool:
        return any(s.connection.status == ConnectionStatus.NEEDS_RECONNECT for s in self.software)


def _statuses(accounts: list[Account]) -> dict[int, AccountStatus]:
    """The glance for `accounts`, in three queries. The caller has checked the user may open each."""
    rows = {a.pk: AccountStatus(account=a) for a in accounts}
    if not rows:
        return rows
    ids = list(rows)
    connections = list(
        Connection.objects.filter(account_id__in=ids)
        .exclude(status=ConnectionStatus.DISCONNECTED)
        .only("pk", "account_id", "provider", "is_main", "status", "external_name")
        .order_by("account_id", "-is_main", "provider")
    )
    with_lists = [
        c
        for c in connections
        if (info := catalog.provider_info(c.provider))
        and info.lists
        and info.lists_read != "main"
        and c.status == ConnectionStatus.ACTIVE
    ]
    reading = set()
    if with_lists:
        reading = set(
            ListSync.objects.filter(connection__in=with_lists)
            .filter(on_its_way_for(with_lists))
            .values_list("connection_id", flat=True)
        )
    for c in connections:
        rows[c.account_id].software.append(Software(connection=c, reading_lists=c.pk in reading))
    counts = (
        Item.objects.filter(account_id__in=ids, status__in=GLANCE_STATUSES)
        .order_by()
        .values("account_id", "status")
        .annotate(
            costs=Count("pk", filter=~Q(type__in=SALES_TYPES)),
            sales=Count("pk", filter=Q(type__in=SALES_TYPES)),
        )
    )
    for row in counts:
        status = rows[row["account_id"]]
        status.costs.add(row["status"], row["costs"])
        status.sales.add(row["status"], row["sales"])
    return rows


def account_status(account: Account) -> AccountStatus:
    """The account home's glance, with its defaults as they apply (selectors.effective_defaults: a
    default whose connection went away falls back to the main software). Inside the account's scope."""
    status = _statuses([account])[account.pk]
    publishing, expense_claims = effective_defaults(account)
    status.publishing = publishing.label if publishing else ""
    status.expense_claims = expense_claims.label if expense_claims else ""
    return status


def clients_status(accounts: list[Account]) -> list[AccountStatus]:
    """The practice client list's glance, in the order given. Crosses accounts on purpose, like the
    switcher's lookup: the caller passes only accounts the user may open."""
    with scopes_disabled():
        rows = _statuses(accounts)
    return [rows[a.pk] for a in accounts]

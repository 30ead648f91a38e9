"""The lists of the accounting software — chart of accounts, tax rates, contacts/vendors — read from
each connection and kept as ListEntry rows (issue "Lists from the accounting software").

One place for:
- which connection's lists an item routed to a connection chooses from (`source_for`: ApprovalMax has
  none of its own, the main software's are used);
- starting a read (`request_sync`: on connect and reconnect, from Refresh lists, nightly) and running
  it (`run_sync`, in the background task integrations.tasks.sync_lists);
- one read per connection at a time: `claim` is one conditional UPDATE of the connection's ListSync row
  (state not running, or a running claim whose lease ran out because its worker died); `finish` ends
  it, whoever read (the background task, or the Web Connector's calls for QuickBooks Desktop);
- storing what the adapters read (`store_entries`): upserts by (connection, kind, external_id); a full
  read marks what it no longer returned inactive (never deleted: a published item still names it);
- a failure half-way keeps the last good lists: a kind is stored only once every page of it has been
  read, and the message on the Connections page says what failed and that the earlier lists are kept.
  Pages that arrive in separate requests (the Web Connector's iterator pages) wait in ListReadPage
  (`keep_page` / `kept_entries`) until their kind is complete.

How each provider reads: the registry's `lists` and `lists_read` (integrations/catalog.py); the adapter's
`read_list` (integrations/providers/lists.py explains the contract). QuickBooks Desktop's reads are
qbXML queries the Web Connector runs on its next visit (integrations/qbwc_lists.py decides,
integrations/providers/qbd_lists.py writes and reads the qbXML).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone
from django_scopes import scope

from accounts.errors import DomainError
from accounts.models import Account
from accounts.tenancy import in_account_scope

from . import catalog
from .models import (
    LIVE_STATUSES,
    Connection,
    ConnectionStatus,
    ListEntry,
    ListKind,
    ListReadPage,
    ListSync,
    ListSyncState,
)
from .providers import ProviderError
from .providers.lists import EntryData

logger = logging.getLogger("integrations.lists")

# A running read's claim; a worker killed mid-read leaves it, and the next request takes over after it.
LEASE = timedelta(minutes=15)

# Sent after a read of a connection's lists has stored every kind (costs links suppliers on it).
lists_read = Signal()  # kwargs: account, connection, kinds


# --- names -----------------------------------------------------------------------------------------

_SUFFIXES = re.compile(
    r"\b(ltd|limited|llc|inc|incorporated|plc|co|company|corp|corporation|gmbh|pty|llp|lp|the)\b"
)


def normalise(name: str) -> str:
    """A name reduced for matching: case, accents, punctuation, "&"/"and", company suffixes and extra
    spaces do not count ("The Acme Supplies Ltd." and "acme supplies" match)."""
    text = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().lower()
    text = text.replace("&", " and ")
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    text = _SUFFIXES.sub(" ", text)
    return " ".join(text.split())


# --- whose lists ---------------------------------------------------------------------------------


def kinds_of(connection: Connection) -> tuple[str, ...]:
    info = catalog.provider_info(connection.provider)
    return info.lists if info is not None else ()


def source_for(connection: Connection | None) -> Connection | None:
    """The connection whose lists an item routed to `connection` chooses from: itself, or for software
    that keeps no lists of its own (ApprovalMax) the account's live main software. None: no lists."""
    if connection is None:
        return None
    info = catalog.provider_info(connection.provider)
    if info is not None and info.lists_read == "main":
        return (
            Connection.objects.filter(
                account_id=connection.account_id, is_main=True, status__in=LIVE_STATUSES
            )
            .order_by("pk")
            .first()
        )
    return connection


# --- starting and running a read -------------------------------------------------------------------


def _sync_row(account: Account, connection: Connection) -> ListSync:
    row, _ = ListSync.objects.get_or_create(account=account, connection=connection)
    return row


@in_account_scope
def request_sync(*, account: Account, connection: Connection) -> ListSync:
    """Ask for the connection's lists to be read in the background. Already queued or running: nothing
    more is queued (one read per connection at a time). QuickBooks Desktop: the queries wait for the Web
    Connector's next run."""
    info = catalog.provider_info(connection.provider)
    if info is None or not info.lists or info.lists_read == "main":
        raise DomainError(f"{connection.label} has no lists of its own to read.", code="no_lists")
    if connection.status != ConnectionStatus.ACTIVE:
        raise DomainError(
            f"{connection.label} must be connected and working before its lists can be read.",
            code="not_active",
        )
    row = _sync_row(account, connection)
    now = timezone.now()
    waiting = row.state == ListSyncState.QUEUED or (
        row.state == ListSyncState.RUNNING and row.lease_until and row.lease_until > now
    )
    if waiting:
        return row
    ListSync.objects.filter(pk=row.pk).update(state=ListSyncState.QUEUED, requested_at=now, progress={})
    row.refresh_from_db()
    if info.lists_read == "api":
        from .tasks import sync_lists

        transaction.on_commit(lambda: sync_lists.enqueue(account_id=account.pk, connection_id=connection.pk))
    return row


def waiting_message(connection: Connection) -> str:
    """What to tell whoever asked for a read (Refresh lists) when it does not start at once: software
    read through the Web Connector is read at its next run ("QuickBooks Desktop reads its lists the next
    time the Web Connector runs."). "" where the background task reads now."""
    info = catalog.provider_info(connection.provider)
    if info is None or info.lists_read != "web_connector":
        return ""
    return f"{info.label} reads its lists the next time the Web Connector runs."


def claim(row: ListSync) -> bool:
    """Take the connection's read: True for exactly one caller at a time (a running claim whose lease
    ran out counts as free: its worker died). `started_at` identifies the claim from then on."""
    now = timezone.now()
    claimed = (
        ListSync.objects.filter(pk=row.pk)
        .filter(~Q(state=ListSyncState.RUNNING) | Q(lease_until__isnull=True) | Q(lease_until__lte=now))
        .update(state=ListSyncState.RUNNING, started_at=now, lease_until=now + LEASE, progress={}, message="")
    )
    return claimed == 1


def kind_label(info: catalog.ProviderInfo, kind: str) -> str:
    """The list as the Connections page names it: "chart of accounts", "tax rates", "suppliers"."""
    return {
        ListKind.ACCOUNT: "chart of accounts",
        ListKind.TAX_RATE: "tax rates",
        ListKind.SUPPLIER: "suppliers",
    }[kind]


@in_account_scope
def run_sync(*, account: Account, connection_id: int) -> ListSync | None:
    """Read every list of the connection (the background task's body). Returns the ListSync row, or
    None when another read of this connection holds it (nothing is done twice)."""
    from .provider_calls import caller_for

    connection = Connection.objects.filter(pk=connection_id).first()
    if connection is None:
        return None
    info = catalog.provider_info(connection.provider)
    if info is None or info.lists_read != "api" or not info.lists:
        return None
    row = _sync_row(account, connection)
    if not claim(row):
        logger.info("Lists of connection %s are already being read: skipped", connection.pk)
        return None
    row.refresh_from_db()
    adapter = info.load_adapter()
    adapter = adapter() if isinstance(adapter, type) else adapter
    cursors = dict(row.cursors)
    progress: dict[str, dict] = {}
    failed: str = ""
    started = row.started_at
    try:
        if connection.status != ConnectionStatus.ACTIVE:
            raise DomainError(f"{connection.label} is not connected.", code="not_active")
        caller = caller_for(connection)
        for kind in info.lists:
            what = kind_label(info, kind)
            entries: list[EntryData] = []
            complete = False
            cursor = ""
            progress[kind] = {"read": 0, "done": False}
            for page in adapter.read_list(
                caller, organisation=connection.external_id, kind=kind, since=cursors.get(kind, "")
            ):
                entries.extend(page.entries)
                progress[kind]["read"] = len(entries)
                ListSync.objects.filter(pk=row.pk).update(
                    progress=progress, lease_until=timezone.now() + LEASE
                )
                if page.last:
                    complete, cursor = page.complete, page.cursor
                    break
            store_entries(
                connection=connection, kind=kind, entries=entries, complete=complete, started=started
            )
            cursors[kind] = cursor
            progress[kind]["done"] = True
            ListSync.objects.filter(pk=row.pk).update(progress=progress, cursors=cursors)
    except (ProviderError, DomainError) as exc:
        failed = (
            f"Could not read the {what} from {connection.label}: {exc.message}"
            if "what" in locals()
            else f"Could not read the lists from {connection.label}: {exc.message}"
        )
        logger.warning("Lists of connection %s: %s", connection.pk, failed)
    return finish(account=account, connection=connection, row=row, failed=failed, kinds=info.lists)


def kept_note(row: ListSync) -> str:
    """After a failure, when earlier lists exist: ' The lists read on 5 Jan 2026 at 09:00 are kept.'"""
    if not row.last_success_at:
        return ""
    return f" The lists read on {timezone.localtime(row.last_success_at):%-d %b %Y at %H:%M} are kept."


@in_account_scope
def finish(
    *, account: Account, connection: Connection, row: ListSync, failed: str = "", kinds: Iterable[str] = ()
) -> ListSync:
    """End the read `row` holds: done (when every list was stored: last read now, the `lists_read`
    signal for `kinds`), or failed with `failed` and, when there are earlier lists, when they were
    read (they are kept). Only the claim that started the read ends it (`row.started_at`)."""
    now = timezone.now()
    mine = ListSync.objects.filter(pk=row.pk, state=ListSyncState.RUNNING, started_at=row.started_at)
    if failed:
        mine.update(
            state=ListSyncState.FAILED,
            finished_at=now,
            lease_until=None,
            message=(failed + kept_note(row))[:500],
        )
    elif mine.update(
        state=ListSyncState.DONE, finished_at=now, last_success_at=now, lease_until=None, message=""
    ):
        lists_read.send(sender=ListSync, account=account, connection=connection, kinds=tuple(kinds))
    row.refresh_from_db()
    return row


# --- storing -------------------------------------------------------------------------------------

_UPDATED = [
    "code",
    "name",
    "match_name",
    "detail",
    "rate",
    "for_costs",
    "for_sales",
    "active",
    "changed_at",
    "seen_at",
]


def store_entries(
    *, connection: Connection, kind: str, entries: Iterable[EntryData], complete: bool, started=None
) -> int:
    """Upsert what a read returned for one kind, atomically. `complete` (a full read): entries of that
    kind the read did not return are gone from the provider, so they become inactive."""
    now = timezone.now()
    rows = {}
    for e in entries:
        if e.kind != kind:
            continue
        rows[e.external_id] = ListEntry(
            account_id=connection.account_id,
            connection=connection,
            kind=kind,
            external_id=e.external_id,
            code=e.code[:50],
            name=e.name[:300],
            match_name=normalise(e.name)[:300],
            detail=e.detail[:200],
            rate=e.rate,
            for_costs=e.for_costs,
            for_sales=e.for_sales,
            active=e.active,
            changed_at=e.changed_at,
            seen_at=now,
        )
    with transaction.atomic(), scope(account=connection.account_id):
        ListEntry.objects.bulk_create(
            list(rows.values()),
            batch_size=500,
            update_conflicts=True,
            unique_fields=["connection", "kind", "external_id"],
            update_fields=_UPDATED,
        )
        if complete:
            # Every row this read returned was just stamped `now`.
            ListEntry.objects.filter(connection=connection, kind=kind, active=True, seen_at__lt=now).update(
                active=False
            )
    return len(rows)


# --- pages that arrive in separate requests --------------------------------------------------------


def _entry_json(entry: EntryData) -> dict:
    return {
        "kind": entry.kind,
        "external_id": entry.external_id,
        "name": entry.name,
        "code": entry.code,
        "detail": entry.detail,
        "rate": None if entry.rate is None else str(entry.rate),
        "for_costs": entry.for_costs,
        "for_sales": entry.for_sales,
        "active": entry.active,
        "changed_at": entry.changed_at.isoformat() if entry.changed_at else None,
    }


def _entry_from(data: dict) -> EntryData:
    return EntryData(
        **{
            **data,
            "rate": None if data["rate"] is None else Decimal(data["rate"]),
            "changed_at": datetime.fromisoformat(data["changed_at"]) if data["changed_at"] else None,
        }
    )


def keep_page(
    *,
    connection: Connection,
    kind: str,
    started: datetime,
    number: int,
    entries: Iterable[EntryData],
    iterator_id: str = "",
    remaining: int = 0,
) -> None:
    """Keep page `number` of the read claimed at `started` until its kind is complete."""
    with scope(account=connection.account_id):
        ListReadPage.objects.create(
            account_id=connection.account_id,
            connection=connection,
            kind=kind,
            started=started,
            number=number,
            entries=[_entry_json(e) for e in entries],
            iterator_id=iterator_id[:100],
            remaining=max(remaining, 0),
        )


def kept_pages(*, connection: Connection, kind: str, started: datetime) -> list[ListReadPage]:
    with scope(account=connection.account_id):
        return list(
            ListReadPage.objects.filter(connection=connection, kind=kind, started=started).order_by("number")
        )


def last_kept_page(*, connection: Connection, kind: str, started: datetime) -> ListReadPage | None:
    """The latest page kept so far (without its entries: where the paging stands)."""
    with scope(account=connection.account_id):
        return (
            ListReadPage.objects.filter(connection=connection, kind=kind, started=started)
            .defer("entries")
            .order_by("-number")
            .first()
        )


def kept_entries(pages: Iterable[ListReadPage]) -> list[EntryData]:
    return [_entry_from(data) for page in pages for data in page.entries]


def drop_pages(*, connection: Connection, kind: str | None = None) -> None:
    """Forget kept pages: a stored kind's, or (no kind) every page of the connection's reads."""
    with scope(account=connection.account_id):
        pages = ListReadPage.objects.filter(connection=connection)
        (pages.filter(kind=kind) if kind else pages).delete()


# --- matching ------------------------------------------------------------------------------------


def find_match(*, connection: Connection, kind: str, name: str = "", code: str = "") -> ListEntry | None:
    """The active entry of `connection`'s `kind` list that a value from elsewhere stands for: the same
    code first (accounts: "429" is "429" in any chart that has it), then exactly the same name
    (ignoring case), then the same normalised name (`normalise`). None: nothing matches, the user
    chooses. The one rule for carrying a value over to other software, for matching free text typed
    before the lists existed, and for linking suppliers."""
    entries = ListEntry.objects.filter(connection=connection, kind=kind, active=True)
    if code:
        found = entries.filter(code=code).order_by("pk").first()
        if found is not None:
            return found
    if not name:
        return None
    found = entries.filter(name__iexact=name).order_by("pk").first()
    if found is not None:
        return found
    key = normalise(name)
    return entries.filter(match_name=key).order_by("pk").first() if key else None

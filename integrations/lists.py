"""The lists of the accounting software — chart of accounts, tax rates, contacts/vendors — read from
each connection and kept as ListEntry rows (issue "Lists from the accounting software").

One place for:
- which connection's lists an item routed to a connection chooses from (`source_for`: ApprovalMax has
  none of its own, the main software's are used);
- asking for a read (`request_sync`): on connect and reconnect (services.activate_connection), when
  QuickBooks Desktop's company file is confirmed, from Refresh lists (`refresh_lists`, recorded in the
  activity log) and nightly (`request_every_night`, the worker's scheduled task). One conditional UPDATE
  queues it; the task is enqueued after the commit, so a rolled-back connect queues nothing;
- running it (`run_sync`, the background task integrations.tasks.sync_lists), one read per connection
  at a time: `begin_read` claims the connection's ListSync row with one conditional UPDATE (queued, or
  running with a lease run out because its worker died) and every later write is fenced by the claim's
  start time, so a slow read overtaken by another changes nothing more; `end_read` finishes it (done:
  the `lists_read` signal, on which costs links suppliers and matches old free text; or failed, in
  words). The Web Connector's read of QuickBooks Desktop uses the same three: `is_on_its_way` says there
  is one to do, `begin_read`, `store_entries` per kind, `end_read`;
- storing what the adapters read (`store_entries`): upserts by (connection, kind, external_id); a full
  read marks what it no longer returned inactive (never deleted: a published item still names it);
- a failure half-way keeps the last good lists: a kind is stored only once every page of it has been
  read, and the message on the Connections page says what failed and that the earlier lists are kept;
- matching a value from elsewhere to an entry (`find_match`, and `find_matches` for many at once).

How each provider reads: the registry's `lists` and `lists_read` (integrations/catalog.py); the adapter's
`read_list` (integrations/providers/lists.py explains the contract). QuickBooks Desktop's reads are
qbXML queries the Web Connector runs on its next visit (integrations/qbwc_lists.py decides,
integrations/providers/qbd_lists.py writes and reads the qbXML); pages that arrive in separate requests
(the Web Connector's iterator pages) wait in ListReadPage (`keep_page` / `kept_entries`) until their
kind is complete.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import dateformat, timezone
from django_scopes import scope, scopes_disabled

from accounts.activity import record
from accounts.errors import DomainError
from accounts.models import Account, User
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


def when(moment) -> str:
    """ "2 Dec 2026 at 09:14", in the server's time zone: how the Connections page and the failure
    message name the time of a read."""
    return dateformat.format(timezone.localtime(moment), r"j M Y \a\t H:i")


def _sync_row(account: Account, connection: Connection) -> ListSync:
    row, _ = ListSync.objects.get_or_create(account=account, connection=connection)
    return row


def _waits_for_the_web_connector(connection: Connection) -> bool:
    info = catalog.provider_info(connection.provider)
    return info is not None and info.lists_read == "web_connector"


def _on_its_way(connection: Connection, now: datetime) -> Q:
    """A read already asked for and not lost: running under a live lease, or queued. A queued read
    waits for a task, and a task can go missing (the process died between the commit and the enqueue):
    after a lease it is asked for again. QuickBooks Desktop's waits for the Web Connector however long
    it takes to run."""
    queued = Q(state=ListSyncState.QUEUED)
    if not _waits_for_the_web_connector(connection):
        queued &= Q(requested_at__gt=now - LEASE)
    return queued | Q(state=ListSyncState.RUNNING, lease_until__gt=now)


def is_on_its_way(row: ListSync, connection: Connection) -> bool:
    """`_on_its_way` for a row already read (the Connections page: progress, polling, no button)."""
    return ListSync.objects.filter(pk=row.pk).filter(_on_its_way(connection, timezone.now())).exists()


def on_its_way_for(connections: list[Connection]) -> Q:
    """`_on_its_way` for many connections at once (of one account or many): a filter on ListSync, so a
    page showing dozens of accounts asks once which of their reads are on their way."""
    now = timezone.now()
    condition = Q(pk__in=[])
    groups: dict[bool, list[int]] = {}
    for connection in connections:
        groups.setdefault(_waits_for_the_web_connector(connection), []).append(connection.pk)
    for ids in groups.values():
        sample = next(c for c in connections if c.pk == ids[0])
        condition |= Q(connection_id__in=ids) & _on_its_way(sample, now)
    return condition


def _queue(account: Account, connection: Connection, *, full: bool = False) -> tuple[ListSync, bool]:
    """request_sync's body: (the row, whether this call queued the read). `full`: forget the
    incremental markers, so every list is read whole and what the provider no longer has becomes
    inactive (an incremental read cannot learn of deletions everywhere: Xero's deleted accounts, and
    QuickBooks Desktop's deleted list entries, are not in "changed since" answers)."""
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
    # One conditional UPDATE: of two requests at once (two tabs, the nightly run and a click) only one
    # queues, so only one task is enqueued.
    queued = (
        ListSync.objects.filter(pk=row.pk)
        .exclude(_on_its_way(connection, now))
        .update(
            state=ListSyncState.QUEUED, requested_at=now, progress={}, **({"cursors": {}} if full else {})
        )
    )
    row.refresh_from_db()
    if queued and info.lists_read == "api":
        account_id, connection_id = account.pk, connection.pk
        # After the commit: a rolled-back connect queues nothing (and the worker never reads a row it
        # cannot see yet).
        transaction.on_commit(lambda: _enqueue(account_id, connection_id, now))
    return row, bool(queued)


def _enqueue(account_id: int, connection_id: int, requested_at) -> None:
    """Enqueue the read, unless what was committed no longer asks for it (the demo seeds the lists as
    read in the same transaction as the connect; a later request superseded this one)."""
    from .tasks import sync_lists

    with scope(account=account_id):
        still = ListSync.objects.filter(
            connection_id=connection_id, state=ListSyncState.QUEUED, requested_at=requested_at
        ).exists()
    if still:
        sync_lists.enqueue(account_id=account_id, connection_id=connection_id)


def waiting_message(connection: Connection) -> str:
    """What to tell whoever asked for a read (Refresh lists) when it does not start at once: software
    read through the Web Connector is read at its next run ("QuickBooks Desktop reads its lists the next
    time the Web Connector runs."). "" where the background task reads now."""
    info = catalog.provider_info(connection.provider)
    if info is None or info.lists_read != "web_connector":
        return ""
    return f"{info.label} reads its lists the next time the Web Connector runs."


@in_account_scope
def request_sync(*, account: Account, connection: Connection) -> ListSync:
    """Ask for the connection's lists to be read in the background (on connect and reconnect, from
    Refresh lists, nightly). Already on its way: nothing more is queued (one read per connection at a
    time). QuickBooks Desktop: the queries wait for the Web Connector's next run (its adapter asks
    `is_on_its_way`); nothing is enqueued. Raises DomainError for a connection without lists of its own
    or that is not active."""
    row, _ = _queue(account, connection)
    return row


@in_account_scope
def refresh_lists(*, account: Account, acting_user: User, connection_id: int) -> ListSync:
    """Refresh lists on the Connections page (the view checks integrations.manage): queue a read of
    this account's connection, recorded in the activity log. Already on its way: nothing changes."""
    connection = (
        Connection.objects.filter(account=account, pk=connection_id)
        .exclude(status=ConnectionStatus.DISCONNECTED)
        .first()
    )
    if connection is None:
        raise DomainError("That integration is not connected to this account.", code="not_found")
    with transaction.atomic():
        # Someone asked: read everything again, not only what changed.
        row, queued = _queue(account, connection, full=True)
        if queued:
            info = catalog.provider_info(connection.provider)
            later = info.lists_read == "web_connector"
            record(
                account=account,
                actor=acting_user,
                action="integration.lists_requested",
                summary=f"Asked for {connection.label}'s lists to be read again (Refresh lists)"
                + (": the Web Connector reads them on its next run" if later else ""),
            )
    return row


def full_tonight(connection: Connection, today) -> bool:
    """Each connection's nightly read is a full one once a week, on its own night (its id modulo 7), so
    deletions are learned within a week and the full reads are spread over the week."""
    return connection.pk % 7 == today.weekday()


def request_every_night() -> int:
    """The nightly read (integrations.tasks.nightly_lists): ask every active connection with lists of
    its own, in every account, for its lists (incremental, and once a week in full: `full_tonight`).
    Returns how many were queued."""
    today = timezone.localdate()
    # A maintenance job across tenants: the named escape, to find the connections; each request then
    # runs in its own account's scope.
    with scopes_disabled():
        connections = list(
            Connection.objects.filter(status=ConnectionStatus.ACTIVE).select_related("account").order_by("pk")
        )
    queued = 0
    for connection in connections:
        info = catalog.provider_info(connection.provider)
        if info is None or not info.lists or info.lists_read == "main":
            continue
        try:
            with scope(account=connection.account):
                with transaction.atomic():
                    _, now_queued = _queue(
                        connection.account, connection, full=full_tonight(connection, today)
                    )
        except DomainError as exc:  # changed since it was listed: not active any more
            logger.info("Nightly lists of connection %s: %s", connection.pk, exc.message)
            continue
        queued += now_queued
    return queued


# --- one read at a time ------------------------------------------------------------------------


class _Superseded(Exception):
    """Our claim ran out and another read took over (we were slow, not dead): stop, say nothing."""


@dataclass(frozen=True)
class Claim:
    """A read in progress: the row, and the start time that fences it (every write filters on it, so a
    read whose lease ran out and was taken over can no longer change the row)."""

    row_id: int
    started: datetime
    last_success_at: datetime | None

    @classmethod
    def of(cls, row: ListSync) -> Claim:
        """The claim a running row records (the Web Connector's read spans many requests: each one
        takes the claim back from the row it began with)."""
        return cls(row_id=row.pk, started=row.started_at, last_success_at=row.last_success_at)

    def update(self, **fields) -> None:
        ours = ListSync.objects.filter(pk=self.row_id, state=ListSyncState.RUNNING, started_at=self.started)
        if not ours.update(**fields):
            raise _Superseded


def begin_read(*, account: Account, connection: Connection) -> Claim | None:
    """Claim the connection's read: one conditional UPDATE of its ListSync row, from queued (asked for,
    not started) or from running whose lease has run out (a worker killed mid-read). None: nothing was
    asked for, or another read holds it. The Web Connector's read of QuickBooks Desktop claims the same
    way; `end_read` finishes either."""
    row = ListSync.objects.filter(account=account, connection=connection).first()
    if row is None:
        return None
    now = timezone.now()
    claimable = Q(state=ListSyncState.QUEUED) | Q(state=ListSyncState.RUNNING, lease_until__lte=now)
    claimable |= Q(state=ListSyncState.RUNNING, lease_until__isnull=True)
    claimed = (
        ListSync.objects.filter(pk=row.pk)
        .filter(claimable)
        .update(state=ListSyncState.RUNNING, started_at=now, lease_until=now + LEASE, progress={}, message="")
    )
    if not claimed:
        return None
    return Claim(row_id=row.pk, started=now, last_success_at=row.last_success_at)


def kept_note(last_success_at: datetime | None) -> str:
    """After a failure, when earlier lists exist: " The lists read on 5 Jan 2026 at 09:00 are kept." """
    return f" The lists read on {when(last_success_at)} are kept." if last_success_at else ""


def end_read(*, account: Account, connection: Connection, claim: Claim, failure: str = "") -> bool:
    """Finish a read: done (and `lists_read` sent, so costs links suppliers and matches old free text),
    or failed with `failure` in words and the sentence that the earlier lists are kept. False when the
    claim had been taken over (nothing changed)."""
    now = timezone.now()
    try:
        if failure:
            claim.update(
                state=ListSyncState.FAILED,
                finished_at=now,
                lease_until=None,
                message=(failure + kept_note(claim.last_success_at))[:500],
            )
        else:
            claim.update(
                state=ListSyncState.DONE, finished_at=now, last_success_at=now, lease_until=None, message=""
            )
    except _Superseded:
        return False
    if not failure:
        lists_read.send(sender=ListSync, account=account, connection=connection, kinds=kinds_of(connection))
    return True


def _kind_label(kind: str) -> str:
    return KIND_WORDS[kind]


KIND_WORDS = {
    ListKind.ACCOUNT: "chart of accounts",
    ListKind.TAX_RATE: "tax rates",
    ListKind.SUPPLIER: "suppliers",
}


def _still_active(connection: Connection) -> None:
    status = Connection.objects.filter(pk=connection.pk).values_list("status", flat=True).first()
    if status == ConnectionStatus.NEEDS_RECONNECT:
        raise DomainError(
            f"{connection.label} needs reconnecting: reconnect it in Business settings > Connections.",
            code="not_active",
        )
    if status != ConnectionStatus.ACTIVE:
        raise DomainError(f"{connection.label} is no longer connected.", code="not_active")


@in_account_scope
def run_sync(*, account: Account, connection_id: int) -> ListSync | None:
    """Read every list of the connection (the background task's body). Returns the ListSync row, or
    None when there was nothing to do: no such connection of this account, no lists read over the API,
    no read asked for, or another read of this connection holds it (nothing is read twice).

    A kind is stored only once all its pages were read (a failure half-way keeps the last good list of
    that kind); a connection disconnected or needing a reconnect since the read was asked for is not
    read, and nothing read is stored once it is no longer active."""
    from .provider_calls import caller_for

    connection = Connection.objects.filter(account=account, pk=connection_id).first()
    if connection is None:
        return None
    info = catalog.provider_info(connection.provider)
    if info is None or info.lists_read != "api" or not info.lists:
        return None
    claim = begin_read(account=account, connection=connection)
    if claim is None:
        logger.info("Lists of connection %s: not asked for, or already being read: skipped", connection.pk)
        return None
    cursors = dict(ListSync.objects.get(pk=claim.row_id).cursors)
    progress: dict[str, dict] = {}
    what = "lists"
    failure = ""
    try:
        _still_active(connection)
        adapter = info.load_adapter()
        adapter = adapter() if isinstance(adapter, type) else adapter
        caller = caller_for(connection)
        for kind in info.lists:
            what = _kind_label(kind)
            entries: list[EntryData] = []
            complete, cursor = False, ""
            progress[kind] = {"read": 0, "done": False}
            claim.update(progress=progress, lease_until=timezone.now() + LEASE)
            for page in adapter.read_list(
                caller, organisation=connection.external_id, kind=kind, since=cursors.get(kind, "")
            ):
                entries.extend(page.entries)
                progress[kind]["read"] = len(entries)
                # Each page renews the lease: a long read is not mistaken for a dead one.
                claim.update(progress=progress, lease_until=timezone.now() + LEASE)
                if page.last:
                    complete, cursor = page.complete, page.cursor
                    break
            _still_active(connection)
            store_entries(
                connection=connection, kind=kind, entries=entries, complete=complete, started=claim.started
            )
            cursors[kind] = cursor
            progress[kind]["done"] = True
            claim.update(progress=progress, cursors=cursors)
        _still_active(connection)
    except _Superseded:
        logger.warning("Lists of connection %s: the read was taken over by another worker", connection.pk)
        return None
    except DomainError as exc:  # ProviderError and its kinds are DomainErrors
        failure = f"Could not read the {what} from {connection.label}: {exc.message}"
        logger.warning("Lists of connection %s: %s", connection.pk, failure)
    except Exception:  # an answer the adapter could not read, a bug: the row must not stay "running"
        logger.exception("Lists of connection %s: unexpected error", connection.pk)
        failure = f"Could not read the {what} from {connection.label}: something unexpected went wrong."
    end_read(account=account, connection=connection, claim=claim, failure=failure)
    return ListSync.objects.get(pk=claim.row_id)


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

# Values asked for at once per query (well under every database's limit on query parameters).
_CHUNK = 500


def find_match(
    *, connection: Connection, kind: str, name: str = "", code: str = "", use: str = ""
) -> ListEntry | None:
    """The active entry of `connection`'s `kind` list that a value from elsewhere stands for: the same
    code first (accounts: "429" is "429" in any chart that has it), then exactly the same name
    (ignoring case), then the same normalised name (`normalise`). None: nothing matches, the user
    chooses. The one rule for carrying a value over to other software, for matching free text typed
    before the lists existed, and for linking suppliers. `use` "costs" or "sales": only entries a cost
    (or sales) item may use."""
    return find_matches(connection=connection, kind=kind, wanted=[(name, code)], use=use).get((name, code))


def find_matches(
    *, connection: Connection, kind: str, wanted: Iterable[tuple[str, str]], use: str = ""
) -> dict[tuple[str, str], ListEntry]:
    """`find_match` for many (name, code) pairs at once, in a few queries whatever their number (the
    candidates: entries with one of the codes or one of the normalised names; a name equal ignoring
    case has the same normalised name). Pairs that match nothing are left out of the answer."""
    wanted = {(name or "", code or "") for name, code in wanted}
    entries = ListEntry.objects.filter(connection=connection, kind=kind, active=True)
    if use == "costs":
        entries = entries.filter(for_costs=True)
    elif use == "sales":
        entries = entries.filter(for_sales=True)
    keys = {pair: normalise(pair[0])[:300] for pair in wanted}
    codes = sorted({code for _, code in wanted if code})
    names = sorted({key for key in keys.values() if key})
    # A name with nothing left once normalised ("Ltd", "!!!") can still equal a name ignoring case.
    bare = sorted({name for (name, _), key in keys.items() if name and not key})
    found: dict[int, ListEntry] = {}
    for field, values in (("code__in", codes), ("match_name__in", names)):
        for start in range(0, len(values), _CHUNK):
            found.update((e.pk, e) for e in entries.filter(**{field: values[start : start + _CHUNK]}))
    if bare:
        either = Q()
        for name in bare:
            either |= Q(name__iexact=name)
        found.update((e.pk, e) for e in entries.filter(either))
    candidates = [found[pk] for pk in sorted(found)]  # the oldest entry first, as find_match always did
    by_code: dict[str, ListEntry] = {}
    by_name: dict[str, ListEntry] = {}
    by_key: dict[str, ListEntry] = {}
    for entry in candidates:
        if entry.code:
            by_code.setdefault(entry.code, entry)
        by_name.setdefault(entry.name.lower(), entry)
        if entry.match_name:
            by_key.setdefault(entry.match_name, entry)
    matches: dict[tuple[str, str], ListEntry] = {}
    for pair in wanted:
        name, code = pair
        entry = (by_code.get(code) if code else None) or (by_name.get(name.lower()) if name else None)
        if entry is None and name and keys[pair]:
            entry = by_key.get(keys[pair])
        if entry is not None:
            matches[pair] = entry
    return matches

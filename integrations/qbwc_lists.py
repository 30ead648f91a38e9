"""QuickBooks Desktop's lists, read through the Web Connector: what its calls mean for the connection's
ListSync (integrations/lists.py). The SOAP service (integrations/providers/qbd.py) asks here what to
send next and hands over what QuickBooks answered; integrations/providers/qbd_lists.py writes and reads
the qbXML. Sources: docs/providers.md, "QuickBooks Desktop's lists".

`lists.request_sync` queues a read (state queued) and nothing else: the Web Connector is the scheduler.
Then, within one Web Connector session:

- authenticate: a queued read is work (`wanted`). A read still running from an earlier session (the
  Web Connector or QuickBooks stopped without closeConnection) is abandoned and queued again
  (`session_started`): its iterator died with that QuickBooks session.
- once our CompanyQuery has confirmed the company file, `start` claims the read (running, lease), so
  two runs never read at once;
- sendRequestXML sends `current(...).step`: the accounts, the sales-tax codes, then the vendor pages;
- receiveResponseXML (`answered`) keeps each page (ListReadPage) until its kind's last page has
  arrived, then stores the kind (complete only for a full read), its cursor and its progress; after the
  last kind, `lists.end_read` (done, last read, the `lists_read` signal). QuickBooks answering an error
  (statusCode 1000 or more, an HRESULT) fails the read with a message; the last good lists stay.
- closeConnection or connectionError while a read runs (`interrupted`): its pages are dropped and it is
  queued again, so the next run reads from the start. Nothing is ever half-stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from accounts.models import Account
from accounts.tenancy import in_account_scope

from . import catalog, lists, services
from .models import Connection, ConnectionStatus, ListSync, ListSyncState
from .providers.qbd_lists import ListAnswer, ListStep, iterates

logger = logging.getLogger("integrations.lists")

RUN_ENDED = (
    "The Web Connector's last run ended before QuickBooks Desktop had sent every list, so nothing from "
    "it was kept; the lists are read again at the Web Connector's next run."
)


@dataclass(frozen=True)
class Reading:
    """The read this session holds (`row`, claimed at row.started_at) and its next request."""

    row: ListSync
    step: ListStep


def _kinds(connection: Connection) -> tuple[str, ...]:
    info = catalog.provider_info(connection.provider)
    return info.lists if info is not None and info.lists_read == "web_connector" else ()


def wanted(connection: Connection) -> bool:
    """Is a list read waiting for the Web Connector (queued, or left running by an earlier session)?"""
    if not _kinds(connection):
        return False
    with scope(account=connection.account_id):
        return ListSync.objects.filter(
            connection=connection, state__in=(ListSyncState.QUEUED, ListSyncState.RUNNING)
        ).exists()


def _requeue(connection: Connection, message: str) -> None:
    row = ListSync.objects.filter(connection=connection, state=ListSyncState.RUNNING).first()
    if row is None:
        return
    lists.drop_pages(connection=connection)
    ListSync.objects.filter(pk=row.pk, state=ListSyncState.RUNNING, started_at=row.started_at).update(
        state=ListSyncState.QUEUED,
        lease_until=None,
        progress={},
        message=(message + lists.kept_note(row.last_success_at))[:500],
    )
    logger.info("Lists of connection %s: a read was left half-way and is queued again", connection.pk)


@in_account_scope
def session_started(*, account: Account, connection: Connection) -> None:
    """A new Web Connector session: a read still running belongs to an earlier one, whose iterators
    QuickBooks has forgotten ("only valid for the current QuickBooks session"): read again."""
    _requeue(connection, RUN_ENDED)


@in_account_scope
def interrupted(*, account: Account, connection: Connection) -> None:
    """The session ends (closeConnection, connectionError) while a read runs: read again next run."""
    _requeue(connection, RUN_ENDED)


@in_account_scope
def start(*, account: Account, connection: Connection) -> bool:
    """The company file is confirmed: claim a queued read for this session (True), or there is none."""
    if connection.status != ConnectionStatus.ACTIVE or not _kinds(connection):
        return False
    if lists.begin_read(account=account, connection=connection) is None:
        return False
    lists.drop_pages(connection=connection)
    return True


@in_account_scope
def current(*, account: Account, connection: Connection) -> Reading | None:
    """The read this session holds and the request it needs next; None when none runs."""
    row = ListSync.objects.filter(connection=connection, state=ListSyncState.RUNNING).first()
    if row is None:
        return None
    progress = row.progress or {}
    kind = next((k for k in _kinds(connection) if not progress.get(k, {}).get("done")), None)
    if kind is None:
        return None
    last = lists.last_kept_page(connection=connection, kind=kind, started=row.started_at)
    return Reading(
        row=row,
        step=ListStep(
            kind=kind,
            page=last.number + 1 if last else 1,
            since=(row.cursors or {}).get(kind, ""),
            iterator_id=last.iterator_id if last else "",
        ),
    )


def _percent(connection: Connection, kind: str, read: int, remaining: int) -> int:
    kinds = _kinds(connection)
    share = read / (read + remaining) if read + remaining else 1
    return min(99, max(1, int(100 * (kinds.index(kind) + share) / len(kinds))))


@in_account_scope
def failed(*, account: Account, connection: Connection, reading: Reading, problem: str) -> int:
    """QuickBooks could not answer `reading`'s request: the read fails, the last good lists stay, and
    the Web Connector shows the message (getLastError after -1)."""
    message = f"Could not read the {lists.KIND_WORDS[reading.step.kind]} from {connection.label}: {problem}"
    lists.drop_pages(connection=connection)
    lists.end_read(account=account, connection=connection, claim=lists.Claim.of(reading.row), failure=message)
    row = ListSync.objects.get(pk=reading.row.pk)
    logger.warning("Lists of connection %s: %s", connection.pk, message)
    services.qbwc_run_failed(account=account, connection=connection, message=row.message or message)
    return -1


@in_account_scope
def answered(
    *, account: Account, connection: Connection, reading: Reading, answer: ListAnswer | None, version: str
) -> int:
    """QuickBooks answered `reading`'s request. Returns what receiveResponseXML answers: the percentage
    done (more to read), 100 (every list stored), or -1 (the read failed)."""
    step = reading.step
    if answer is None:
        return failed(
            account=account,
            connection=connection,
            reading=reading,
            problem="QuickBooks' answer could not be read. The lists are read again when asked.",
        )
    if not answer.answered:
        return failed(
            account=account,
            connection=connection,
            reading=reading,
            problem=f"QuickBooks answered with statusCode {answer.status_code} ({answer.status_message}).",
        )
    more = iterates(step.kind, version) and answer.remaining > 0
    if more and not answer.iterator_id:
        return failed(
            account=account,
            connection=connection,
            reading=reading,
            problem="QuickBooks said more entries remain but named no iterator to continue.",
        )
    with transaction.atomic():
        # Lock the claim: a read abandoned meanwhile (a new session took over) stores nothing.
        row = (
            ListSync.objects.select_for_update()
            .filter(pk=reading.row.pk, state=ListSyncState.RUNNING, started_at=reading.row.started_at)
            .first()
        )
        if row is None:
            return 100
        last = lists.last_kept_page(connection=connection, kind=step.kind, started=row.started_at)
        if last is not None and last.number >= step.page:
            return 1  # the same answer twice (a repeated call): kept already; the next request follows
        lists.keep_page(
            connection=connection,
            kind=step.kind,
            started=row.started_at,
            number=step.page,
            entries=answer.entries,
            iterator_id=answer.iterator_id,
            remaining=answer.remaining if more else 0,
        )
        read = (row.progress or {}).get(step.kind, {}).get("read", 0) + len(answer.entries)
        progress = {**(row.progress or {}), step.kind: {"read": read, "done": not more}}
        fields: dict = {"progress": progress, "lease_until": timezone.now() + lists.LEASE}
        if not more:
            entries = lists.kept_entries(
                lists.kept_pages(connection=connection, kind=step.kind, started=row.started_at)
            )
            lists.store_entries(
                connection=connection, kind=step.kind, entries=entries, complete=not step.since
            )
            stamps = [e.changed_at for e in entries if e.changed_at]
            # The next read asks for what changed since the newest change this one saw (QuickBooks'
            # clock); a read that returned nothing keeps the marker it was asked with.
            fields["cursors"] = {
                **(row.cursors or {}),
                step.kind: max(stamps).isoformat() if stamps else step.since,
            }
            lists.drop_pages(connection=connection, kind=step.kind)
        ListSync.objects.filter(pk=row.pk).update(**fields)
        for field, value in fields.items():
            setattr(row, field, value)
    if more:
        return _percent(connection, step.kind, read, answer.remaining)
    kinds = _kinds(connection)
    if any(not progress.get(k, {}).get("done") for k in kinds):
        return _percent(connection, step.kind, 1, 0)
    lists.end_read(account=account, connection=connection, claim=lists.Claim.of(row))
    return 100

"""Publishing to QuickBooks Desktop through the Web Connector's queue (issue 10 §4).

QuickBooks Desktop cannot be called: the customer's QuickBooks Web Connector calls us (our SOAP service,
integrations/providers/qbd.py) every few minutes and runs the qbXML we hand it. So a publish attempt to
a QuickBooks Desktop connection is made by `costs.publishing.request_publish` as for every provider (its
target frozen, its key), but no task runs it: it waits in the connection's queue (its open attempts)
until the Web Connector comes. Then, within one Web Connector session, after our CompanyQuery has
confirmed the company file (and after a list read waiting for that session):

- `authenticate` answers "none" unless there is work: `wanted` (an attempt that is due and no session
  holds) is part of integrations.services.qbwc_work_pending, beside a list read;
- `next_request` (sendRequestXML) claims up to BATCH_MAX due attempts of the connection with one
  conditional UPDATE that takes a lease tied to this session (`sent_key` = "qbwc:<digest of the
  ticket>"): two sessions (or a repeated call) never hand one attempt out twice. An attempt that may
  already be in QuickBooks (`sent_at` set: its answer was lost) is looked up (`BillQuery`,
  `VendorCreditQuery`, `InvoiceQuery` by vendor and RefNumber, integrations/providers/qbd_publish.py);
  the others are added (`BillAddRq`, `VendorCreditAddRq`, `InvoiceAddRq`, requestID = the attempt's
  key). `sent_at` is committed before the message set is returned; `sent_body` keeps the request sent.
  One message set, `onError="continueOnError"`: one refused document does not stop the others.
- `answered` (receiveResponseXML) reads each request's `statusCode` by its requestID: an add with
  0-999 is Published (its TxnID the item's external id), 1000+ Rejected with QuickBooks' statusMessage
  (item Failed), 1010/3170 (busy) queued again, nothing created; a lookup that finds ours is Published,
  one that finds nothing makes the attempt safe to add (queued, `sent_at` cleared), and the same session
  adds it at once. A request with no answer (the answer was lost) is in doubt: looked up before it is
  ever added again.
- The session ends without an answer for what it was handed: closeConnection, connectionError, an
  HRESULT in receiveResponseXML (`interrupted`) make those attempts in doubt at once; a session that
  just stops (the Web Connector lost the connection) leaves them leased until LEASE runs out, shorter
  than the Web Connector's schedule (15 minutes, the .qwc), and the next run looks them up first.

A supplier with no vendor in our lists: `VendorAddRq` goes just before its document (named by FullName)
in the same message set; the vendor QuickBooks creates goes into our lists and the supplier is linked to
it. A name QuickBooks has already (3100) is simply found by the document.

Published and Failed are recorded by costs.publishing's `_finish` (item, attempt and activity log in one
transaction), the same as for the other providers.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_scopes import scope

from accounts.errors import DomainError
from accounts.models import Account
from accounts.tenancy import in_account_scope
from integrations import catalog
from integrations.models import Connection, ConnectionStatus, ListEntry, ListKind
from integrations.providers import qbd_publish
from integrations.providers.base import ProviderError
from integrations.providers.lists import EntryData
from integrations.providers.publishing import (
    BillData,
    InDoubt,
    NotFound,
    Outcome,
    Party,
    Published,
    Rejected,
    RetryAfter,
)

from .models import OPEN_ATTEMPT_STATES, AttemptState, PublishAttempt

logger = logging.getLogger("costs.publishing")

# Documents in one message set (QuickBooks answers them one by one; a few dozen take seconds).
BATCH_MAX = 50
# How long a session holds what it was handed when it never says what became of it: less than the Web
# Connector's schedule (RunEveryNMinutes 15 in our .qwc), so the next run looks them up.
LEASE = timedelta(minutes=10)
WAITING = "Waiting for the QuickBooks Web Connector's next run."
SESSION_PREFIX = "qbwc:"


def waits_for_web_connector(connection: Connection) -> bool:
    """Is `connection` published to by the Web Connector calling us (no task runs its attempts)?"""
    info = catalog.provider_info(connection.provider)
    return info is not None and info.connect_kind == "web_connector"


def web_connector_providers() -> tuple[str, ...]:
    return tuple(catalog.keys(catalog.of_kind("web_connector")))


def session_key(ticket: str) -> str:
    """The lease holder of a Web Connector session: a digest of its ticket (never the ticket)."""
    return SESSION_PREFIX + hashlib.sha256(ticket.encode()).hexdigest()[:32]


def _due(connection: Connection, now):
    """The connection's open attempts no session holds and whose time has come."""
    return (
        PublishAttempt.objects.filter(connection=connection, state__in=OPEN_ATTEMPT_STATES)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .filter(Q(next_try_at__isnull=True) | Q(next_try_at__lte=now))
    )


def wanted(connection: Connection) -> bool:
    """Is a publish waiting for the Web Connector (an attempt due that no session holds)?"""
    if connection.status != ConnectionStatus.ACTIVE or not waits_for_web_connector(connection):
        return False
    with scope(account=connection.account_id):
        return _due(connection, timezone.now()).exists()


def _held(connection: Connection, ticket: str):
    return PublishAttempt.objects.filter(
        connection=connection, state=AttemptState.SENDING, sent_key=session_key(ticket)
    )


def holds(connection: Connection, ticket: str) -> bool:
    """Has this session been handed attempts whose answer it has not brought back yet?"""
    with scope(account=connection.account_id):
        return _held(connection, ticket).exists()


def _is_lookup(attempt: PublishAttempt) -> bool:
    return "QueryRq " in attempt.sent_body[:40]


def _ref_bill(attempt: PublishAttempt) -> BillData:
    """What reading an answer needs of the document: its key and number (the item is frozen while it
    is published, so its reference is the one sent)."""
    item = attempt.item
    return BillData(
        key=attempt.key, kind=item.type, number=item.reference, date=item.date, supplier=Party(), lines=()
    )


@dataclass(frozen=True)
class _Handed:
    attempt: PublishAttempt
    request: str


@in_account_scope
def next_request(*, account: Account, connection: Connection, ticket: str) -> str | None:
    """The qbXML message set for this session's next sendRequestXML: lookups of the attempts in doubt and
    adds of the others (claimed for this session); None when nothing is due."""
    from .publishing import _finish, bill_for

    version = connection.options.get("qbxml_version", "")
    country = connection.options.get("qbxml_country", "") or "US"
    holder = session_key(ticket)
    while True:
        now = timezone.now()
        with transaction.atomic():
            ids = list(_due(connection, now).order_by("pk").values_list("pk", flat=True)[:BATCH_MAX])
            if not ids:
                return None
            # The claim: one conditional UPDATE (still open, still free); another session's claim of the
            # same rows makes these match nothing.
            _due(connection, now).filter(pk__in=ids).update(
                state=AttemptState.SENDING,
                lease_until=now + LEASE,
                tries=F("tries") + 1,
                sent_key=holder,
                message="",
                updated_at=now,
            )
        claimed = list(
            _held(connection, ticket)
            .filter(pk__in=ids)
            .select_related("item__supplier", "connection")
            .order_by("pk")
        )
        handed: list[_Handed] = []
        for attempt in claimed:
            try:
                bill = bill_for(account, attempt)
            except (DomainError, ProviderError) as exc:
                bill = Rejected(str(exc), getattr(exc, "code", ""))
            if isinstance(bill, Rejected):
                _finish(account, attempt, bill)
                continue
            if attempt.sent_at is not None:
                handed.append(_Handed(attempt, qbd_publish.lookup_query(bill)))
                continue
            add = qbd_publish.add_request(bill, version=version, country=country)
            if isinstance(add, Rejected):
                _finish(account, attempt, add)
                continue
            if not bill.supplier.external_id and qbd_publish.operation_of(bill) != "InvoiceAdd":
                # A supplier QuickBooks may not have: added just before the document that names it.
                add = qbd_publish.vendor_add_request(bill) + add
            handed.append(_Handed(attempt, add))
        if not handed:
            continue  # every claimed one was refused before sending: look for more
        for one in handed:
            # Committed before the message set leaves: from now on it is looked up before any new add.
            PublishAttempt.objects.filter(pk=one.attempt.pk, sent_key=holder).update(
                sent_at=one.attempt.sent_at or now, sent_body=one.request, updated_at=now
            )
        logger.info(
            "QuickBooks Desktop connection %s: %s documents handed to the Web Connector",
            connection.pk,
            len(handed),
        )
        return qbd_publish.message_set([one.request for one in handed], version=version)


def _release(attempt: PublishAttempt, *, state: str, message: str, fields: dict | None = None) -> None:
    PublishAttempt.objects.filter(pk=attempt.pk, state=AttemptState.SENDING, tries=attempt.tries).update(
        state=state,
        lease_until=None,
        message=message[:1000],
        updated_at=timezone.now(),
        **(fields or {}),
    )


def _record(account: Account, attempt: PublishAttempt, outcome: Outcome) -> None:
    from .publishing import _finish

    if isinstance(outcome, Published | Rejected):
        _finish(account, attempt, outcome)
    elif isinstance(outcome, RetryAfter):
        # QuickBooks was busy: nothing was created. Sent again after the wait (a new add, no lookup).
        _release(
            attempt,
            state=AttemptState.QUEUED,
            message=outcome.message,
            fields={"sent_at": None, "next_try_at": timezone.now() + timedelta(seconds=outcome.seconds)},
        )
    elif isinstance(outcome, NotFound):
        # It is not in QuickBooks: safe to add (this session adds it at once).
        _release(
            attempt, state=AttemptState.QUEUED, message=WAITING, fields={"sent_at": None, "next_try_at": None}
        )
    else:
        message = outcome.message if isinstance(outcome, InDoubt) else str(outcome)
        _release(
            attempt,
            state=AttemptState.IN_DOUBT,
            message=f"{message} It is looked up at the Web Connector's next run before it is sent again.",
            fields={"next_try_at": None},
        )


@in_account_scope
def answered(*, account: Account, connection: Connection, ticket: str, response: str) -> int:
    """QuickBooks' answers to this session's last message set (receiveResponseXML). Returns what
    receiveResponseXML answers: 50 when more is due (the Web Connector asks for it at once), else 100."""
    held = list(_held(connection, ticket).select_related("item__supplier", "connection").order_by("pk"))
    for attempt in held:
        bill = _ref_bill(attempt)
        if _is_lookup(attempt):
            outcome = qbd_publish.read_lookup(response, bill)
        else:
            if attempt.sent_body.startswith("<VendorAddRq"):
                _vendor_added(account, connection, attempt, qbd_publish.read_vendor_add(response, bill))
            [outcome] = qbd_publish.read_adds(response, [bill])
        _record(account, attempt, outcome)
    return 50 if _due(connection, timezone.now()).exists() else 100


def _vendor_added(account: Account, connection: Connection, attempt: PublishAttempt, vendor) -> None:
    """QuickBooks created the supplier's vendor: into our lists, and the supplier linked to it (its next
    documents name it by ListID). None (the name was in use already): the next lists read brings it."""
    from integrations import lists

    from .models import SupplierLink, SupplierMatch

    if vendor is None or attempt.item.supplier_id is None:
        return
    list_id, name = vendor
    lists.store_entries(
        connection=connection,
        kind=ListKind.SUPPLIER,
        entries=[EntryData(kind=ListKind.SUPPLIER, external_id=list_id, name=name)],
        complete=False,
    )
    entry = ListEntry.objects.get(connection=connection, kind=ListKind.SUPPLIER, external_id=list_id)
    link, _ = SupplierLink.objects.get_or_create(
        account=account, supplier=attempt.item.supplier, connection=connection
    )
    SupplierLink.objects.filter(pk=link.pk).update(
        entry=entry, matched_by=SupplierMatch.CREATED, linked_at=timezone.now()
    )
    logger.info("Supplier %s added to %s as vendor %s", attempt.item.supplier_id, connection.label, list_id)


@in_account_scope
def interrupted(*, account: Account, connection: Connection, ticket: str, why: str = "") -> int:
    """The session ended (closeConnection, connectionError) or QuickBooks could not run the message set
    (an HRESULT) before we heard what became of what it was handed: all of it is in doubt, looked up
    first at the next run. Returns how many."""
    held = list(_held(connection, ticket))
    for attempt in held:
        _record(
            account,
            attempt,
            InDoubt(why or f"The Web Connector's run ended before {qbd_publish.LABEL} said what it did."),
        )
    return len(held)

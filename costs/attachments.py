"""The document goes with the bill (issue 11 §6): after a bill is published, the item's document is
attached to it in the software it went to, as a SEPARATE step that never publishes the bill again.

- `enqueue_attachment(attempt)`: called by the publishing worker once it has recorded Published (in
  the same transaction). No document: nothing. A target that takes no attachments (QuickBooks
  Desktop's qbXML has none): `unsupported`, which the item page says. Otherwise the document is
  `pending` with a new idempotency key and the task costs.tasks.attach_document is enqueued on commit.
- `run_attachment` (the task's work): claims the document with one conditional UPDATE that takes a
  lease (two workers never send one attachment at once), reads the file through Django's storage and
  calls the adapter of the software the bill is in (ApprovalMax's bills are in the main software,
  Xero SUBMITTED: attached there, as publishing._sender decides). Outcomes:
  attached (the provider's attachment id) | failed (the provider's words) | a rate limit (429: queued
  again after its wait, the task's `run_after`, as the publishing worker does) | 5xx/timeout/lost
  answer (retried in the call with stamina's capped, jittered backoff, looking up first where the
  provider has no key; then again later, and after MAX_RUNS runs failed) | authorisation expired after
  the caller's one refresh (the connection "Needs reconnecting"; failed, with what to do).
- `attach_again` (the "Attach again" button): only a published item whose attachment failed, by users
  who may publish (accounts/permissions.py "items.publish"); re-runs the attach step only.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import stamina
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.activity import record
from accounts.errors import DomainError
from accounts.models import Account, User
from accounts.permissions import require
from accounts.tenancy import in_account_scope
from integrations import catalog
from integrations.models import ConnectionStatus
from integrations.providers.attaching import AttachmentData, file_name_for
from integrations.providers.publishing import (
    AuthExpired,
    InDoubt,
    NotFound,
    Outcome,
    Published,
    Rejected,
    RetryAfter,
)
from integrations.tokens import NeedsReconnect

from .ids import parse_id
from .models import AttachState, AttemptState, Document, Item, ItemStatus, PublishAttempt

logger = logging.getLogger("costs.attachments")


def takes_attachments(provider: str) -> bool:
    """Does the software that sends the bill (publishing._sender's answer) take attachments? The
    registry says (catalog's `attacher`)."""
    info = catalog.provider_info(provider)
    return bool(info and info.attacher)


LEASE = timedelta(minutes=5)
IN_CALL_ATTEMPTS = 3
IN_CALL_WAIT_INITIAL = 0.5
IN_CALL_WAIT_MAX = 8.0
# Runs (each with its in-call retries) before a file that cannot be got through is failed: the user
# then has "Attach again".
MAX_RUNS = 5

MAY_NOT_ATTACH = (
    "You may not publish items in this account, so you cannot attach their documents. Ask an Admin."
)


def unsupported_message(label: str) -> str:
    return f"{label} cannot take attachments: attach the document in {label} by hand if you need it there."


# --- after Published ------------------------------------------------------------------------------


def enqueue_attachment(attempt: PublishAttempt) -> str | None:
    """The attach step for a just-published attempt (call inside the transaction that recorded
    Published). Returns the document's attach state, None when the item has no document."""
    return enqueue_attachments([attempt]).get(attempt.pk)


def enqueue_attachments(attempts: list[PublishAttempt]) -> dict[int, str]:
    """`enqueue_attachment` for the just-published attempts of a batch, in a constant number of
    queries: one read of their items' documents, one write per attach state. Returns each attempt's
    document's attach state, by attempt id (no entry: its item has no document)."""
    from .publishing import _sender

    if not attempts:
        return {}
    documents = {
        d.item_id: d
        for d in Document.objects.filter(item_id__in=[a.item_id for a in attempts]).only("pk", "item_id")
    }
    providers: dict[int, str] = {}  # by connection id: a batch's attempts share one
    unsupported: dict[str, list[int]] = {}
    pending: list[tuple[int, int]] = []  # (account id, document id)
    states: dict[int, str] = {}
    for attempt in attempts:
        document = documents.get(attempt.item_id)
        if document is None:
            continue
        if attempt.connection_id not in providers:
            sender = _sender(attempt)
            providers[attempt.connection_id] = (
                sender[0] if not isinstance(sender, Rejected) else attempt.connection.provider
            )
        provider = providers[attempt.connection_id]
        if not takes_attachments(provider):
            unsupported.setdefault(provider, []).append(document.pk)
            states[attempt.pk] = AttachState.UNSUPPORTED
        else:
            pending.append((attempt.account_id, document.pk))
            states[attempt.pk] = AttachState.PENDING
    for provider, ids in unsupported.items():
        Document.objects.filter(pk__in=ids).update(
            attach_state=AttachState.UNSUPPORTED,
            attach_message=unsupported_message(catalog.label_of(provider)),
            attach_lease_until=None,
            attach_next_try_at=None,
        )
    _make_pending_many([pk for _, pk in pending])
    for account_id, document_id in pending:
        _enqueue_on_commit(account_id, document_id)
    return states


def _pending(now) -> dict:
    """What a document waiting for its attach step holds (but its new `attach_key`, one per document).
    Due now: a task lost before it ran is found by the sweeper (`stale`) after SWEEP_GRACE."""
    return {
        "attach_state": AttachState.PENDING,
        "attach_message": "",
        "attach_external_id": "",
        "attached_at": None,
        "attach_tries": 0,
        "attach_lease_until": None,
        "attach_next_try_at": now,
        "attach_sent_at": None,
    }


def _make_pending(document_id: int, *, only_from: str | None = None) -> int:
    rows = Document.objects.filter(pk=document_id)
    if only_from is not None:
        rows = rows.filter(attach_state=only_from)
    return rows.update(**_pending(timezone.now()), attach_key=uuid.uuid4().hex)


def _make_pending_many(document_ids: list[int]) -> None:
    """`_make_pending` of many documents in one statement, each with its own new key."""
    if not document_ids:
        return
    values = _pending(timezone.now())
    documents = [Document(pk=pk, attach_key=uuid.uuid4().hex, **values) for pk in document_ids]
    Document.objects.bulk_update(documents, [*values, "attach_key"])


def _enqueue_on_commit(account_id: int, document_id: int, run_after=None) -> None:
    def enqueue() -> None:
        from .tasks import attach_document

        task = attach_document.using(run_after=run_after) if run_after is not None else attach_document
        task.enqueue(account_id=account_id, document_id=document_id)

    transaction.on_commit(enqueue)


def stale(now=None):
    """Pending documents no worker holds and whose task is gone: the lease ran out (a killed worker),
    or their time came SWEEP_GRACE ago and no task ran them."""
    from .publishing import SWEEP_GRACE

    now = now or timezone.now()
    return Document.objects.filter(attach_state=AttachState.PENDING).filter(
        Q(attach_lease_until__lt=now)
        | (Q(attach_lease_until__isnull=True) & Q(attach_next_try_at__lt=now - SWEEP_GRACE))
    )


def sweep(now=None) -> int:
    """Re-enqueue every stale attach step (all accounts; each task re-enters its own scope; the claim
    decides who runs it). Run by the publishing sweeper's task. Returns how many."""
    from django_scopes import scopes_disabled

    from .tasks import attach_document

    with scopes_disabled():
        rows = list(stale(now).values_list("account_id", "pk"))
    for account_id, document_id in rows:
        attach_document.enqueue(account_id=account_id, document_id=document_id)
    if rows:
        logger.info("Re-enqueued %s stale attach steps", len(rows))
    return len(rows)


# --- "Attach again" ---------------------------------------------------------------------------------


@in_account_scope
def attach_again(*, account: Account, acting_user: User, item_id: int | str) -> Document:
    """Attach a published item's document again after its attachment failed. Never publishes the bill."""
    require(user=acting_user, account=account, permission="items.publish", refusal=MAY_NOT_ATTACH)
    pk = parse_id(item_id)
    with transaction.atomic():
        item = (
            Item.objects.select_for_update().filter(account=account, pk=pk).first()
            if pk is not None
            else None
        )
        if item is None:
            raise DomainError("This item is not in this account.", code="unknown_item")
        document = Document.objects.filter(item=item).first()
        if document is None:
            raise DomainError("This item has no document to attach.", code="no_document")
        if item.status != ItemStatus.PUBLISHED:
            raise DomainError(
                "Only a published item's document can be attached to its bill.", code="not_published"
            )
        if document.attach_state != AttachState.FAILED:
            raise DomainError(
                {
                    AttachState.ATTACHED: "The document is already attached to the bill.",
                    AttachState.PENDING: "The document is being attached now.",
                    AttachState.UNSUPPORTED: document.attach_message or "This software takes no attachments.",
                }.get(
                    document.attach_state, "Only a document whose attachment failed can be attached again."
                ),
                code="not_failed",
            )
        if not _make_pending(document.pk, only_from=AttachState.FAILED):
            raise DomainError("The document is being attached now.", code="not_failed")
        record(
            account=account,
            actor=acting_user,
            action="item.attach_retried",
            summary=f"Asked to attach {document.original_name} to {item} again",
        )
        _enqueue_on_commit(account.pk, document.pk)
    document.refresh_from_db()
    return document


# --- the worker -----------------------------------------------------------------------------------


def claim(document_id: int, now=None) -> Document | None:
    now = now or timezone.now()
    taken = (
        Document.objects.filter(pk=document_id, attach_state=AttachState.PENDING)
        .filter(Q(attach_lease_until__isnull=True) | Q(attach_lease_until__lt=now))
        .filter(Q(attach_next_try_at__isnull=True) | Q(attach_next_try_at__lte=now))
        .update(attach_lease_until=now + LEASE, attach_tries=F("attach_tries") + 1)
    )
    if not taken:
        return None
    return Document.objects.select_related("item__published_to").get(pk=document_id)


@in_account_scope
def run_attachment(*, account: Account, document_id: int) -> str | None:
    """Attach one document (the task's work). Returns its attach state afterwards, None when it was not
    this worker's to run."""
    from .publishing import _sender

    document = claim(document_id)
    if document is None or document.account_id != account.pk:
        return None
    item = document.item
    attempt = (
        PublishAttempt.objects.filter(item=item, state=AttemptState.PUBLISHED)
        .select_related("connection")
        .order_by("-pk")
        .first()
    )
    if item.status != ItemStatus.PUBLISHED or attempt is None or not item.external_id:
        return _finish(
            account, document, Rejected("The bill is not published, so there is nothing to attach to.")
        )
    sender = _sender(attempt)
    if isinstance(sender, Rejected):
        return _finish(account, document, sender)
    provider, connection = sender
    if not takes_attachments(provider):
        return _finish(account, document, Rejected(unsupported_message(connection.label), "unsupported"))
    if connection.status != ConnectionStatus.ACTIVE:
        return _finish(
            account,
            document,
            Rejected(f"{connection.label} is not connected now: reconnect it, then use Attach again."),
        )
    try:
        with document.file.open("rb") as handle:
            content = handle.read()
    except OSError:
        logger.exception("Document %s could not be read from storage", document.pk)
        return _finish(account, document, InDoubt("The document could not be read from storage just now."))
    attachment = AttachmentData(
        bill_id=item.external_id,
        kind=item.type,
        file_name=file_name_for(
            document.original_name, document.content_type, fallback=item.reference or "document"
        ),
        content_type=document.content_type,
        content=content,
        key=document.attach_key or uuid.uuid4().hex,
    )
    outcome = deliver(document, provider, connection, attachment)
    return _finish(account, document, outcome, connection=connection)


class _StillInDoubt(Exception):
    def __init__(self, outcome: InDoubt) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


def deliver(document: Document, provider: str, connection, attachment: AttachmentData) -> Outcome:
    """Send the file (looking it up first where it may have arrived and the provider has no key); a
    lost answer is tried again in the call with capped, jittered exponential backoff."""

    @stamina.retry(
        on=_StillInDoubt,
        attempts=IN_CALL_ATTEMPTS,
        wait_initial=IN_CALL_WAIT_INITIAL,
        wait_max=IN_CALL_WAIT_MAX,
        wait_jitter=1.0,
    )
    def once() -> Outcome:
        try:
            outcome = _send_once(document, provider, connection, attachment)
        except NeedsReconnect as exc:
            return AuthExpired(exc.message)
        if isinstance(outcome, InDoubt):
            raise _StillInDoubt(outcome)
        return outcome

    try:
        return once()
    except _StillInDoubt as exc:
        return exc.outcome


def _send_once(document: Document, provider: str, connection, attachment: AttachmentData) -> Outcome:
    from integrations.provider_calls import caller_for
    from integrations.providers import billcom_attach

    caller = caller_for(connection)
    organisation = connection.external_id
    document.refresh_from_db(fields=["attach_sent_at"])
    if provider == "billcom" and document.attach_sent_at is not None:
        found = billcom_attach.find(caller, organisation=organisation, attachment=attachment)
        if not isinstance(found, NotFound):
            return found
    # Xero (Idempotency-Key; the same file name replaces) and QuickBooks Online (requestid) cover a
    # resend themselves.
    first = document.attach_sent_at is None
    _mark_sent(document)
    adapter = catalog.provider_info(provider).load_attacher()
    outcome = adapter.send(caller, organisation=organisation, attachment=attachment)
    if first and isinstance(outcome, RetryAfter | Rejected):
        # Refused before anything was stored: the next send need not look it up.
        Document.objects.filter(pk=document.pk).update(attach_sent_at=None)
    return outcome


def _mark_sent(document: Document) -> None:
    Document.objects.filter(pk=document.pk).update(attach_sent_at=Coalesce("attach_sent_at", timezone.now()))


def _mine(document: Document):
    return Document.objects.filter(
        pk=document.pk, attach_state=AttachState.PENDING, attach_tries=document.attach_tries
    )


def _later(tries: int) -> timedelta:
    from .publishing import later

    return later(tries)


def _finish(account: Account, document: Document, outcome: Outcome, connection=None) -> str | None:
    from integrations.services import mark_needs_reconnect

    now = timezone.now()
    item = document.item
    if isinstance(outcome, RetryAfter) or (isinstance(outcome, InDoubt) and document.attach_tries < MAX_RUNS):
        when = now + (
            timedelta(seconds=outcome.seconds)
            if isinstance(outcome, RetryAfter)
            else _later(document.attach_tries)
        )
        with transaction.atomic():
            if not _mine(document).update(
                attach_lease_until=None, attach_next_try_at=when, attach_message=outcome.message[:1000]
            ):
                return None
            _enqueue_on_commit(account.pk, document.pk, run_after=when)
        return AttachState.PENDING
    if isinstance(outcome, Published):
        with transaction.atomic():
            if not _mine(document).update(
                attach_state=AttachState.ATTACHED,
                attach_external_id=outcome.external_id[:200],
                attached_at=now,
                attach_message="",
                attach_lease_until=None,
                attach_next_try_at=None,
            ):
                return None
            record(
                account=account,
                actor=None,
                action="item.document_attached",
                summary=f"Attached {document.original_name} to {item} ({outcome.external_id})",
                after=outcome.external_id,
            )
        return AttachState.ATTACHED
    if isinstance(outcome, AuthExpired) and connection is not None:
        mark_needs_reconnect(account=account, connection=connection, reason=outcome.message)
        message = f"{outcome.message} Reconnect {connection.label}, then use Attach again."
    elif isinstance(outcome, InDoubt):
        message = f"{outcome.message} It was tried {document.attach_tries} times: use Attach again."
    else:
        message = outcome.message
    with transaction.atomic():
        if not _mine(document).update(
            attach_state=AttachState.FAILED,
            attach_message=message[:1000],
            attach_lease_until=None,
            attach_next_try_at=None,
        ):
            return None
        record(
            account=account,
            actor=None,
            action="item.attach_failed",
            summary=f"Attaching {document.original_name} to {item} failed: {message}",
        )
    return AttachState.FAILED

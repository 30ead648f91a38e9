"""Publishing (issue 10): Ready items go to their effective integration through a durable queue.

Requests (services, in the account's scope, permission "items.publish" via accounts/permissions.py):
- `request_publish`: only Ready items. Each accepted item becomes Publishing, with a PublishAttempt that
  freezes its target (routing's answer at that moment; `Item.published_to` holds the same connection
  while it is in flight, so routing answers it whatever changes) and an idempotency key every retry of
  that attempt reuses. The others are reported as skipped, with the reason; nothing is sent for them.
- `retry`: a Failed item gets a new attempt to where it publishes NOW (re-routed).
- `cancel`: an attempt that was never handed to the provider goes back to Ready.

The worker (`run_attempt`, run by the django-tasks task costs.tasks.publish_attempt, enqueued on commit):
1. claims the attempt with one conditional UPDATE (open, lease free or expired, due) that takes a lease;
   a worker that loses the race does nothing: two workers never send one attempt at once;
2. builds the BillData from the lists (costs/lists.values_for) and, where the supplier is not in the
   software yet, creates it (costs/linking.supplier_in, idempotently);
3. if the document may already have reached the provider (`sent_at`: a killed worker, a lost answer),
   looks it up first (the adapter's `find`), or for Xero, within its key's 6 minutes, resends exactly the
   same body under the same key; QuickBooks Online's requestid covers any resend;
4. calls the adapter through integrations.provider_calls.caller_for and records the outcome:
   Published → item Published; Rejected → item Failed with the provider's words; RetryAfter → queued
   again after the wait (task `run_after`); AuthExpired (the caller already refreshed once) → the
   connection "Needs reconnecting", the item waits (not failed); InDoubt (5xx, timeout, lost answer) →
   retried in the call with capped, jittered exponential backoff (stamina), always looking up first,
   then left in doubt for a later run.
The sweeper (`sweep`, on a schedule: integrations/schedules.py) re-enqueues open attempts whose lease
expired (the worker died) or that no task carries any more, with the same key: never stuck, never
duplicated.

Xero's attempts go in batches of up to 50 a call (run_batch, below: one Idempotency-Key per batch,
derived from its attempts); the others one document a call. Every call waits for its provider's limits,
shared by all workers (integrations/ratelimit.py).
QuickBooks Desktop is not called: its attempts wait in the connection's queue for the Web Connector,
which calls us (costs/qbwc_publishing.py); no task runs them and the sweeper leaves them alone.
"""

from __future__ import annotations

import json
import logging
import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import stamina
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_scopes import scopes_disabled

from accounts.activity import record, record_many
from accounts.errors import DomainError
from accounts.models import Account, User
from accounts.permissions import require
from accounts.tenancy import in_account_scope
from integrations import catalog
from integrations.lists import source_for
from integrations.models import LIVE_STATUSES, Connection, ConnectionStatus
from integrations.providers.base import ProviderError
from integrations.providers.publishing import (
    BILL,
    CREDIT_NOTE,
    SALES_INVOICE,
    TAX_INCLUSIVE,
    AuthExpired,
    BillData,
    BillLine,
    InDoubt,
    NotFound,
    Outcome,
    Party,
    Published,
    Rejected,
    RetryAfter,
    outcome_of,
)
from integrations.tokens import NeedsReconnect

from . import lists, payment_accounts, qbwc_publishing
from .attachments import enqueue_attachment, enqueue_attachments
from .ids import parse_id
from .models import (
    OPEN_ATTEMPT_STATES,
    AttemptState,
    Item,
    ItemStatus,
    PublishAttempt,
    PublishBatch,
)
from .routing import effective_integration, load_facts

logger = logging.getLogger("costs.publishing")

MAY_NOT_PUBLISH = "You may not publish items in this account. Ask an Admin."
NOTHING_SELECTED = "Select at least one item first."
NOT_IN_ACCOUNT = "Some of the selected items are not in this account any more. Nothing was sent."
# How long a worker holds an attempt; far longer than any provider call (PROVIDER_HTTP_TIMEOUT) and the
# backoff inside one run. A worker killed mid-publish frees it when this runs out.
LEASE = timedelta(minutes=5)
# In-call retries of a lost answer (look up, then send): capped exponential backoff with jitter.
IN_CALL_ATTEMPTS = 3
IN_CALL_WAIT_INITIAL = 0.5
IN_CALL_WAIT_MAX = 8.0
# Between runs, for an attempt still in doubt: capped, jittered.
LATER_INITIAL = timedelta(seconds=30)
LATER_MAX = timedelta(minutes=30)
# An open attempt with no lease whose time came this long ago has lost its task: the sweeper re-enqueues.
SWEEP_GRACE = timedelta(minutes=2)

# Providers called over HTTP (the registry's connect kinds), and the Web Connector's, which calls us
# (costs/qbwc_publishing.py).
HTTP_CONNECT_KINDS = ("oauth", "login")
PUBLISH_CONNECT_KINDS = (*HTTP_CONNECT_KINDS, "web_connector")


@dataclass
class PublishRequest:
    """What a publish request did: the attempts queued, and the items skipped with the reason."""

    queued: list[PublishAttempt] = field(default_factory=list)
    skipped: list[tuple[Item, str]] = field(default_factory=list)


def _name(item: Item) -> str:
    return f"{item.get_type_display()} {item.reference}" if item.reference else f"Item #{item.pk}"


# --- requests -------------------------------------------------------------------------------------


def _why_not_ready(item: Item) -> str:
    return {
        ItemStatus.TO_REVIEW: f"{_name(item)} is still to review: mark it Ready first.",
        ItemStatus.PUBLISHING: f"{_name(item)} is already being published.",
        ItemStatus.PUBLISHED: f"{_name(item)} is already published.",
        ItemStatus.ARCHIVED: f"{_name(item)} is archived.",
        ItemStatus.FAILED: f"{_name(item)} failed to publish: use Retry.",
    }.get(item.status, f"{_name(item)} is not ready to publish.")


def _target_problem(item: Item, target: Connection | None) -> str:
    """Why `item` cannot go to `target` ("" when it can)."""
    if target is None:
        if item.is_sales:
            return (
                f"{_name(item)} is a sales item: it publishes to your main accounting software, and none "
                "is connected. Connect it on the Connections page."
            )
        return f"No accounting software is connected for {_name(item)}: connect one on the Connections page."
    info = catalog.provider_info(target.provider)
    if info is None or item.type not in info.publishes:
        return (
            f"{target.label} does not take a {item.get_type_display().lower()}: choose another integration."
        )
    if info.connect_kind not in PUBLISH_CONNECT_KINDS:
        return f"Publishing to {target.label} is not available yet."
    return ""


def _queue(
    *, account: Account, acting_user: User, items: list[Item], action: str, verb: str
) -> PublishRequest:
    """Queue the given (locked, Ready or Failed) items: the target from routing, frozen."""
    facts = load_facts(account)
    result = PublishRequest()
    routed = [(item, effective_integration(item, facts).connection) for item in items]
    target_ids = sorted({t.pk for _, t in routed if t is not None})
    # Lock the targets (the disconnect locks its connection too): a disconnect either sees the
    # attempts made here, or happens first and these items are refused.
    still_live = set(
        Connection.objects.select_for_update()
        .filter(account=account, pk__in=target_ids, status__in=LIVE_STATUSES)
        .values_list("pk", flat=True)
    )
    now = timezone.now()
    for item, target in routed:
        problem = _target_problem(item, target)
        if not problem and target.pk not in still_live:
            problem = f"{target.label} is not connected any more: choose where {_name(item)} publishes."
        if problem:
            result.skipped.append((item, problem))
            continue
        attempt = PublishAttempt.objects.create(
            account=account, item=item, connection=target, key=uuid.uuid4().hex, requested_by=acting_user
        )
        Item.objects.filter(pk=item.pk).update(
            status=ItemStatus.PUBLISHING, published_to=target, publish_error="", updated_at=now
        )
        item.status, item.published_to = ItemStatus.PUBLISHING, target
        attempt.item = item
        result.queued.append(attempt)
        if qbwc_publishing.waits_for_web_connector(target):
            # No task: the Web Connector takes it from the connection's queue at its next run.
            PublishAttempt.objects.filter(pk=attempt.pk).update(message=qbwc_publishing.WAITING)
    by_task = [a for a in result.queued if not qbwc_publishing.waits_for_web_connector(a.connection)]
    for attempt_id in _task_heads(by_task):
        _enqueue_on_commit(account.pk, attempt_id)
    for attempt in result.queued:
        record(
            account=account,
            actor=acting_user,
            action=action,
            summary=f"{verb} {_name(attempt.item)} to {attempt.connection.label}",
            after=attempt.connection.label,
        )
    return result


def _task_heads(attempts: list[PublishAttempt]) -> list[int]:
    """The attempts that get a task: each one, except that Xero's go in batches (run_batch claims up
    to 50 waiting attempts of a connection and endpoint), so one task per 50 of them is enough; an
    attempt a batch did not take is handed to a worker by the sweeper (stale_attempts)."""
    from integrations.providers.xero_publish import MAX_BATCH

    heads: list[int] = []
    groups: dict[tuple[int, str], int] = {}
    for attempt in attempts:
        if not _batched(attempt):
            heads.append(attempt.pk)
            continue
        group = (attempt.connection_id, _resource(attempt.item.type))
        if groups.get(group, 0) % MAX_BATCH == 0:
            heads.append(attempt.pk)
        groups[group] = groups.get(group, 0) + 1
    return heads


def _locked_items(account: Account, item_ids: Iterable[int | str]) -> list[Item]:
    """The account's items of the selection, locked; any id that is not one (forged, another
    account's, gone) refuses the whole request."""
    parsed = [parse_id(pk) for pk in item_ids]
    if not parsed:
        raise DomainError(NOTHING_SELECTED, code="empty")
    if None in parsed:
        raise DomainError(NOT_IN_ACCOUNT, code="unknown_item")
    ids = sorted(set(parsed))
    items = list(
        Item.objects.select_for_update(of=("self",))
        .filter(account=account, pk__in=ids)
        .select_related("supplier")
        .order_by("pk")
    )
    if len(items) != len(ids):
        raise DomainError(NOT_IN_ACCOUNT, code="unknown_item")
    return items


@in_account_scope
def request_publish(*, account: Account, acting_user: User, item_ids: Iterable[int | str]) -> PublishRequest:
    """Publish the selected items: Ready ones are queued, the others skipped with the reason. A forged
    or stale selection, or one with another account's items, sends nothing. Raises DomainError when
    nothing could be queued (the message names why)."""
    require(user=acting_user, account=account, permission="items.publish", refusal=MAY_NOT_PUBLISH)
    with transaction.atomic():
        items = _locked_items(account, item_ids)
        ready = [item for item in items if item.status == ItemStatus.READY]
        not_ready = [(i, _why_not_ready(i)) for i in items if i.status != ItemStatus.READY]
        result = _queue(
            account=account,
            acting_user=acting_user,
            items=ready,
            action="item.publish_requested",
            verb="Asked to publish",
        )
        result.skipped = not_ready + result.skipped
        if not result.queued:
            raise DomainError(
                "Nothing was sent: " + " ".join(reason for _, reason in result.skipped),
                code="nothing_to_publish",
            )
        return result


@in_account_scope
def retry(*, account: Account, acting_user: User, item_id: int | str) -> PublishAttempt:
    """Publish a Failed item again, to where it publishes now (a new attempt, a new key)."""
    require(user=acting_user, account=account, permission="items.publish", refusal=MAY_NOT_PUBLISH)
    with transaction.atomic():
        [item] = _locked_items(account, [item_id])
        if item.status != ItemStatus.FAILED:
            raise DomainError(f"Only a failed item can be retried: {_why_not_ready(item)}", code="not_failed")
        result = _queue(
            account=account,
            acting_user=acting_user,
            items=[item],
            action="item.publish_retried",
            verb="Retried publishing",
        )
        if not result.queued:
            raise DomainError(result.skipped[0][1], code="cannot_publish")
        return result.queued[0]


@in_account_scope
def cancel(*, account: Account, acting_user: User, item_id: int | str) -> Item:
    """Take back a publish that was never handed to the provider: the item is Ready again. One that may
    have reached it (sent, or being sent now) cannot be cancelled: it finishes or is looked up first."""
    require(user=acting_user, account=account, permission="items.publish", refusal=MAY_NOT_PUBLISH)
    now = timezone.now()
    with transaction.atomic():
        [item] = _locked_items(account, [item_id])
        attempt = (
            PublishAttempt.objects.filter(item=item, state__in=OPEN_ATTEMPT_STATES)
            .select_related("connection")
            .first()
        )
        if item.status != ItemStatus.PUBLISHING or attempt is None:
            raise DomainError(f"{_name(item)} is not being published.", code="not_publishing")
        cancelled = (
            PublishAttempt.objects.filter(pk=attempt.pk, state=AttemptState.QUEUED, sent_at__isnull=True)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .update(state=AttemptState.CANCELLED, finished_at=now, lease_until=None, message="Cancelled.")
        )
        if not cancelled:
            raise DomainError(
                f"{_name(item)} may already be in {attempt.connection.label}: it cannot be cancelled now. "
                "Wait until Dext Connect has finished with it.",
                code="already_sent",
            )
        Item.objects.filter(pk=item.pk).update(status=ItemStatus.READY, published_to=None, updated_at=now)
        record(
            account=account,
            actor=acting_user,
            action="item.publish_cancelled",
            summary=f"Cancelled publishing {_name(item)} to {attempt.connection.label}",
        )
        item.refresh_from_db()
        return item


# --- queue ----------------------------------------------------------------------------------------


def _enqueue_on_commit(account_id: int, attempt_id: int, run_after: datetime | None = None) -> None:
    def enqueue() -> None:
        from .tasks import publish_attempt

        task = publish_attempt.using(run_after=run_after) if run_after is not None else publish_attempt
        task.enqueue(account_id=account_id, attempt_id=attempt_id)

    transaction.on_commit(enqueue)


def later(tries: int) -> timedelta:
    """When an attempt still in doubt runs again: exponential, capped, with jitter."""
    base = min(LATER_MAX.total_seconds(), LATER_INITIAL.total_seconds() * 2 ** max(tries - 1, 0))
    return timedelta(seconds=base * (0.5 + random.random() / 2))  # noqa: S311 (jitter, not a secret)


def stale_attempts(now: datetime | None = None):
    """Open attempts no worker holds and whose task is gone: the lease ran out (a killed worker), or no
    lease was ever taken and their time came SWEEP_GRACE ago. Attempts to a connection that needs
    reconnecting wait for it."""
    now = now or timezone.now()
    due = now - SWEEP_GRACE
    # Any other connection status is run (a connection gone meanwhile fails the item clearly). The Web
    # Connector's attempts wait for it (costs/qbwc_publishing.py), never for a task.
    waiting = Q(connection__status=ConnectionStatus.NEEDS_RECONNECT) | Q(
        connection__provider__in=qbwc_publishing.web_connector_providers()
    )
    return (
        PublishAttempt.objects.filter(state__in=OPEN_ATTEMPT_STATES)
        .exclude(waiting)
        .filter(
            Q(lease_until__lt=now)
            | (Q(lease_until__isnull=True) & Q(next_try_at__isnull=True) & Q(updated_at__lt=due))
            | (Q(lease_until__isnull=True) & Q(next_try_at__lt=due))
        )
    )


def sweep(now: datetime | None = None) -> int:
    """Re-enqueue every stale attempt (all accounts; each task re-enters its own scope). The attempt
    keeps its key; the claim decides who runs it. Returns how many were re-enqueued."""
    from .tasks import publish_attempt

    with scopes_disabled():
        rows = list(stale_attempts(now).values_list("account_id", "pk"))
    for account_id, attempt_id in rows:
        publish_attempt.enqueue(account_id=account_id, attempt_id=attempt_id)
    if rows:
        logger.info("Re-enqueued %s stale publish attempts", len(rows))
    return len(rows)


# --- the worker -----------------------------------------------------------------------------------


def claim(attempt_id: int, now: datetime | None = None) -> PublishAttempt | None:
    """Take the attempt for LEASE with one conditional UPDATE; None when another worker has it, it is
    finished, or not due yet."""
    now = now or timezone.now()
    taken = (
        PublishAttempt.objects.filter(pk=attempt_id, state__in=OPEN_ATTEMPT_STATES)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .filter(Q(next_try_at__isnull=True) | Q(next_try_at__lte=now))
        .update(state=AttemptState.SENDING, lease_until=now + LEASE, tries=F("tries") + 1, updated_at=now)
    )
    if not taken:
        return None
    return PublishAttempt.objects.select_related("connection", "item__supplier").get(pk=attempt_id)


@in_account_scope
def run_attempt(*, account: Account, attempt_id: int) -> str | None:
    """Publish one attempt (the task's work); to Xero, in a batch with the other attempts waiting for
    the same connection (run_batch). Returns the attempt's state afterwards, None when it was not this
    worker's to run."""
    head = PublishAttempt.objects.filter(pk=attempt_id, account=account).select_related("connection").first()
    if head is None:
        return None
    if head.state not in OPEN_ATTEMPT_STATES:
        # Already sent in another worker's batch: a Xero task still sends what waits (run_batch).
        return _send_waiting(account, head) if _batched(head) else None
    if head.connection.provider in qbwc_publishing.web_connector_providers():
        return None  # the Web Connector's to send (costs/qbwc_publishing.py)
    if _batched(head):
        return run_batch(account=account, head=head)
    attempt = claim(attempt_id)
    if attempt is None or attempt.account_id != account.pk:
        return None
    connection = attempt.connection
    if connection.status == ConnectionStatus.NEEDS_RECONNECT:
        return _wait_for_reconnect(account, attempt, f"{connection.label} needs reconnecting.")
    if connection.status != ConnectionStatus.ACTIVE:
        return _finish(
            account,
            attempt,
            Rejected(
                f"{connection.label} was disconnected before this item was sent. Retry sends it to where "
                "it publishes now.",
                "disconnected",
            ),
        )
    try:
        bill = bill_for(account, attempt)
    except ProviderError as exc:
        bill = outcome_of(exc)
        if isinstance(bill, InDoubt):  # creating the supplier: its key covers a resend
            bill = RetryAfter(later(attempt.tries).total_seconds(), bill.message)
    except NeedsReconnect as exc:
        bill = AuthExpired(exc.message)
    except DomainError as exc:
        bill = Rejected(exc.message, exc.code)
    if not isinstance(bill, BillData):
        return _finish(account, attempt, bill)
    outcome = deliver(attempt, bill)
    return _finish(account, attempt, outcome)


# --- Xero: batches of up to 50 --------------------------------------------------------------------
#
# An attempt to Xero (or to ApprovalMax, which Xero receives) is sent in one call with up to 49 other
# attempts waiting for the same connection and the same endpoint (Invoices, or CreditNotes for credit
# notes): one PUT …?summarizeErrors=false, each document's own outcome (one bad invoice fails alone).
#
# The batch (PublishBatch) is made when its attempts are claimed, and its Idempotency-Key is derived
# from them: xero_publish.batch_key(bills) = a hash of the endpoint and the attempts' own keys in the
# body's order, with the generation = the highest try count among them. Its body is kept as the JSON
# text sent. So:
# - every resend of that batch (an in-call retry after a 5xx or a lost answer; a killed worker's batch
#   resumed by another) sends the same bytes under the same key: Xero answers it from its memory for
#   6 minutes and creates nothing twice;
# - a batch is resumed whole: the attempts of a sent batch are only ever claimed together with that
#   batch (its own lease: two workers never send one batch at once), never mixed into another;
# - past the key's 6 minutes the attempts are looked up (`find`) before anything is sent again; those
#   Xero has are Published, the others go out in the same batch row under a new key (a new generation:
#   their tries went up) — a key is never used for two different bodies;
# - a batch refused by a rate limit on its first send created nothing: its attempts are freed from it
#   and go again later, in whatever batch is made then.


def _batched(attempt: PublishAttempt) -> bool:
    """Does this attempt go in a Xero batch?"""
    if attempt.connection.provider == "xero":
        return True
    if attempt.connection.provider == "approvalmax":
        return not isinstance(_sender(attempt), Rejected)
    return False


def _resource(item_type: str) -> str:
    return "CreditNotes" if item_type == CREDIT_NOTE else "Invoices"


def _claimable(now: datetime):
    return (
        PublishAttempt.objects.filter(state__in=OPEN_ATTEMPT_STATES)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .filter(Q(next_try_at__isnull=True) | Q(next_try_at__lte=now))
    )


def _take(ids: list[int], batch: PublishBatch, now: datetime, *, due: bool = True) -> int:
    """Claim these attempts for `batch` (those still claimable); `due=False`: whether or not their
    next try has come (a sent batch is resumed whole once its first member is due)."""
    claimable = (
        _claimable(now)
        if due
        else PublishAttempt.objects.filter(state__in=OPEN_ATTEMPT_STATES).filter(
            Q(lease_until__isnull=True) | Q(lease_until__lt=now)
        )
    )
    return claimable.filter(pk__in=ids).update(
        state=AttemptState.SENDING,
        lease_until=now + LEASE,
        tries=F("tries") + 1,
        batch=batch,
        updated_at=now,
    )


def claim_batch(
    head: PublishAttempt, now: datetime | None = None
) -> tuple[PublishBatch, list[PublishAttempt]]:
    """Claim `head` and the attempts that go with it, or nothing (an empty list) when another worker has
    it, it is finished or not due. A sent batch of `head` is resumed whole (its own lease taken first);
    otherwise a new batch is made of `head` and up to MAX_BATCH - 1 other due attempts of the same
    connection and endpoint that are in no sent batch (locked with SKIP LOCKED on PostgreSQL: two workers
    claiming at once each get other attempts)."""
    from integrations.providers.xero_publish import MAX_BATCH

    now = now or timezone.now()
    with transaction.atomic():
        sent = (
            PublishBatch.objects.filter(pk=head.batch_id, sent_at__isnull=False).first()
            if head.batch_id
            else None
        )
        if sent is not None:
            if (
                not PublishBatch.objects.filter(pk=sent.pk)
                .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
                .update(lease_until=now + LEASE)
            ):
                return sent, []
            members = list(
                PublishAttempt.objects.filter(batch=sent, state__in=OPEN_ATTEMPT_STATES).values_list(
                    "pk", flat=True
                )
            )
            if (
                head.pk not in members
                or not _claimable(now).filter(pk=head.pk).exists()
                or not _take(members, sent, now, due=False)
            ):
                PublishBatch.objects.filter(pk=sent.pk).update(lease_until=None)
                return sent, []
            batch = sent
        else:
            if not _claimable(now).filter(pk=head.pk).exists():
                return None, []  # type: ignore[return-value]
            item_type = Item.objects.filter(pk=head.item_id).values_list("type", flat=True).first()
            resource = _resource(item_type)
            batch = PublishBatch.objects.create(
                account_id=head.account_id,
                connection_id=head.connection_id,
                resource=resource,
                lease_until=now + LEASE,
            )
            if not _take([head.pk], batch, now):
                batch.delete()
                return None, []  # type: ignore[return-value]
            others = (
                _claimable(now)
                .filter(connection_id=head.connection_id)
                .exclude(pk=head.pk)
                .filter(Q(batch__isnull=True) | Q(batch__sent_at__isnull=True))
            )
            others = (
                others.filter(item__type=CREDIT_NOTE)
                if resource == "CreditNotes"
                else others.exclude(item__type=CREDIT_NOTE)
            )
            ids = list(
                others.select_for_update(skip_locked=True, of=("self",))
                .order_by("pk")
                .values_list("pk", flat=True)[: MAX_BATCH - 1]
            )
            if ids:
                _take(ids, batch, now)
    claimed = list(
        PublishAttempt.objects.filter(batch=batch, state=AttemptState.SENDING, lease_until=now + LEASE)
        .select_related(
            "connection",
            "item__supplier",
            "item__category_entry",
            "item__tax_rate_entry",
            "item__published_to",
        )
        .order_by("pk")
    )
    return batch, claimed


def run_batch(*, account: Account, head: PublishAttempt, stand_in: bool = True) -> str | None:
    """Claim `head`'s batch and publish it (one Xero call, or none when nothing is left to send).
    Returns `head`'s state afterwards, None when it was not this worker's to run."""
    batch, members = claim_batch(head)
    if not members:
        if batch is None and stand_in:
            # `head` went out in another worker's batch (or is not due): this task still takes the next
            # waiting attempts of the connection, so none waits for the sweeper for want of a task
            # (one task is enqueued per 50 attempts, but a batch takes any 50 due ones).
            return _send_waiting(account, head)
        return None
    try:
        states = _run_members(account, batch, members)
    finally:
        PublishBatch.objects.filter(pk=batch.pk).update(lease_until=None)
    return states.get(head.pk)


def _send_waiting(account: Account, head: PublishAttempt, tries: int = 5) -> str | None:
    """Send a batch of what still waits for `head`'s connection. The attempt picked can be taken by
    another worker forming its batch at that moment: then pick again (each miss means another worker
    made progress), a few times at most."""
    for _ in range(tries):
        other = _waiting_of(head)
        if other is None:
            return None
        state = run_batch(account=account, head=other, stand_in=False)
        if state is not None:
            return state
    return None


def _waiting_of(head: PublishAttempt) -> PublishAttempt | None:
    """A due attempt of `head`'s connection that no worker holds and no sent batch carries."""
    return (
        _claimable(timezone.now())
        .filter(account_id=head.account_id, connection_id=head.connection_id)
        .filter(Q(batch__isnull=True) | Q(batch__sent_at__isnull=True))
        .select_related("connection")
        .order_by("pk")
        .first()
    )


def _run_members(
    account: Account, batch: PublishBatch, members: list[PublishAttempt]
) -> dict[int, str | None]:
    states: dict[int, str | None] = {}
    connection = members[0].connection
    if connection.status == ConnectionStatus.NEEDS_RECONNECT:
        why = f"{connection.label} needs reconnecting."
        return {a.pk: _wait_for_reconnect(account, a, why) for a in members}
    if connection.status != ConnectionStatus.ACTIVE:
        gone = Rejected(
            f"{connection.label} was disconnected before this item was sent. Retry sends it to where "
            "it publishes now.",
            "disconnected",
        )
        return {a.pk: _finish(account, a, gone) for a in members}
    # The batch's lists read together (a constant number of queries), each bill built from them.
    values = lists.values_for_many([a.item for a in members if a.item.supplier_id], load_facts(account))
    ready: list[tuple[PublishAttempt, BillData]] = []
    for attempt in members:
        try:
            bill = bill_for(account, attempt, values=values.get(attempt.item_id))
        except ProviderError as exc:
            bill = outcome_of(exc)
            if isinstance(bill, InDoubt):  # creating the supplier: its key covers a resend
                bill = RetryAfter(later(attempt.tries).total_seconds(), bill.message)
        except NeedsReconnect as exc:
            bill = AuthExpired(exc.message)
        except DomainError as exc:
            bill = Rejected(exc.message, exc.code)
        if isinstance(bill, BillData):
            ready.append((attempt, bill))
        elif batch.sent_at is not None and attempt.sent_at is not None:
            # It went in the batch's body: its answer comes from the resend, or it is looked up.
            ready.append((attempt, None))  # type: ignore[arg-type]
        else:
            PublishAttempt.objects.filter(pk=attempt.pk).update(batch=None)
            states[attempt.pk] = _finish(account, attempt, bill)
    if ready:
        outcomes = deliver_batch(batch, ready)
        published = [(a, outcomes[a.pk]) for a, _ in ready if isinstance(outcomes[a.pk], Published)]
        states.update(_publish_all(account, published))
        rerun = True  # one task runs the batch again: the first member left waiting carries it
        for attempt, _ in ready:
            if attempt.pk not in states:
                states[attempt.pk] = _finish(account, attempt, outcomes[attempt.pk], enqueue=rerun)
                rerun = rerun and states[attempt.pk] not in (AttemptState.QUEUED, AttemptState.IN_DOUBT)
    return states


def _publish_all(account: Account, published: list[tuple[PublishAttempt, Published]]) -> dict:
    """Record a batch's Published outcomes together (what _finish does for one, in a few statements):
    each attempt only while this worker still holds it."""
    if not published:
        return {}
    now = timezone.now()
    states: dict[int, str | None] = {}
    with transaction.atomic():
        held = dict(
            PublishAttempt.objects.select_for_update()
            .filter(pk__in=[a.pk for a, _ in published], state=AttemptState.SENDING)
            .values_list("pk", "tries")
        )
        # Still this worker's claim (as _mine): sending, and not claimed again since (tries unchanged).
        mine = {a.pk for a, _ in published if held.get(a.pk) == a.tries}
        attempts, items, entries = [], [], []
        for attempt, outcome in published:
            if attempt.pk not in mine:
                states[attempt.pk] = None
                continue
            attempt.state, attempt.external_id, attempt.url = (
                AttemptState.PUBLISHED,
                outcome.external_id[:200],
                outcome.url[:500],
            )
            attempt.message, attempt.lease_until, attempt.finished_at, attempt.updated_at = "", None, now, now
            attempts.append(attempt)
            item = attempt.item
            item.status, item.published_to_id, item.published_at = (
                ItemStatus.PUBLISHED,
                attempt.connection_id,
                now,
            )
            item.external_id, item.published_url = outcome.external_id[:200], outcome.url[:500]
            item.publish_error, item.updated_at = "", now
            items.append(item)
            entries.append((item, attempt.connection.label, outcome.external_id))
            states[attempt.pk] = AttemptState.PUBLISHED
        # What every published row gets in one plain UPDATE; only the ids and links differ per row.
        PublishAttempt.objects.filter(pk__in=[a.pk for a in attempts]).update(
            state=AttemptState.PUBLISHED, message="", lease_until=None, finished_at=now, updated_at=now
        )
        PublishAttempt.objects.bulk_update(attempts, ["external_id", "url"])
        for connection_id in {a.connection_id for a in attempts}:  # one: a batch's attempts share it
            Item.objects.filter(
                pk__in=[a.item_id for a in attempts if a.connection_id == connection_id]
            ).update(
                status=ItemStatus.PUBLISHED,
                published_to_id=connection_id,
                published_at=now,
                publish_error="",
                updated_at=now,
            )
        Item.objects.bulk_update(items, ["external_id", "published_url"])
        record_many(
            [
                {
                    "account": account,
                    "actor": None,
                    "action": "item.published",
                    "summary": f"Published {_name(item)} to {label} ({external_id})",
                    "after": external_id,
                }
                for item, label, external_id in entries
            ]
        )
        enqueue_attachments(attempts)  # each document goes with its bill, as in _finish
    return states


def deliver_batch(batch: PublishBatch, members: list[tuple[PublishAttempt, BillData | None]]) -> dict:
    """Each member's outcome of one batch call: sent (or resent exactly, under the same key), looked up
    first where the key no longer covers a resend; a lost answer tried again in the call with capped
    exponential backoff and jitter (stamina), and InDoubt when it stays lost."""

    @stamina.retry(
        on=_StillInDoubt,
        attempts=IN_CALL_ATTEMPTS,
        wait_initial=IN_CALL_WAIT_INITIAL,
        wait_max=IN_CALL_WAIT_MAX,
        wait_jitter=1.0,
    )
    def once() -> dict:
        try:
            outcomes = _deliver_batch_once(batch, members)
        except NeedsReconnect as exc:
            return {a.pk: AuthExpired(exc.message) for a, _ in members}
        lost = [o for o in outcomes.values() if isinstance(o, InDoubt)]
        if lost:
            raise _StillInDoubt(lost[0], outcomes)
        return outcomes

    try:
        return once()
    except _StillInDoubt as exc:
        return exc.outcomes


def _positions(resource: str, body: dict) -> list[BillData]:
    """What reading Xero's answer to a stored body needs of each document: its kind and number."""
    from integrations.providers.xero_publish import _number_field

    kinds = {"ACCPAYCREDIT": CREDIT_NOTE, "ACCREC": SALES_INVOICE}
    return [
        BillData(
            key="",
            kind=kinds.get(doc.get("Type"), BILL),
            number=str(doc.get(_number_field(resource)) or ""),
            date=date.today(),
            supplier=Party(name="-"),
            lines=(),
        )
        for doc in body.get(resource) or []
    ]


def _deliver_batch_once(batch: PublishBatch, members: list[tuple[PublishAttempt, BillData | None]]) -> dict:
    from integrations.provider_calls import caller_for
    from integrations.providers import xero_publish

    provider, connection = _sender(members[0][0])  # type: ignore[misc]
    caller = caller_for(connection)
    organisation = connection.external_id
    batch.refresh_from_db(fields=["sent_at", "key", "body", "attempt_ids"])
    now = timezone.now()
    outcomes: dict[int, Outcome] = {}
    to_send = list(members)
    if batch.sent_at is not None and batch.body and xero_publish.resend_is_safe(batch.sent_at, now):
        # Xero still remembers the key: the same bytes under the same key (its answer, or its replay).
        body = json.loads(batch.body)
        sent = xero_publish.send(
            caller,
            organisation=organisation,
            bills=_positions(batch.resource, body),
            key=batch.key,
            body=body,
            short_code="",
        )
        by_attempt = dict(zip(batch.attempt_ids, sent.outcomes, strict=False))
        for attempt, _ in members:
            outcomes[attempt.pk] = by_attempt.get(
                attempt.pk, InDoubt(f"{connection.label} did not answer for this document.")
            )
        if any(isinstance(o, InDoubt) for o in sent.outcomes):
            # The exact resend did not settle it (e.g. Xero no longer knows the key): look up next time.
            PublishBatch.objects.filter(pk=batch.pk).update(body="")
        return outcomes
    if batch.sent_at is not None:
        # Past the key's memory (or its resend was not settled): look up before sending again.
        lookable = [(a, b) for a, b in members if b is not None]
        found = xero_publish.find(caller, organisation=organisation, bills=[b for _, b in lookable])
        to_send = []
        for (attempt, bill), result in zip(lookable, found, strict=True):
            if isinstance(result, NotFound):
                to_send.append((attempt, bill))
            else:
                outcomes[attempt.pk] = result
        for attempt, bill in members:
            if bill is None:
                outcomes[attempt.pk] = Rejected(
                    "Xero did not say whether it has this document; check it in Xero, then Retry.",
                    "in_doubt",
                )
        if not to_send:
            return outcomes
    bills = [b for _, b in to_send]
    generation = max(a.tries for a, _ in to_send)
    key = xero_publish.batch_key(bills, generation=generation)
    body = xero_publish.body_of(bills)
    first = batch.sent_at is None
    _mark_batch_sent(batch, [a for a, _ in to_send], key=key, body=body)
    sent = xero_publish.send(caller, organisation=organisation, bills=bills, key=key, body=body)
    for (attempt, _), outcome in zip(to_send, sent.outcomes, strict=True):
        outcomes[attempt.pk] = outcome
    if first and all(isinstance(o, RetryAfter) for o in sent.outcomes):
        # A limit refused the first send: nothing was created. The attempts leave this batch and need
        # no lookup next time.
        ids = [a.pk for a, _ in to_send]
        PublishAttempt.objects.filter(pk__in=ids).update(sent_at=None, sent_key="", batch=None)
        PublishBatch.objects.filter(pk=batch.pk).update(sent_at=None, key="", body="", attempt_ids=[])
        for attempt, _ in to_send:
            attempt.sent_at = None
    return outcomes


def _mark_batch_sent(batch: PublishBatch, attempts: list[PublishAttempt], *, key: str, body: dict) -> None:
    """Committed before the call (the worker runs outside any transaction): from now on a resend of the
    batch is the same body under the same key, or a lookup."""
    now = timezone.now()
    with transaction.atomic():
        PublishBatch.objects.filter(pk=batch.pk).update(
            sent_at=now, key=key, body=json.dumps(body), attempt_ids=[a.pk for a in attempts]
        )
        PublishAttempt.objects.filter(pk__in=[a.pk for a in attempts]).update(
            sent_at=Coalesce("sent_at", now), sent_key=key, sent_body="", updated_at=now
        )
    batch.refresh_from_db(fields=["sent_at", "key", "body", "attempt_ids"])
    for attempt in attempts:
        attempt.sent_at = attempt.sent_at or now


# -- the document


def bill_for(
    account: Account, attempt: PublishAttempt, facts=None, values: lists.ListValues | None = None
) -> BillData | Rejected:
    """The item as the target software takes it: Category, Tax rate and Supplier from its lists.
    `facts`: the account's routing facts when the caller has them already; `values`: the item's list
    values when the caller read them for a whole batch (`lists.values_for_many`), else read here for
    this one item the same way."""
    from .linking import supplier_in

    item = attempt.item
    if item.supplier_id is None:
        return Rejected(f"{_name(item)} has no supplier: choose one, then Retry.", "no_supplier")
    if values is None:
        values = lists.values_for_many([item], facts or load_facts(account))[item.pk]
    if values.to_choose:
        return Rejected(" ".join(values.to_choose), "to_choose")
    supplier = values.supplier
    if supplier.entry is not None:
        party = Party(external_id=supplier.entry.external_id, name=supplier.entry.name)
    elif qbwc_publishing.waits_for_web_connector(attempt.connection):
        # QuickBooks Desktop: named by FullName; QuickBooks says so (3140) if it has no such vendor.
        party = Party(name=item.supplier.name)
    elif supplier.state in (lists.CREATE, lists.NOT_READ):
        link = supplier_in(account=account, supplier=item.supplier, connection=attempt.connection)
        party = Party(external_id=link.entry.external_id, name=link.entry.name)
    else:
        party = Party(name=item.supplier.name)
    category, tax_rate = values.category.entry, values.tax_rate.entry
    # A paid receipt: the account it was paid from (QuickBooks Online Purchase; costs/payment_accounts.py).
    payment = payment_accounts.for_item(item, attempt.connection)
    if isinstance(payment, Rejected):
        return payment
    tax = item.tax or Decimal("0")
    line = BillLine(
        description=(item.description or item.reference or item.supplier.name)[:400],
        amount=item.total,
        tax_amount=tax if tax else None,
        account_id=category.external_id if category else "",
        account_code=category.code if category else "",
        tax_rate_id=tax_rate.external_id if tax_rate else "",
        tax_rate_code=tax_rate.code if tax_rate else "",
    )
    return BillData(
        key=attempt.key,
        kind=item.type,
        number=item.reference,
        date=item.date,
        due_date=item.due_date,
        supplier=party,
        lines=(line,),
        currency=item.currency,
        amounts=TAX_INCLUSIVE,
        total=item.total,
        tax_total=tax,
        memo=item.description[:400],
        payment_account_id=payment.account_id,
        payment_type=payment.payment_type,
        awaiting_approval=attempt.connection.provider == "approvalmax",
    )


# -- the call


class _StillInDoubt(Exception):
    def __init__(self, outcome: InDoubt, outcomes: dict | None = None) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome
        self.outcomes = outcomes


def deliver(attempt: PublishAttempt, bill: BillData) -> Outcome:
    """Send (looking up first whenever it may have arrived before); a lost answer is tried again in
    the call with capped exponential backoff and jitter, and is InDoubt when it stays lost."""

    @stamina.retry(
        on=_StillInDoubt,
        attempts=IN_CALL_ATTEMPTS,
        wait_initial=IN_CALL_WAIT_INITIAL,
        wait_max=IN_CALL_WAIT_MAX,
        wait_jitter=1.0,
    )
    def once() -> Outcome:
        try:
            outcome = _deliver_once(attempt, bill)
        except NeedsReconnect as exc:  # the refresh was refused for good (tokens marked it)
            return AuthExpired(exc.message)
        if isinstance(outcome, InDoubt):
            raise _StillInDoubt(outcome)
        return outcome

    try:
        return once()
    except _StillInDoubt as exc:
        return exc.outcome


def _sender(attempt: PublishAttempt) -> tuple[str, Connection] | Rejected:
    """Which adapter sends, through which connection: ApprovalMax's bills go to the main software
    (Xero) awaiting approval, where ApprovalMax picks them up (docs/publishing-research.md §1.3)."""
    from integrations.providers import approvalmax_publish

    connection = attempt.connection
    if connection.provider == "approvalmax":
        main = source_for(connection)
        if main is None or main.provider != "xero":
            return approvalmax_publish.not_for_quickbooks()
        return "xero", main
    return connection.provider, connection


def _deliver_once(attempt: PublishAttempt, bill: BillData) -> Outcome:
    from integrations.provider_calls import caller_for
    from integrations.providers import billcom_publish, qbo_publish

    sender = _sender(attempt)
    if isinstance(sender, Rejected):
        return sender
    provider, connection = sender
    caller = caller_for(connection)
    organisation = connection.external_id
    attempt.refresh_from_db(fields=["sent_at"])
    if attempt.sent_at is not None and provider == "billcom":
        # It may be there already: Bill.com takes no idempotency key, so look it up first.
        since = attempt.sent_at - timedelta(minutes=5)
        [found] = billcom_publish.find(caller, organisation=organisation, bills=[bill], since=since)
        if not isinstance(found, NotFound):
            return found
    # QuickBooks Online: the same requestid answers the first create's result.
    first = attempt.sent_at is None
    if provider == "billcom":
        _mark_sent(attempt)
        outcome = billcom_publish.send(caller, organisation=organisation, bills=[bill])[0]
    elif provider == "qbo":
        _mark_sent(attempt)
        outcome = qbo_publish.send(caller, organisation=organisation, bills=[bill])[0]
    else:
        return Rejected(f"Publishing to {connection.label} is not available yet.", "not_available")
    if first and isinstance(outcome, RetryAfter):
        # A limit refused the first send: nothing was created, so the next one need not look it up.
        PublishAttempt.objects.filter(pk=attempt.pk).update(sent_at=None, sent_key="", sent_body="")
        attempt.refresh_from_db(fields=["sent_at", "sent_key", "sent_body"])
    return outcome


def _mark_sent(attempt: PublishAttempt, *, key: str = "", body: dict | None = None) -> None:
    """Committed before the call (the worker runs outside any transaction): from now on any resend of
    this attempt looks the document up first."""
    now = timezone.now()
    PublishAttempt.objects.filter(pk=attempt.pk).update(
        sent_at=Coalesce("sent_at", now),
        sent_key=key,
        sent_body=json.dumps(body) if body is not None else "",
        updated_at=now,
    )
    attempt.refresh_from_db(fields=["sent_at", "sent_key", "sent_body"])


# -- the outcome


def _mine(attempt: PublishAttempt):
    """The attempt while this worker still holds it (its claim: state and tries unchanged)."""
    return PublishAttempt.objects.filter(pk=attempt.pk, state=AttemptState.SENDING, tries=attempt.tries)


def _wait_for_reconnect(account: Account, attempt: PublishAttempt, why: str) -> str:
    """The connection needs reconnecting: the attempt waits (open, no lease, not due) and the sweeper
    hands it to a worker once the connection is active again. Still in doubt if it may have been sent."""
    attempt.refresh_from_db(fields=["sent_at"])
    state = AttemptState.IN_DOUBT if attempt.sent_at else AttemptState.QUEUED
    _mine(attempt).update(
        state=state,
        lease_until=None,
        next_try_at=None,
        message=f"{why} The item waits and is sent once it is reconnected."[:1000],
        updated_at=timezone.now(),
    )
    return state


def _finish(
    account: Account, attempt: PublishAttempt, outcome: Outcome, *, enqueue: bool = True
) -> str | None:
    """Record one attempt's outcome. `enqueue`: an attempt that waits gets its own task for the next
    run (False for the other members of a batch whose first waiting member carries it)."""
    from integrations.services import mark_needs_reconnect

    now = timezone.now()
    item = attempt.item
    label = attempt.connection.label
    if isinstance(outcome, AuthExpired):
        mark_needs_reconnect(account=account, connection=attempt.connection, reason=outcome.message)
        return _wait_for_reconnect(account, attempt, outcome.message)
    if isinstance(outcome, RetryAfter | InDoubt):
        attempt.refresh_from_db(fields=["sent_at"])
        wait = timedelta(seconds=outcome.seconds) if isinstance(outcome, RetryAfter) else later(attempt.tries)
        when = now + wait
        in_doubt = isinstance(outcome, InDoubt) or attempt.sent_at is not None
        with transaction.atomic():
            if not _mine(attempt).update(
                state=AttemptState.IN_DOUBT if in_doubt else AttemptState.QUEUED,
                lease_until=None,
                next_try_at=when,
                message=outcome.message[:1000],
                updated_at=now,
            ):
                return None
            if enqueue:
                _enqueue_on_commit(account.pk, attempt.pk, run_after=when)
        return AttemptState.IN_DOUBT if in_doubt else AttemptState.QUEUED
    with transaction.atomic():
        if isinstance(outcome, Published):
            if not _mine(attempt).update(
                state=AttemptState.PUBLISHED,
                external_id=outcome.external_id[:200],
                url=outcome.url[:500],
                message="",
                lease_until=None,
                finished_at=now,
                updated_at=now,
            ):
                return None
            Item.objects.filter(pk=item.pk).update(
                status=ItemStatus.PUBLISHED,
                published_to=attempt.connection,
                published_at=now,
                external_id=outcome.external_id[:200],
                published_url=outcome.url[:500],
                publish_error="",
                updated_at=now,
            )
            record(
                account=account,
                actor=None,
                action="item.published",
                summary=f"Published {_name(item)} to {label} ({outcome.external_id})",
                after=outcome.external_id,
            )
            enqueue_attachment(attempt)  # the document goes with the bill: a step of its own
            return AttemptState.PUBLISHED
        message = (
            f"{label} refused it: {outcome.message}" if label not in outcome.message else outcome.message
        )
        if not _mine(attempt).update(
            state=AttemptState.FAILED,
            message=message[:1000],
            lease_until=None,
            finished_at=now,
            updated_at=now,
        ):
            return None
        Item.objects.filter(pk=item.pk).update(
            status=ItemStatus.FAILED, published_to=None, publish_error=message[:1000], updated_at=now
        )
        record(
            account=account,
            actor=None,
            action="item.publish_failed",
            summary=f"Publishing {_name(item)} to {label} failed: {message}",
        )
        return AttemptState.FAILED

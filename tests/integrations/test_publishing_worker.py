"""The publishing worker (costs/publishing.py) against the sandbox over real HTTP, for Xero and Bill.com:
published, rejected alone, a rate limit answered later, a lost answer looked up before any resend, a
killed worker's attempt recovered with the same key, and revoked access waiting. Every test counts the
sandbox's bills: 0 lost, 0 duplicates. The other tenant never changes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import stamina
from django.utils import timezone
from django_scopes import scopes_disabled

from accounts.models import ActivityEntry
from costs import publishing
from costs.models import OPEN_ATTEMPT_STATES, AttemptState, Item, ItemStatus, PublishAttempt, PublishBatch
from integrations.models import Connection, ConnectionStatus
from integrations.providers import xero_publish
from sandbox import clock, faults
from tests.integrations.publish_helpers import (  # noqa: F401
    BILLCOM_ACME,
    answer_lost,
    billcom_connection,
    numbers,
    received,
)
from tests.integrations.publishing_helpers import (
    make_due,
    queued_tasks,
    ready_item,
    tasks_taken_by_a_worker,
    work_off,
)
from tests.integrations.sandbox_helpers import other_tenant_untouched, sandbox, xero_connection  # noqa: F401

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_untouched")


@pytest.fixture(autouse=True)
def _no_backoff_waits():
    """stamina's waits off (no sleeping in tests); its attempts stay as configured."""
    with stamina.set_testing(True, attempts=publishing.IN_CALL_ATTEMPTS):
        yield


@pytest.fixture
def xero(tenant, connect):
    connection = xero_connection(connect, tenant.account)
    yield connection
    clock.reset()


@pytest.fixture
def billcom(tenant, connect):
    return billcom_connection(tenant, connect)


def publish(tenant, django_capture_on_commit_callbacks, *items):
    with django_capture_on_commit_callbacks(execute=True):
        return publishing.request_publish(
            account=tenant.account, acting_user=tenant.admin, item_ids=[i.pk for i in items]
        )


def state_of(item) -> tuple[str, str]:
    with scopes_disabled():
        item = Item.objects.get(pk=item.pk)
        attempt = PublishAttempt.objects.filter(item=item).order_by("-pk").first()
    return item.status, attempt.state


def due_now(attempt_or_item) -> None:
    """Time passes: the attempt's next try is due (instead of sleeping through the wait)."""
    make_due(item_id=getattr(attempt_or_item, "item_id", attempt_or_item.pk))


# --- Xero -------------------------------------------------------------------------------------------


def test_xero_publishes_a_ready_item_through_the_queue(xero, tenant, django_capture_on_commit_callbacks):
    item = ready_item(xero, "INV-X1")
    request = publish(tenant, django_capture_on_commit_callbacks, item)
    [attempt] = request.queued
    assert queued_tasks() == [{"account_id": tenant.account.pk, "attempt_id": attempt.pk}]
    assert state_of(item) == (ItemStatus.PUBLISHING, AttemptState.QUEUED)
    assert received("xero", xero.external_id) == []  # nothing is sent until a worker runs

    assert work_off() == [AttemptState.PUBLISHED]
    [bill] = received("xero", xero.external_id)
    with scopes_disabled():
        item.refresh_from_db()
        attempt.refresh_from_db()
    assert (item.status, item.published_to, item.external_id) == (ItemStatus.PUBLISHED, xero, bill.bill_id)
    assert item.published_at is not None and bill.bill_id in item.published_url
    assert (bill.number, bill.supplier, bill.kind) == ("INV-X1", "Acme Supplies", "ACCPAY")
    assert bill.idempotency_key == xero_publish.batch_key([publishing.bill_for(tenant.account, attempt)])
    assert attempt.key in attempt.sent_key or attempt.sent_key.startswith("dext-")
    with scopes_disabled():
        actions = list(ActivityEntry.objects.filter(account=tenant.account).values_list("action", flat=True))
    assert "item.publish_requested" in actions and "item.published" in actions
    # A second run of the same task does nothing (the attempt is finished): no duplicate.
    assert publishing.run_attempt(account=tenant.account, attempt_id=attempt.pk) is None
    assert numbers("xero", xero.external_id) == ["INV-X1"]


def test_a_bill_xero_refuses_fails_alone_with_xeros_words(xero, tenant, django_capture_on_commit_callbacks):
    good = ready_item(xero, "INV-OK")
    bad = ready_item(xero, "INV-BAD", code="999")  # an account deleted in Xero since the last read
    publish(tenant, django_capture_on_commit_callbacks, good, bad)
    work_off()
    assert state_of(good) == (ItemStatus.PUBLISHED, AttemptState.PUBLISHED)
    assert state_of(bad) == (ItemStatus.FAILED, AttemptState.FAILED)
    with scopes_disabled():
        bad.refresh_from_db()
    assert bad.publish_error == "Xero refused it: Account code '999' is not a valid code for this document."
    assert bad.published_to is None  # Retry re-routes it
    with scopes_disabled():
        failed = ActivityEntry.objects.get(account=tenant.account, action="item.publish_failed")
    assert "Account code '999' is not a valid code" in failed.summary
    assert numbers("xero", xero.external_id) == ["INV-OK"]


def test_a_rate_limit_is_answered_later_not_failed(xero, tenant, django_capture_on_commit_callbacks):
    item = ready_item(xero, "INV-429")
    publish(tenant, django_capture_on_commit_callbacks, item)
    with faults.injected("xero", "429"), django_capture_on_commit_callbacks(execute=True):
        assert work_off() == [AttemptState.QUEUED]
    with scopes_disabled():
        attempt = PublishAttempt.objects.get(item=item)
    assert attempt.next_try_at > timezone.now() and attempt.lease_until is None
    assert state_of(item) == (ItemStatus.PUBLISHING, AttemptState.QUEUED)
    assert queued_tasks() == []  # the next run waits for Retry-After (run_after)
    assert len(queued_tasks(due_only=False)) == 1
    assert received("xero", xero.external_id) == []
    due_now(attempt)
    assert work_off() == [AttemptState.PUBLISHED]
    assert numbers("xero", xero.external_id) == ["INV-429"]


def test_a_lost_answer_is_looked_up_and_never_sent_twice(
    xero, tenant, settings, django_capture_on_commit_callbacks
):
    item = ready_item(xero, "INV-LOST")
    publish(tenant, django_capture_on_commit_callbacks, item)
    with stamina.set_testing(True, attempts=1):  # no in-call retry: leave it in doubt
        with answer_lost(settings, "xero", "dropped"), django_capture_on_commit_callbacks(execute=True):
            assert work_off() == [AttemptState.IN_DOUBT]
    assert numbers("xero", xero.external_id) == ["INV-LOST"]  # Xero did create it
    assert state_of(item) == (ItemStatus.PUBLISHING, AttemptState.IN_DOUBT)
    # Past the Idempotency-Key's 6 minutes: the worker must look the bill up, not send it again.
    with scopes_disabled():
        PublishAttempt.objects.filter(item=item).update(sent_at=timezone.now() - timedelta(minutes=10))
    due_now(item)
    assert work_off() == [AttemptState.PUBLISHED]
    [bill] = received("xero", xero.external_id)
    with scopes_disabled():
        item.refresh_from_db()
    assert item.external_id == bill.bill_id


def test_a_lost_answer_retried_in_the_call_reuses_the_key(
    xero, tenant, settings, django_capture_on_commit_callbacks
):
    item = ready_item(xero, "INV-500")
    publish(tenant, django_capture_on_commit_callbacks, item)
    with faults.injected("xero", "500"):  # one 500, then the backoff's next try succeeds
        assert work_off() == [AttemptState.PUBLISHED]
    assert numbers("xero", xero.external_id) == ["INV-500"]


def test_a_killed_workers_attempt_is_recovered_with_the_same_key(
    xero, tenant, django_capture_on_commit_callbacks
):
    item = ready_item(xero, "INV-KILL")
    [attempt] = publish(tenant, django_capture_on_commit_callbacks, item).queued
    # The task row is taken by the worker that is about to die:
    from integrations.provider_calls import caller_for

    tasks_taken_by_a_worker()
    # The dying worker claimed it (in a batch) and handed the batch to Xero, then was killed before
    # recording the answer.
    batch, [claimed] = publishing.claim_batch(attempt)
    bill = publishing.bill_for(tenant.account, claimed)
    key = xero_publish.batch_key([bill])
    publishing._mark_batch_sent(batch, [claimed], key=key, body=xero_publish.body_of([bill]))
    claimed.refresh_from_db()
    xero_publish.send(
        caller_for(xero),
        organisation=xero.external_id,
        bills=[bill],
        key=batch.key,
        body=json.loads(batch.body),
    )
    assert numbers("xero", xero.external_id) == ["INV-KILL"]
    # Nothing runs it: the DB worker never re-runs a RUNNING task. Until the lease runs out the sweeper
    # leaves it alone; after, it hands it to a worker again, with the same key.
    assert publishing.sweep() == 0
    later = timezone.now() + publishing.LEASE + timedelta(seconds=1)
    assert publishing.sweep(now=later) == 1
    with scopes_disabled():
        PublishAttempt.objects.filter(pk=attempt.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
        PublishBatch.objects.update(lease_until=timezone.now() - timedelta(seconds=1))  # its batch's too
    assert work_off() == [AttemptState.PUBLISHED]
    with scopes_disabled():
        attempt.refresh_from_db()
    assert attempt.key == claimed.key and attempt.tries == 2
    assert numbers("xero", xero.external_id) == ["INV-KILL"]  # 0 duplicates
    assert {b.idempotency_key for b in received("xero", xero.external_id)} == {claimed.sent_key}


def test_revoked_access_leaves_the_item_waiting_not_failed(xero, tenant, django_capture_on_commit_callbacks):
    item = ready_item(xero, "INV-AUTH")
    publish(tenant, django_capture_on_commit_callbacks, item)
    # The customer revoked our access in Xero: the access token is refused and the refresh too.
    with scopes_disabled():
        xero.credentials = {**xero.credentials, "access_token": "revoked", "refresh_token": "revoked"}
        xero.save()
    [waiting] = work_off()
    with scopes_disabled():
        xero.refresh_from_db()
    assert xero.status == ConnectionStatus.NEEDS_RECONNECT
    # Waiting (open: looked up first if the request may have gone out), not failed.
    assert state_of(item) == (ItemStatus.PUBLISHING, waiting) and waiting in OPEN_ATTEMPT_STATES
    assert publishing.sweep(now=timezone.now() + timedelta(hours=1)) == 0  # it waits for the reconnect
    assert received("xero", xero.external_id) == []


# --- Bill.com --------------------------------------------------------------------------------------


def test_billcom_publishes_and_a_refusal_fails_alone(billcom, tenant, django_capture_on_commit_callbacks):
    good = ready_item(billcom, "BC-OK", tax_rate=None)
    credit = ready_item(billcom, "BC-BAD", tax_rate=None, code="999")
    publish(tenant, django_capture_on_commit_callbacks, good, credit)
    work_off()
    assert state_of(good) == (ItemStatus.PUBLISHED, AttemptState.PUBLISHED)
    assert state_of(credit)[0] == ItemStatus.FAILED
    with scopes_disabled():
        credit.refresh_from_db()
    assert credit.publish_error.startswith("Bill.com refused the bill")
    [bill] = received("billcom", BILLCOM_ACME["organisation_id"])
    assert (bill.number, bill.supplier, bill.idempotency_key) == ("BC-OK", "Acme Supplies", "")


def test_billcom_rate_limit_then_published(billcom, tenant, django_capture_on_commit_callbacks):
    item = ready_item(billcom, "BC-429", tax_rate=None)
    publish(tenant, django_capture_on_commit_callbacks, item)
    with faults.injected("billcom", "429"), django_capture_on_commit_callbacks(execute=True):
        assert work_off() == [AttemptState.QUEUED]
    assert received("billcom", BILLCOM_ACME["organisation_id"]) == []
    due_now(item)
    assert work_off() == [AttemptState.PUBLISHED]
    assert numbers("billcom", BILLCOM_ACME["organisation_id"]) == ["BC-429"]


def test_billcom_lost_answer_is_looked_up_never_duplicated(
    billcom, tenant, settings, django_capture_on_commit_callbacks
):
    item = ready_item(billcom, "BC-LOST", tax_rate=None)
    publish(tenant, django_capture_on_commit_callbacks, item)
    with stamina.set_testing(True, attempts=1):
        with answer_lost(settings, "billcom", "dropped"), django_capture_on_commit_callbacks(execute=True):
            assert work_off() == [AttemptState.IN_DOUBT]
    assert numbers("billcom", BILLCOM_ACME["organisation_id"]) == ["BC-LOST"]
    due_now(item)
    assert work_off() == [AttemptState.PUBLISHED]  # found by vendor + invoice number: not sent again
    [bill] = received("billcom", BILLCOM_ACME["organisation_id"])
    with scopes_disabled():
        item.refresh_from_db()
    assert item.external_id == bill.bill_id


def test_a_lost_answer_retried_in_the_call_looks_up_first_on_billcom(
    billcom, tenant, settings, django_capture_on_commit_callbacks
):
    item = ready_item(billcom, "BC-RETRY", tax_rate=None)
    publish(tenant, django_capture_on_commit_callbacks, item)
    with answer_lost(settings, "billcom", "dropped"):
        assert work_off() == [AttemptState.PUBLISHED]  # stamina's next try looked it up
    assert numbers("billcom", BILLCOM_ACME["organisation_id"]) == ["BC-RETRY"]


def test_the_disconnect_guard_names_items_in_flight(billcom, tenant, django_capture_on_commit_callbacks):
    from accounts.errors import DomainError
    from integrations import services

    items = [ready_item(billcom, f"BC-{n}", tax_rate=None) for n in range(3)]
    publish(tenant, django_capture_on_commit_callbacks, *items)
    with pytest.raises(DomainError) as refused:
        services.disconnect(account=tenant.account, acting_user=tenant.admin, connection_id=billcom.pk)
    assert refused.value.message == (
        "3 items are being published to Bill.com: wait until they finish, or cancel them."
    )
    with scopes_disabled():
        assert Connection.objects.get(pk=billcom.pk).status == ConnectionStatus.ACTIVE
    work_off()
    services.disconnect(account=tenant.account, acting_user=tenant.admin, connection_id=billcom.pk)
    assert numbers("billcom", BILLCOM_ACME["organisation_id"]) == ["BC-0", "BC-1", "BC-2"]


# --- ApprovalMax ------------------------------------------------------------------------------------


def test_approvalmax_bills_go_to_xero_awaiting_approval(
    xero, tenant, connect, django_capture_on_commit_callbacks
):
    approvalmax = connect(tenant.account, "approvalmax", external_id="am-company")
    item = ready_item(xero, "AM-1", to=approvalmax)
    [attempt] = publish(tenant, django_capture_on_commit_callbacks, item).queued
    assert attempt.connection == approvalmax  # the frozen target is ApprovalMax
    assert work_off() == [AttemptState.PUBLISHED]
    [bill] = received("xero", xero.external_id)
    assert (bill.number, bill.status) == ("AM-1", "SUBMITTED")  # ApprovalMax pulls it from there
    with scopes_disabled():
        item.refresh_from_db()
    assert (item.status, item.published_to, item.external_id) == (
        ItemStatus.PUBLISHED,
        approvalmax,
        bill.bill_id,
    )


def test_quickbooks_desktop_waits_for_the_web_connector_not_a_task(tenant, other_tenant, connect):
    """QuickBooks Desktop is not called: its attempt waits in the connection's queue for the Web
    Connector (costs/qbwc_publishing.py; end to end in test_qbwc_publish.py). No worker or sweeper runs it."""
    from tests.factories import ItemFactory

    connect(tenant.account, "qbd")
    item = ItemFactory(account=tenant.account, status="ready", reference="QBD-1")
    [attempt] = publishing.request_publish(
        account=tenant.account, acting_user=tenant.admin, item_ids=[item.pk]
    ).queued
    assert queued_tasks(due_only=False) == []
    assert publishing.sweep(timezone.now() + timedelta(hours=1)) == 0
    assert publishing.run_attempt(account=tenant.account, attempt_id=attempt.pk) is None
    with scopes_disabled():
        attempt.refresh_from_db()
        item.refresh_from_db()
        assert not PublishAttempt.objects.filter(account=other_tenant.account).exists()
    assert (attempt.state, attempt.tries, attempt.sent_at) == (AttemptState.QUEUED, 0, None)
    assert item.status == ItemStatus.PUBLISHING

"""Xero batches (costs/publishing.py run_batch): the attempts waiting for one Xero connection go in calls
of up to 50, bills to Invoices and credit notes to CreditNotes, one Idempotency-Key per call derived
from the attempts; one bad invoice fails alone; a lost answer is resent byte for byte under the same
key (the sandbox refuses a key reused with another body); past the key's 6 minutes the documents are
looked up first. Against the sandbox over real HTTP; every test counts the sandbox's bills: 0 lost,
0 duplicates. The other tenant never changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import stamina
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scopes_disabled

from accounts.models import ActivityEntry
from costs import publishing
from costs.models import AttachState, AttemptState, Document, Item, ItemStatus, PublishAttempt, PublishBatch
from integrations.providers import xero_publish
from sandbox import clock
from sandbox.models import RequestLogEntry, SandboxBill
from tests.integrations.attach_helpers import attach_tasks, media, with_document  # noqa: F401 (fixture)
from tests.integrations.publish_helpers import answer_lost, numbers, received
from tests.integrations.publishing_helpers import make_due, queued_tasks, ready_item, work_off
from tests.integrations.sandbox_helpers import other_tenant_untouched, sandbox, xero_connection  # noqa: F401

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_untouched")


@pytest.fixture(autouse=True)
def _no_backoff_waits():
    with stamina.set_testing(True, attempts=publishing.IN_CALL_ATTEMPTS):
        yield


@pytest.fixture
def xero(tenant, connect):
    connection = xero_connection(connect, tenant.account)
    yield connection
    clock.reset()


def publish(tenant, capture, items):
    with capture(execute=True):
        return publishing.request_publish(
            account=tenant.account, acting_user=tenant.admin, item_ids=[i.pk for i in items]
        )


def puts(resource: str) -> list[RequestLogEntry]:
    return list(RequestLogEntry.objects.filter(provider="xero", method="PUT", path__endswith=resource))


def test_fifty_three_bills_and_two_credit_notes_take_three_calls_and_one_bad_bill_fails_alone(
    xero, tenant, django_capture_on_commit_callbacks
):
    bills = [ready_item(xero, f"B-{n:02}") for n in range(52)]
    bad = ready_item(xero, "B-BAD", code="999")  # an account deleted in Xero since the last read
    credits = [ready_item(xero, f"CN-{n}", type="credit_note") for n in range(2)]
    request = publish(tenant, django_capture_on_commit_callbacks, [*bills, bad, *credits])
    assert len(request.queued) == 55

    # One task per batch's worth of attempts: 50 + 3 bills, 2 credit notes.
    assert len(queued_tasks()) == 3
    assert work_off() == [AttemptState.PUBLISHED] * 3
    assert [e.status for e in puts("/Invoices")] == [200, 200]
    assert [e.status for e in puts("/CreditNotes")] == [200]
    with scopes_disabled():
        sizes = sorted(len(b.attempt_ids) for b in PublishBatch.objects.filter(account=tenant.account))
        statuses = dict(Item.objects.filter(account=tenant.account).values_list("reference", "status"))
        bad.refresh_from_db()
    assert sizes == [2, 3, 50]
    assert statuses.pop("B-BAD") == ItemStatus.FAILED
    assert set(statuses.values()) == {ItemStatus.PUBLISHED}
    assert bad.publish_error == "Xero refused it: Account code '999' is not a valid code for this document."
    assert numbers("xero", xero.external_id) == sorted([*(f"B-{n:02}" for n in range(52)), "CN-0", "CN-1"])
    kinds = {(b.kind, b.idempotency_key) for b in received("xero", xero.external_id)}
    assert {k for k, _ in kinds} == {"ACCPAY", "ACCPAYCREDIT"}
    assert len({key for _, key in kinds}) == 3  # one key per call, shared by its documents
    # Each call's key is derived from its attempts' own keys, in the body's order.
    with scopes_disabled():
        for batch in PublishBatch.objects.filter(account=tenant.account):
            attempts = {a.pk: a for a in PublishAttempt.objects.filter(pk__in=batch.attempt_ids)}
            docs = [publishing.bill_for(tenant.account, attempts[pk]) for pk in batch.attempt_ids]
            assert batch.key == xero_publish.batch_key(docs, generation=1)
            assert {a.sent_key for a in attempts.values()} == {batch.key}


def test_a_lost_batch_answer_is_resent_byte_for_byte_under_the_same_key(
    xero, tenant, settings, django_capture_on_commit_callbacks
):
    items = [ready_item(xero, f"LOST-{n}") for n in range(3)]
    publish(tenant, django_capture_on_commit_callbacks, items)
    with stamina.set_testing(True, attempts=1):  # no in-call retry: the batch is left in doubt
        with answer_lost(settings, "xero", "dropped"), django_capture_on_commit_callbacks(execute=True):
            assert work_off() == [AttemptState.IN_DOUBT]
    assert numbers("xero", xero.external_id) == ["LOST-0", "LOST-1", "LOST-2"]  # Xero did create them
    with scopes_disabled():
        [batch] = PublishBatch.objects.filter(account=tenant.account)
        assert set(PublishAttempt.objects.values_list("state", flat=True)) == {AttemptState.IN_DOUBT}
    make_due()
    body_before = batch.body
    assert work_off() == [AttemptState.PUBLISHED]  # one task resends the whole batch
    with scopes_disabled():
        batch.refresh_from_db()
        assert set(Item.objects.values_list("status", flat=True)) == {ItemStatus.PUBLISHED}
    # The same key and the same bytes: Xero (the sandbox) answered from its memory; a different body
    # under that key would have been refused with 400.
    assert batch.body == body_before
    assert [e.status for e in puts("/Invoices")] == [200, 200]
    assert {b.idempotency_key for b in received("xero", xero.external_id)} == {batch.key}
    assert numbers("xero", xero.external_id) == ["LOST-0", "LOST-1", "LOST-2"]  # 0 duplicates


def test_past_the_keys_six_minutes_a_batch_is_looked_up_and_only_the_missing_are_sent(
    xero, tenant, settings, django_capture_on_commit_callbacks
):
    items = [ready_item(xero, f"OLD-{n}") for n in range(3)]
    publish(tenant, django_capture_on_commit_callbacks, items)
    with stamina.set_testing(True, attempts=1):
        with answer_lost(settings, "xero", "dropped"), django_capture_on_commit_callbacks(execute=True):
            work_off()
    # One of them is deleted in Xero meanwhile (as if it had never arrived), and 10 minutes pass.
    SandboxBill.objects.filter(provider="xero", number="OLD-1").delete()
    clock.advance(timedelta(minutes=10))
    with scopes_disabled():
        [batch] = PublishBatch.objects.filter(account=tenant.account)
        first_key = batch.key
        PublishBatch.objects.update(sent_at=timezone.now() - timedelta(minutes=10))
    make_due()
    work_off()
    with scopes_disabled():
        batch.refresh_from_db()
        assert set(Item.objects.values_list("status", flat=True)) == {ItemStatus.PUBLISHED}
    assert sorted(numbers("xero", xero.external_id)) == ["OLD-0", "OLD-1", "OLD-2"]  # found 2, sent 1
    [again] = [b for b in received("xero", xero.external_id) if b.number == "OLD-1"]
    assert again.idempotency_key == batch.key != first_key  # a new body gets a new key
    assert len(batch.attempt_ids) == 1


@pytest.mark.usefixtures("media")
def test_a_batchs_queries_do_not_grow_with_its_size(xero, tenant, django_capture_on_commit_callbacks):
    """A Xero call of 50 costs the worker as many queries as a call of 10 (the lists, outcomes, activity
    and attachments of a batch are read and written together), and does the same work for each item:
    every item published, its activity recorded, the document of each that has one made pending and
    its attach task queued."""

    def one_batch(prefix: str, size: int) -> int:
        items = [
            ready_item(xero, f"{prefix}-{n:02}", supplier="Acme Supplies" if n % 2 else "British Gas")
            for n in range(size)
        ]
        for item in items[::3]:
            with_document(item)
        publish(tenant, django_capture_on_commit_callbacks, items)
        with scopes_disabled():
            head = PublishAttempt.objects.filter(item=items[0]).get()
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            assert publishing.run_batch(account=tenant.account, head=head) == AttemptState.PUBLISHED
        with scopes_disabled():
            refs = [i.reference for i in items]
            assert set(Item.objects.filter(reference__in=refs).values_list("status", flat=True)) == {
                ItemStatus.PUBLISHED
            }
            logged = ActivityEntry.objects.filter(account=tenant.account, action="item.published")
            assert {r for e in logged for r in refs if f" {r} " in e.summary} == set(refs)
            documents = Document.objects.filter(item__in=items)
            assert [d.attach_state for d in documents] == [AttachState.PENDING] * len(items[::3])
            assert len({d.attach_key for d in documents}) == len(items[::3])
        assert len(attach_tasks(due_only=False)) == len(items[::3]) + already[0]
        already[0] += len(items[::3])
        # The worker's own queries: the task queue's (one attach task per document, by design, queued
        # as the batch's outcomes commit) are not the worker's reads and writes.
        return len([q for q in queries.captured_queries if "django_tasks_database" not in q["sql"]])

    already = [0]
    one_batch("WARM", 2)  # the first call of the organisation makes its rate-limit row
    assert one_batch("TEN", 10) == one_batch("FIFTY", 50)
    sizes = {"WARM": 2, "TEN": 10, "FIFTY": 50}
    assert sorted(numbers("xero", xero.external_id)) == sorted(
        f"{prefix}-{n:02}" for prefix, size in sizes.items() for n in range(size)
    )  # each once: 0 lost, 0 duplicates


def test_a_task_whose_attempt_went_in_another_batch_sends_the_ones_still_waiting(
    xero, tenant, django_capture_on_commit_callbacks
):
    """One task is enqueued per 50 attempts, but a batch takes any 50 due ones: the second task's own
    attempt can go out in the first batch. That task then sends what is still waiting, so nothing is left
    to wait for the sweeper (the benchmark's 10,000 items had 50 stranded so)."""
    items = [ready_item(xero, f"S-{n:02}") for n in range(60)]
    queued = publish(tenant, django_capture_on_commit_callbacks, items).queued
    first, second = queued[0], queued[50]
    # The second task runs first: its batch is its attempt and the 49 oldest others, the first one's too.
    assert publishing.run_attempt(account=tenant.account, attempt_id=second.pk) == AttemptState.PUBLISHED
    with scopes_disabled():
        assert PublishAttempt.objects.get(pk=first.pk).state == AttemptState.PUBLISHED
        waiting = PublishAttempt.objects.filter(account=tenant.account, state=AttemptState.QUEUED).count()
    assert waiting == 10
    # The first task finds its attempt gone out, and sends the 10 still waiting in one call.
    assert publishing.run_attempt(account=tenant.account, attempt_id=first.pk) == AttemptState.PUBLISHED
    with scopes_disabled():
        states = set(PublishAttempt.objects.filter(account=tenant.account).values_list("state", flat=True))
    assert states == {AttemptState.PUBLISHED}
    assert len(puts("/Invoices")) == 2
    assert sorted(numbers("xero", xero.external_id)) == [f"S-{n:02}" for n in range(60)]  # each once

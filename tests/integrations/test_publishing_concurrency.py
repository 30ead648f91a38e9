"""Two workers, one item, real PostgreSQL concurrency, the Xero sandbox over HTTP: exactly one of them
publishes it (the conditional UPDATE that claims the attempt), the other does nothing, and the sandbox
holds each bill once. Two publish requests for one item at once: one attempt, never two."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

from costs import publishing
from costs.models import AttemptState, ItemStatus, PublishAttempt
from tests.concurrency import race
from tests.integrations.publish_helpers import numbers
from tests.integrations.publishing_helpers import ready_item
from tests.integrations.sandbox_helpers import sandbox, xero_connection  # noqa: F401

ROUNDS = 6

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.mark.usefixtures("sandbox")
def test_two_workers_never_publish_one_item_twice(tenant, other_tenant, connect):
    xero = xero_connection(connect, tenant.account)
    states: list[str | None] = []
    for n in range(ROUNDS):
        item = ready_item(xero, f"RACE-{n}")
        [attempt] = publishing.request_publish(
            account=tenant.account, acting_user=tenant.admin, item_ids=[item.pk]
        ).queued
        results: list[str | None] = []

        def work(attempt_id=attempt.pk, results=results):
            results.append(publishing.run_attempt(account=tenant.account, attempt_id=attempt_id))

        assert race(work, work) == ["ok", "ok"]
        assert sorted(results, key=str) == sorted([AttemptState.PUBLISHED, None], key=str), results
        states += results
        with scopes_disabled():
            attempt.refresh_from_db()
            item.refresh_from_db()
        assert (attempt.state, attempt.tries, item.status) == (
            AttemptState.PUBLISHED,
            1,
            ItemStatus.PUBLISHED,
        )
    assert numbers("xero", xero.external_id) == [f"RACE-{n}" for n in range(ROUNDS)]  # each once
    with scopes_disabled():
        assert not PublishAttempt.objects.filter(account=other_tenant.account).exists()


def test_two_requests_for_one_item_make_one_attempt(tenant, other_tenant, connect):
    connect(tenant.account, "xero")
    for n in range(ROUNDS):
        item = ready_item_without_lists(tenant, n)

        def ask(item_id=item.pk):
            publishing.request_publish(account=tenant.account, acting_user=tenant.admin, item_ids=[item_id])

        outcomes = race(ask, ask)
        assert sorted(outcomes) == ["nothing_to_publish", "ok"], outcomes
        with scopes_disabled():
            assert PublishAttempt.objects.filter(item_id=item.pk).count() == 1


def ready_item_without_lists(tenant, n):
    from tests.factories import ItemFactory

    return ItemFactory(account=tenant.account, status="ready", reference=f"REQ-{n}")


@pytest.mark.usefixtures("sandbox")
def test_two_workers_working_off_one_queue_in_batches_publish_each_item_once(tenant, other_tenant, connect):
    """120 items to one Xero organisation; two workers take the queue's tasks from opposite ends, at
    once. Each claims batches of up to 50 (SKIP LOCKED: never the other's); every item is published
    exactly once, in at most 50 a call."""
    from costs.models import PublishBatch
    from sandbox.models import RequestLogEntry

    xero = xero_connection(connect, tenant.account)
    items = [ready_item(xero, f"PAIR-{n:03}") for n in range(120)]
    queued = publishing.request_publish(
        account=tenant.account, acting_user=tenant.admin, item_ids=[i.pk for i in items]
    ).queued
    ids = [a.pk for a in queued]
    ran: list[list[str | None]] = [[], []]

    def worker(order: list[int], out: list[str | None]):
        def work():
            for attempt_id in order:
                out.append(publishing.run_attempt(account=tenant.account, attempt_id=attempt_id))

        return work

    assert race(worker(ids, ran[0]), worker(ids[::-1], ran[1])) == ["ok", "ok"]
    with scopes_disabled():
        assert set(PublishAttempt.objects.filter(pk__in=ids).values_list("state", flat=True)) == {
            AttemptState.PUBLISHED
        }
        assert set(PublishAttempt.objects.filter(pk__in=ids).values_list("tries", flat=True)) == {1}
        sizes = [len(b.attempt_ids) for b in PublishBatch.objects.filter(account=tenant.account)]
    assert sum(sizes) == 120 and max(sizes) <= 50
    assert ran[0].count(AttemptState.PUBLISHED) + ran[1].count(AttemptState.PUBLISHED) == len(sizes)
    assert RequestLogEntry.objects.filter(provider="xero", method="PUT").count() == len(sizes)
    assert sorted(numbers("xero", xero.external_id)) == [f"PAIR-{n:03}" for n in range(120)]  # each once
    with scopes_disabled():
        assert not PublishAttempt.objects.filter(account=other_tenant.account).exists()

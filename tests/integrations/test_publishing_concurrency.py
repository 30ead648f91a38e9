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


def test_two_web_connector_sessions_never_hand_out_one_attempt_twice(tenant, other_tenant, connect):
    """QuickBooks Desktop's queue (costs/qbwc_publishing.py): two sessions asking for the next message
    set at the same moment get disjoint attempts, every one of them handed out exactly once."""
    from lxml import etree

    from costs import qbwc_publishing
    from costs.models import Item, Supplier, SupplierLink, SupplierMatch
    from integrations.models import ListEntry

    qbd = connect(tenant.account, "qbd", external_id="C:\\Acme.qbw", options={"qbxml_version": "16.0"})
    with scopes_disabled():
        vendor = ListEntry.objects.create(
            account=tenant.account, connection=qbd, kind="supplier", external_id="70000001-1", name="Staples"
        )
        expense = ListEntry.objects.create(
            account=tenant.account,
            connection=qbd,
            kind="account",
            external_id="80000001-1",
            name="Advertising",
        )
        supplier = Supplier.objects.create(account=tenant.account, name="Staples")
        SupplierLink.objects.create(
            account=tenant.account,
            supplier=supplier,
            connection=qbd,
            entry=vendor,
            matched_by=SupplierMatch.EXACT,
        )
        items = [
            Item.objects.create(
                account=tenant.account,
                status=ItemStatus.READY,
                type="bill",
                supplier=supplier,
                reference=f"QBD-{n}",
                category_entry=expense,
                total=10,
                currency="USD",
            )  # fmt: skip
            for n in range(ROUNDS * 2)
        ]
    attempts = publishing.request_publish(
        account=tenant.account, acting_user=tenant.admin, item_ids=[i.pk for i in items]
    ).queued
    handed: dict[str, list[str]] = {}

    def session(ticket: str) -> None:
        with scopes_disabled():
            connection = type(qbd).objects.select_related("account").get(pk=qbd.pk)
        request = qbwc_publishing.next_request(
            account=connection.account, connection=connection, ticket=ticket
        )
        root = etree.fromstring(request.encode()) if request else None
        handed[ticket] = [rq.get("requestID") for rq in root.iter("BillAddRq")] if root is not None else []

    assert race(lambda: session("A"), lambda: session("B")) == ["ok", "ok"]
    everything = handed["A"] + handed["B"]
    assert sorted(everything) == sorted(a.key for a in attempts)  # each exactly once
    assert not set(handed["A"]) & set(handed["B"])
    with scopes_disabled():
        assert PublishAttempt.objects.filter(connection=qbd, state=AttemptState.SENDING).count() == len(
            attempts
        )
        assert not PublishAttempt.objects.filter(account=other_tenant.account).exists()


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

"""Publish requests (costs/publishing.py): who may, which items, bad input sending nothing, and an item
frozen while in flight — routing, previews, edits and the disconnect guard. Two tenants throughout: the
other one's items are never touched and cannot be named."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from accounts.errors import DomainError
from accounts.models import ActivityEntry, Role
from costs import publishing, services
from costs.impact import default_change_impact, disconnect_impact
from costs.models import AttemptState, Item, ItemStatus, PublishAttempt
from costs.routing import PUBLISHING, effective_integration, load_facts
from integrations import services as integration_services
from integrations.models import IntegrationDefaults
from tests.factories import ItemFactory, MembershipFactory


def state():
    with scopes_disabled():
        return (
            sorted(Item.objects.values_list("pk", "status", "published_to_id", "total")),
            sorted(PublishAttempt.objects.values_list("pk", "item_id", "state")),
            ActivityEntry.objects.filter(action__startswith="item.publish").count(),
        )


def refused(message: str, call, **kwargs) -> DomainError:
    before = state()
    with pytest.raises(DomainError) as error:
        call(**kwargs)
    assert message in error.value.message
    assert state() == before
    return error.value


def publish_refused(message: str, acme, user, *items) -> None:
    refused(
        message,
        publishing.request_publish,
        account=acme.account,
        acting_user=user,
        item_ids=[i.pk for i in items],
    )


def publish(acme, user, *items):
    return publishing.request_publish(account=acme.account, acting_user=user, item_ids=[i.pk for i in items])


def test_ready_items_are_queued_frozen_to_their_route_and_the_rest_skipped(acme, other, admin_user):
    ready = ItemFactory(account=acme.account, status="ready", reference="R-1")
    to_bill = ItemFactory(account=acme.account, status="ready", reference="R-2", integration=acme.billcom)
    review = ItemFactory(account=acme.account, status="to_review", reference="T-1")
    result = publish(acme, admin_user, ready, to_bill, review)
    assert [(a.item_id, a.connection_id, a.state) for a in result.queued] == [
        (ready.pk, acme.xero.pk, AttemptState.QUEUED),
        (to_bill.pk, acme.billcom.pk, AttemptState.QUEUED),
    ]
    assert len({a.key for a in result.queued}) == 2
    assert [(i.pk, why) for i, why in result.skipped] == [
        (review.pk, "Bill / invoice T-1 is still to review: mark it Ready first.")
    ]
    with scopes_disabled():
        assert set(Item.objects.filter(status="publishing").values_list("pk", "published_to_id")) == {
            (ready.pk, acme.xero.pk),
            (to_bill.pk, acme.billcom.pk),
        }
        assert (
            ActivityEntry.objects.filter(account=acme.account, action="item.publish_requested").count() == 2
        )
        assert not PublishAttempt.objects.filter(account=other.account).exists()


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("to_review", "is still to review: mark it Ready first."),
        ("published", "is already published."),
        ("archived", "is archived."),
        ("publishing", "is already being published."),
        ("failed", "failed to publish: use Retry."),
    ],
)
def test_items_that_are_not_ready_send_nothing(acme, other, admin_user, status, message):
    item = ItemFactory(
        account=acme.account,
        status=status,
        published_to=acme.xero if status in ("published", "publishing") else None,
    )
    publish_refused(message, acme, admin_user, item)


@pytest.mark.parametrize("forged", ["abc", "", "-1", "99999999", None])
def test_a_forged_or_stale_selection_sends_nothing(acme, other, admin_user, forged):
    ready = ItemFactory(account=acme.account, status="ready")
    refused(
        "not in this account any more. Nothing was sent.",
        publishing.request_publish,
        account=acme.account,
        acting_user=admin_user,
        item_ids=[ready.pk, forged],
    )


def test_another_accounts_item_sends_nothing(acme, other, admin_user):
    mine = ItemFactory(account=acme.account, status="ready")
    theirs = ItemFactory(account=other.account, status="ready")
    refused(
        "not in this account any more. Nothing was sent.",
        publishing.request_publish,
        account=acme.account,
        acting_user=admin_user,
        item_ids=[mine.pk, theirs.pk],
    )
    # Nor can the other account's admin publish Acme's item.
    refused(
        "not in this account any more",
        publishing.request_publish,
        account=other.account,
        acting_user=other.account.owner,
        item_ids=[mine.pk],
    )


def test_nothing_empty(acme, other, admin_user):
    refused(
        "Select at least one item first.",
        publishing.request_publish,
        account=acme.account,
        acting_user=admin_user,
        item_ids=[],
    )


def test_a_sales_item_whose_main_software_is_gone_sends_nothing(acme, other, admin_user):
    sale = ItemFactory(account=acme.account, status="ready", type="sales_invoice", reference="SI-1")
    with scopes_disabled():
        acme.xero.status = "disconnected"
        acme.xero.save()
    refused(
        "Sales invoice SI-1 is a sales item: it publishes to your main accounting software, and none is "
        "connected.",
        publishing.request_publish,
        account=acme.account,
        acting_user=admin_user,
        item_ids=[sale.pk],
    )


def test_bill_com_takes_no_credit_notes(acme, other, admin_user):
    note = ItemFactory(account=acme.account, status="ready", type="credit_note", integration=acme.billcom)
    publish_refused("Bill.com does not take a credit note", acme, admin_user, note)


def test_standard_users_publish_only_when_the_account_allows_it(acme, other, admin_user):
    staff = MembershipFactory(account=acme.account, role=Role.STANDARD).user
    item = ItemFactory(account=acme.account, status="ready")
    publish_refused("You may not publish items in this account.", acme, staff, item)
    with scopes_disabled():
        other.account.standard_users_may_publish = True  # the other account's setting changes nothing
        other.account.save()
    publish_refused("You may not publish items in this account.", acme, staff, item)
    acme.account.standard_users_may_publish = True
    acme.account.save()
    assert len(publish(acme, staff, item).queued) == 1


# --- frozen while in flight -------------------------------------------------------------------------


def test_an_item_in_flight_keeps_its_target_whatever_changes(acme, other, admin_user):
    flying = ItemFactory(account=acme.account, status="ready", reference="F-1")
    waiting = ItemFactory(account=acme.account, status="ready", reference="W-1")
    publish(acme, admin_user, flying)
    with scopes_disabled():
        flying.refresh_from_db()
        IntegrationDefaults.objects.update_or_create(
            account=acme.account, defaults={"publishing": acme.billcom, "expense_claims": acme.billcom}
        )
    with scope(account=acme.account):
        facts = load_facts(acme.account)
        route = effective_integration(flying, facts)
        assert (route.connection, route.code) == (acme.xero, PUBLISHING)
        assert effective_integration(waiting, facts).connection == acme.billcom
    # Previews and counts leave it out: only the waiting item moves.
    assert default_change_impact(account=acme.account, publishing_id=None, expense_claims_id=None).items == 1
    assert disconnect_impact(account=acme.account, connection=acme.billcom).items == 1


def test_an_item_in_flight_cannot_be_edited(acme, other, admin_user):
    item = ItemFactory(account=acme.account, status="ready", reference="F-1")
    publish(acme, admin_user, item)
    refused(
        "Bill / invoice F-1 is being published: it cannot be changed until that finishes or is cancelled.",
        services.update_item,
        account=acme.account,
        acting_user=admin_user,
        item_id=item.pk,
        data={"total": "1.00"},
    )
    refused(
        "Bill / invoice F-1 is being published",
        services.set_item_integration,
        account=acme.account,
        acting_user=admin_user,
        item_id=item.pk,
        connection_id=acme.billcom.pk,
    )


def test_the_disconnect_guard_names_in_flight_items_until_cancelled(acme, other, admin_user):
    items = [ItemFactory(account=acme.account, status="ready", integration=acme.billcom) for _ in range(3)]
    other_item = ItemFactory(account=other.account, status="ready", integration=other.billcom)
    publish(acme, admin_user, *items)
    with pytest.raises(DomainError) as error:
        integration_services.disconnect_guard(account=acme.account, connection=acme.billcom)
    assert (
        error.value.message
        == "3 items are being published to Bill.com: wait until they finish, or cancel them."
    )
    # The other tenant's Bill.com is not concerned.
    integration_services.disconnect_guard(account=other.account, connection=other.billcom)
    for item in items[:2]:
        publishing.cancel(account=acme.account, acting_user=admin_user, item_id=item.pk)
    with pytest.raises(DomainError) as error:
        integration_services.disconnect_guard(account=acme.account, connection=acme.billcom)
    assert (
        error.value.message == "1 item is being published to Bill.com: wait until it finishes, or cancel it."
    )
    publishing.cancel(account=acme.account, acting_user=admin_user, item_id=items[2].pk)
    integration_services.disconnect_guard(account=acme.account, connection=acme.billcom)
    with scopes_disabled():
        assert set(Item.objects.filter(pk__in=[i.pk for i in items]).values_list("status", flat=True)) == {
            "ready"
        }
        assert (
            ActivityEntry.objects.filter(account=acme.account, action="item.publish_cancelled").count() == 3
        )
        other_item.refresh_from_db()
    assert other_item.status == "ready"


def test_an_attempt_that_may_have_been_sent_cannot_be_cancelled(acme, other, admin_user):
    item = ItemFactory(account=acme.account, status="ready", reference="S-1")
    [attempt] = publish(acme, admin_user, item).queued
    with scopes_disabled():
        PublishAttempt.objects.filter(pk=attempt.pk).update(sent_at=timezone.now(), state="in_doubt")
    refused(
        "may already be in Xero",
        publishing.cancel,
        account=acme.account,
        acting_user=admin_user,
        item_id=item.pk,
    )
    refused(
        "is not being published",
        publishing.cancel,
        account=other.account,
        acting_user=other.account.owner,
        item_id=ItemFactory(account=other.account).pk,
    )


def test_one_open_attempt_per_item_is_a_database_rule(acme, other, admin_user):
    item = ItemFactory(account=acme.account, status="ready")
    [attempt] = publish(acme, admin_user, item).queued
    with scopes_disabled(), pytest.raises(IntegrityError), transaction.atomic():
        PublishAttempt.objects.create(account=acme.account, item=item, connection=acme.xero, key="second")


def test_retry_re_routes_a_failed_item_with_a_new_key(acme, other, admin_user):
    item = ItemFactory(account=acme.account, status="ready", reference="RT-1")
    [first] = publish(acme, admin_user, item).queued
    with scopes_disabled():
        PublishAttempt.objects.filter(pk=first.pk).update(state="failed", finished_at=timezone.now())
        Item.objects.filter(pk=item.pk).update(status="failed", published_to=None, publish_error="No.")
    refused(
        "Only a failed item can be retried",
        publishing.retry,
        account=acme.account,
        acting_user=admin_user,
        item_id=ItemFactory(account=acme.account, status="ready").pk,
    )
    refused(
        "not in this account any more",
        publishing.retry,
        account=other.account,
        acting_user=other.account.owner,
        item_id=item.pk,
    )
    services.set_item_integration(  # not changeable while in flight, but a failed item is
        account=acme.account, acting_user=admin_user, item_id=item.pk, connection_id=acme.billcom.pk
    )
    again = publishing.retry(account=acme.account, acting_user=admin_user, item_id=item.pk)
    assert (again.connection_id, again.state) == (acme.billcom.pk, AttemptState.QUEUED)
    assert again.key != first.key
    with scopes_disabled():
        assert ActivityEntry.objects.filter(account=acme.account, action="item.publish_retried").count() == 1


def test_the_sweeper_re_enqueues_only_stale_attempts(acme, other, admin_user):
    from django_tasks_db.models import DBTaskResult

    fresh = ItemFactory(account=acme.account, status="ready")
    stale = ItemFactory(account=other.account, status="ready")
    publish(acme, admin_user, fresh)
    publishing.request_publish(account=other.account, acting_user=other.account.owner, item_ids=[stale.pk])
    with scopes_disabled():
        PublishAttempt.objects.filter(item=stale).update(
            state="sending", lease_until=timezone.now() - timedelta(seconds=1)
        )
    assert publishing.sweep() == 1
    [row] = DBTaskResult.objects.filter(task_path="costs.tasks.publish_attempt")
    with scopes_disabled():
        assert row.args_kwargs["kwargs"] == {
            "account_id": other.account.pk,
            "attempt_id": PublishAttempt.objects.get(item=stale).pk,
        }
    # Much later, the fresh one has lost its task too (never run): it is swept as well.
    assert publishing.sweep(now=timezone.now() + publishing.SWEEP_GRACE + timedelta(minutes=1)) == 2
    # One waiting for its connection to be reconnected is left alone; one whose connection is gone is
    # run (and fails clearly), never left stuck.
    much_later = timezone.now() + publishing.SWEEP_GRACE + timedelta(minutes=1)
    with scopes_disabled():
        acme.xero.status = "needs_reconnect"
        acme.xero.save()
    assert publishing.sweep(now=much_later) == 1
    with scopes_disabled():
        acme.xero.status = "disconnected"
        acme.xero.save()
    assert publishing.sweep(now=much_later) == 2
    with scopes_disabled():
        attempt = PublishAttempt.objects.get(item=fresh)
    assert publishing.run_attempt(account=acme.account, attempt_id=attempt.pk) == AttemptState.FAILED
    with scopes_disabled():
        fresh.refresh_from_db()
    assert fresh.status == ItemStatus.FAILED and "Xero was disconnected before this item was sent" in (
        fresh.publish_error
    )

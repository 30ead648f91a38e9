"""Bulk Publish from the Costs and Sales inboxes (issue 10) and its progress: only Ready items are
queued, the others skipped with the reason; a forged or stale selection (another account's ids, ids
that are not items) gets a clear message and sends nothing; who may publish (accounts/permissions.py,
Account.standard_users_may_publish); the progress partial is keyed by the attempts' ids and scoped to
the account. Two tenants throughout."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from accounts.models import ActivityEntry
from costs.models import AttemptState, Item, ItemStatus, PublishAttempt
from tests.costs.test_views import inbox_url, text
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def publish_url(account) -> str:
    return f"/a/{account.slug}/costs/publish/"


def progress_url(account, ids) -> str:
    return f"/a/{account.slug}/costs/publish/progress/?attempts={','.join(str(i) for i in ids)}"


def sent() -> tuple:
    """Everything a publish request writes: attempts, item statuses, the log."""
    with scopes_disabled():
        return (
            sorted(PublishAttempt.objects.values_list("pk", "item_id", "state")),
            sorted(Item.objects.values_list("pk", "status", "published_to_id")),
            ActivityEntry.objects.filter(action__startswith="item.publish").count(),
        )


def attempts_of(account) -> list[PublishAttempt]:
    with scopes_disabled():
        return list(PublishAttempt.objects.filter(account=account).order_by("pk"))


# --- eligible and skipped ------------------------------------------------------------------------------


def test_publish_queues_the_ready_items_and_names_the_skipped(acme, other, admin_client_):
    to_xero = ItemFactory(account=acme.account, status="ready", reference="R-1")
    to_billcom = ItemFactory(account=acme.account, status="ready", reference="R-2", integration=acme.billcom)
    review = ItemFactory(account=acme.account, status="to_review", reference="T-1")
    failed = ItemFactory(account=acme.account, status="failed", reference="F-1")
    foreign = ItemFactory(account=other.account, status="ready")
    response = admin_client_.post(
        publish_url(acme.account),
        {
            "items": [to_xero.pk, to_billcom.pk, review.pk, failed.pk],
            "next": inbox_url(acme.account, "?sort=total"),
        },
        follow=True,
    )
    attempts = attempts_of(acme.account)
    assert [(a.item_id, a.connection_id, a.state) for a in attempts] == [
        (to_xero.pk, acme.xero.pk, AttemptState.QUEUED),
        (to_billcom.pk, acme.billcom.pk, AttemptState.QUEUED),
    ]
    # Back on the same inbox page, with the progress in its address.
    final = response.redirect_chain[-1][0]
    assert final.startswith(inbox_url(acme.account, "?")) and "sort=total" in final
    assert parse_qs(urlsplit(final).query)["publishing"] == [f"{attempts[0].pk},{attempts[1].pk}"]
    body = text(response)
    assert "Publishing 2 items." in body
    assert (
        "Skipped 2 items: Bill / invoice T-1 is still to review: mark it Ready first. "
        "Bill / invoice F-1 failed to publish: use Retry."
    ) in body
    assert "2 queued · 0 published · 0 failed" in body
    with scopes_disabled():
        assert Item.objects.get(pk=foreign.pk).status == ItemStatus.READY
        assert not PublishAttempt.objects.filter(account=other.account).exists()


def test_publish_with_htmx_answers_the_progress_panel_that_polls(acme, other, admin_client_):
    ready = ItemFactory.create_batch(2, account=acme.account, status="ready")
    review = ItemFactory(account=acme.account, status="to_review", reference="T-1")
    response = admin_client_.post(
        publish_url(acme.account),
        {"items": [i.pk for i in [*ready, review]], "next": inbox_url(acme.account)},
        **HTMX,
    )
    assert response.status_code == 200
    body = response.content.decode()
    ids = [a.pk for a in attempts_of(acme.account)]
    assert '<h2 id="publish-progress-title">Publishing</h2>' in body
    assert "2 queued · 0 published · 0 failed" in text(response)
    assert "Skipped 1 item: Bill / invoice T-1 is still to review: mark it Ready first." in text(response)
    # It polls its own progress, keyed by the attempts, and the address bar keeps it for a reload.
    assert f'hx-get="{progress_url(acme.account, ids)}" hx-trigger="every 1s"' in body
    assert response["HX-Push-Url"] == inbox_url(acme.account, f"?publishing={ids[0]},{ids[1]}")
    # Each row's status for the table to follow.
    for item in ready:
        assert (
            f'data-progress-item="{item.pk}" data-status="publishing" data-status-label="Publishing"' in body
        )


def test_nothing_ready_sends_nothing_and_says_why(acme, other, admin_client_):
    review = ItemFactory(account=acme.account, status="to_review", reference="T-1")
    done = ItemFactory(account=acme.account, status="published", published_to=acme.xero, reference="P-1")
    before = sent()
    response = admin_client_.post(publish_url(acme.account), {"items": [review.pk, done.pk]}, **HTMX)
    assert (
        "Nothing was sent: Bill / invoice T-1 is still to review: mark it Ready first. "
        "Bill / invoice P-1 is already published."
    ) in text(response)
    assert 'role="alert"' in response.content.decode()
    assert sent() == before


@pytest.mark.parametrize("forged", ["foreign", "not-a-number", "gone"])
def test_a_forged_or_stale_selection_sends_nothing(acme, other, admin_client_, forged):
    mine = ItemFactory(account=acme.account, status="ready")
    foreign = ItemFactory(account=other.account, status="ready")
    bad = {"foreign": foreign.pk, "not-a-number": "12abc", "gone": foreign.pk + mine.pk + 1000}[forged]
    before = sent()
    for extra in ({}, HTMX):
        response = admin_client_.post(
            publish_url(acme.account), {"items": [mine.pk, bad]}, follow=True, **extra
        )
        assert "Some of the selected items are not in this account any more. Nothing was sent." in text(
            response
        )
        assert sent() == before


def test_nothing_selected_says_so(acme, other, admin_client_):
    response = admin_client_.post(publish_url(acme.account), {"items": []}, follow=True)
    assert "Select at least one item first." in text(response)
    assert sent() == ([], sent()[1], 0)


def test_another_accounts_publish_address_is_404(acme, other, admin_client_):
    foreign = ItemFactory(account=other.account, status="ready")
    before = sent()
    assert admin_client_.post(publish_url(other.account), {"items": [foreign.pk]}).status_code == 404
    assert sent() == before


def test_next_cannot_leave_the_inbox(acme, other, admin_client_):
    item = ItemFactory(account=acme.account, status="ready")
    response = admin_client_.post(
        publish_url(acme.account), {"items": [item.pk], "next": "https://evil.test/"}
    )
    assert response["Location"].startswith(inbox_url(acme.account, "?publishing="))


# --- who may publish -------------------------------------------------------------------------------------


def test_standard_users_publish_only_when_the_account_allows_it(acme, other, staff_client):
    item = ItemFactory(account=acme.account, status="ready")
    assert ">Publish</button>" not in staff_client.get(inbox_url(acme.account)).content.decode()
    before = sent()
    assert staff_client.post(publish_url(acme.account), {"items": [item.pk]}).status_code == 403
    assert sent() == before
    with scopes_disabled():
        other.account.standard_users_may_publish = True  # the other account's setting changes nothing
        other.account.save()
    assert staff_client.post(publish_url(acme.account), {"items": [item.pk]}).status_code == 403
    acme.account.standard_users_may_publish = True
    acme.account.save()
    assert ">Publish</button>" in staff_client.get(inbox_url(acme.account)).content.decode()
    staff_client.post(publish_url(acme.account), {"items": [item.pk]})
    assert [a.item_id for a in attempts_of(acme.account)] == [item.pk]


def test_practice_users_may_publish(acme, other, practice_setup):
    from tests.conftest import client_for

    _, partner, _ = practice_setup
    item = ItemFactory(account=acme.account, status="ready")
    client_for(partner).post(publish_url(acme.account), {"items": [item.pk]})
    assert [a.item_id for a in attempts_of(acme.account)] == [item.pk]


# --- the sales inbox ------------------------------------------------------------------------------------


def test_sales_inbox_publishes_its_selection_to_the_main_software(acme, other, admin_client_):
    sale = ItemFactory(account=acme.account, type="sales_invoice", status="ready", reference="SI-1")
    published = ItemFactory(
        account=acme.account, type="sales_invoice", status="published", published_to=acme.xero
    )
    sales = f"/a/{acme.account.slug}/sales/"
    body = admin_client_.get(sales).content.decode()
    assert f'name="items" value="{sale.pk}"' in body and f'value="{published.pk}"' not in body
    assert ">Publish</button>" in body
    response = admin_client_.post(publish_url(acme.account), {"items": [sale.pk], "next": sales}, follow=True)
    assert response.redirect_chain[-1][0].startswith(f"{sales}?publishing=")
    assert [(a.item_id, a.connection_id) for a in attempts_of(acme.account)] == [(sale.pk, acme.xero.pk)]
    assert "Sales invoice SI-1 → Xero: Queued" in text(response)


# --- progress ------------------------------------------------------------------------------------------


def _publish(client, account, items) -> list[int]:
    client.post(publish_url(account), {"items": [i.pk for i in items]})
    return [a.pk for a in attempts_of(account)]


def _land(attempt_id: int, state: str, **fields) -> None:
    """What the worker records (costs/publishing._finish), for the progress to show."""
    with scopes_disabled():
        attempt = PublishAttempt.objects.get(pk=attempt_id)
        PublishAttempt.objects.filter(pk=attempt_id).update(state=state, finished_at=timezone.now(), **fields)
        status = {"published": ItemStatus.PUBLISHED, "failed": ItemStatus.FAILED}.get(
            state, ItemStatus.PUBLISHING
        )
        Item.objects.filter(pk=attempt.item_id).update(status=status)


def test_progress_counts_then_each_rows_result_and_stops_polling_when_done(acme, other, admin_client_):
    items = [
        ItemFactory(
            account=acme.account,
            status="ready",
            reference=f"R-{n}",
            integration=acme.billcom if n % 2 else None,
        )
        for n in range(3)
    ]
    ids = _publish(admin_client_, acme.account, items)
    response = admin_client_.get(progress_url(acme.account, ids))
    assert "3 queued · 0 published · 0 failed" in text(response)
    assert 'hx-trigger="every 1s"' in response.content.decode()
    _land(ids[0], "published", external_id="X-1", url="https://go.xero.test/bill/X-1")
    _land(ids[1], "failed", message="Bill.com refused it: the vendor is inactive.")
    _land(ids[2], "sending")
    body = text(admin_client_.get(progress_url(acme.account, ids)))
    assert "0 queued · 1 sending · 1 published · 1 failed" in body
    assert "Bill / invoice R-0 → Xero: Published" in body
    assert "Bill / invoice R-1 → Bill.com: Failed Bill.com refused it: the vendor is inactive." in body
    _land(ids[2], "published")
    response = admin_client_.get(progress_url(acme.account, ids))
    assert "0 queued · 2 published · 1 failed — done." in text(response)
    assert "hx-trigger" not in response.content.decode()
    assert 'data-status="published" data-status-label="Published"' in response.content.decode()
    assert 'href="https://go.xero.test/bill/X-1"' in response.content.decode()


def test_progress_is_scoped_to_the_account(acme, other, admin_client_, stranger_client):
    mine = ItemFactory(account=acme.account, status="ready", reference="MINE-1")
    theirs = ItemFactory(account=other.account, status="ready", reference="THEIRS-1")
    my_ids = _publish(admin_client_, acme.account, [mine])
    their_ids = _publish(stranger_client, other.account, [theirs])
    # Another account's attempts read from here show nothing of them.
    response = admin_client_.get(progress_url(acme.account, their_ids))
    body = text(response)
    assert "There is nothing to show: these publish requests are not in this account." in body
    assert "THEIRS-1" not in body and "hx-trigger" not in response.content.decode()
    # Mixed with one's own: only one's own, and the rest named as missing.
    body = text(admin_client_.get(progress_url(acme.account, my_ids + their_ids + ["junk"])))
    assert "MINE-1" in body and "THEIRS-1" not in body
    assert "2 of these publish requests are not in this account: they are not shown." in body
    # The other account's page is 404 for this user; the inbox's own progress panel is scoped too.
    assert admin_client_.get(progress_url(other.account, their_ids)).status_code == 404
    body = text(admin_client_.get(inbox_url(acme.account, f"?publishing={their_ids[0]}")))
    assert "THEIRS-1" not in body and "nothing to show" in body


def test_the_inbox_shows_the_progress_from_its_address_and_does_not_carry_it_on(acme, other, admin_client_):
    ItemFactory.create_batch(30, account=acme.account, status="to_review")
    item = ItemFactory(account=acme.account, status="ready", reference="R-1")
    ids = _publish(admin_client_, acme.account, [item])
    body = admin_client_.get(inbox_url(acme.account, f"?publishing={ids[0]}&sort=total")).content.decode()
    assert "1 queued · 0 published · 0 failed" in text(
        admin_client_.get(inbox_url(acme.account, f"?publishing={ids[0]}"))
    )
    links = re.findall(r'href="\?([^"]*)"', body)
    assert links and not any("publishing=" in link for link in links)


def test_progress_statements_do_not_depend_on_the_number_of_attempts(acme, other, admin_client_):
    from django.db import connection as db_connection
    from django.test.utils import CaptureQueriesContext

    def measure(ids) -> int:
        admin_client_.get(progress_url(acme.account, ids))
        with CaptureQueriesContext(db_connection) as ctx:
            admin_client_.get(progress_url(acme.account, ids))
        return len(ctx)

    one = _publish(admin_client_, acme.account, [ItemFactory(account=acme.account, status="ready")])
    few = measure(one)
    many = ItemFactory.create_batch(20, account=acme.account, status="ready", integration=acme.billcom)
    ids = _publish(admin_client_, acme.account, many)
    assert measure(ids) == few
    # Session, user, account, membership (tenancy), then the attempts with their items and connections:
    # one query for the panel itself (a partial: no menu).
    assert few == 5

"""The Item details page (issues 10 and 12): its title and layout, "Choose…" for empty choices, staying on
the page after Save, and the publishing actions — Publish, Retry, Cancel — with the status partial the
page polls. Every refusal (another account's item, not Ready, stale, no permission) says why and changes
nothing; another account's item is a 404. The other tenant is always there and never changes."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ActivityEntry
from costs.models import AttemptState, Item, ItemStatus, PublishAttempt
from tests.conftest import client_for
from tests.costs.test_views import form_data, item_url
from tests.costs.test_views import text as _text
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(_text(response))


def state():
    """Everything a refused action must leave as it was: items, attempts, the activity log."""
    return (
        sorted(Item.objects.values_list("pk", "status", "published_to_id", "publish_error", "reference")),
        sorted(PublishAttempt.objects.values_list("pk", "state", "connection_id")),
        ActivityEntry.objects.count(),
    )


def action_url(item, action: str) -> str:
    return f"{item_url(item)}{action}/"


def messages_in(response) -> str:
    return " ".join(str(m) for m in response.context["messages"]) if response.context else ""


def attempt_of(item) -> PublishAttempt:
    return PublishAttempt.objects.filter(item=item).order_by("-pk").first()


@pytest.fixture
def ready(acme):
    return ItemFactory(account=acme.account, status="ready", reference="INV-READY")


# --- the page -------------------------------------------------------------------------------------


def test_the_page_is_called_item_details_with_the_integration_beside_the_state(acme, other, admin_client_):
    item = ItemFactory(account=acme.account, reference="INV-42", status="ready")
    body = admin_client_.get(item_url(item)).content.decode()
    assert "<title>Item details INV-42 · " in body
    assert re.search(r"<h1>Item details <span[^>]*>INV-42</span></h1>", body)
    state_block = re.search(r'<section class="item-state".*?</section>', body, re.S).group(0)
    assert 'class="badge status-ready"' in state_block and "Publishes to <strong>Xero</strong>" in state_block
    assert 'name="integration"' in state_block and 'form="item-form"' in state_block
    assert '<div class="item-layout">' in body and 'id="item-fields"' in body
    assert 'href="/static/css/item.css"' in body


def test_empty_choices_read_choose_never_dashes(acme, other, admin_client_):
    item = ItemFactory(account=acme.account, owner=None, payment_method="")
    body = admin_client_.get(item_url(item)).content.decode()
    owner = re.search(r'<select name="owner".*?</select>', body, re.S).group(0)
    payment = re.search(r'<select name="payment_method".*?</select>', body, re.S).group(0)
    assert re.search(r'<option value="" selected>Choose…</option>', owner)
    assert re.search(r'<option value="" selected>Choose…</option>', payment)
    assert "---------" not in body
    # The same for every select the forms render: the supplier rule's Payment method too.
    rule_page = admin_client_.get(f"/a/{acme.account.slug}/rules/new/").content.decode()
    assert "---------" not in rule_page and ">Choose…</option>" in rule_page


def test_after_saving_the_user_stays_on_the_item_page(acme, other, admin_client_):
    item = ItemFactory(account=acme.account, reference="OLD")
    url = item_url(item) + "?from=status%3Dready"
    response = admin_client_.post(url, form_data(item, reference="NEW", integration=""))
    assert response.status_code == 302 and response["Location"] == url  # POST-redirect-GET, same page
    page = admin_client_.get(response["Location"])
    assert "Saved." in messages_in(page)
    assert "Item details" in text(page) and "?status=ready" in page.content.decode()  # Back still works
    item.refresh_from_db()
    assert item.reference == "NEW"


# --- publish --------------------------------------------------------------------------------------


def test_admin_publishes_a_ready_item_and_the_page_polls_its_status(acme, other, admin_client_, ready):
    before_other = state_of(other.account)
    response = admin_client_.post(action_url(ready, "publish"), {"from": "status=ready"})
    assert response["Location"] == item_url(ready) + "?from=status%3Dready"
    ready.refresh_from_db()
    attempt = attempt_of(ready)
    assert (ready.status, ready.published_to, attempt.state) == ("publishing", acme.xero, "queued")
    assert ActivityEntry.objects.filter(account=acme.account, action="item.publish_requested").count() == 1
    page = admin_client_.get(response["Location"])
    body = page.content.decode()
    assert "Publishing to Xero…" in messages_in(page)
    assert "Publishing to <strong>Xero</strong>…" in body
    assert re.search(
        r'id="item-state"[^>]*hx-get="[^"]*/status/\?from=[^"]*"[^>]*hx-trigger="every 2s"', body
    )
    # Frozen while in flight: the values are shown read-only, with no form to post.
    assert 'id="item-form"' not in body and "data-readonly" in body and 'name="reference"' not in body
    assert state_of(other.account) == before_other


def state_of(account):
    return (
        sorted(Item.objects.filter(account=account).values_list("pk", "status", "published_to_id")),
        PublishAttempt.objects.filter(account=account).count(),
        ActivityEntry.objects.filter(account=account).count(),
    )


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("to_review", "is still to review: mark it Ready first."),
        ("publishing", "is already being published."),
        ("published", "is already published."),
        ("archived", "is archived."),
        ("failed", "failed to publish: use Retry."),
    ],
)
def test_only_a_ready_item_can_be_published(acme, other, admin_client_, status, words):
    item = ItemFactory(
        account=acme.account,
        status=status,
        reference="NR-1",
        published_to=acme.xero if status in ("publishing", "published") else None,
    )
    before = state()
    response = admin_client_.post(action_url(item, "publish"), follow=True)
    assert f"Nothing was sent: Bill / invoice NR-1 {words}" in messages_in(response)
    assert state() == before


def test_a_stale_page_publishing_twice_sends_once(acme, other, admin_client_, ready):
    admin_client_.post(action_url(ready, "publish"))
    before = state()
    response = admin_client_.post(action_url(ready, "publish"), follow=True)  # the same button again
    assert "is already being published." in messages_in(response)
    assert state() == before
    assert PublishAttempt.objects.filter(item=ready).count() == 1


def test_another_accounts_item_is_404_for_every_action_and_changes_nothing(acme, other, admin_client_):
    foreign = ItemFactory(account=other.account, status="ready")
    failed = ItemFactory(account=other.account, status="failed", publish_error="Xero refused it: no")
    before = state()
    for item in (foreign, failed):
        for action in ("publish", "retry", "cancel"):
            url = f"/a/{acme.account.slug}/costs/{item.pk}/{action}/"
            assert admin_client_.post(url).status_code == 404
        for action in ("status", "approval"):
            assert admin_client_.get(f"/a/{acme.account.slug}/costs/{item.pk}/{action}/").status_code == 404
        # Its own account's address: the user is not in that account.
        assert admin_client_.post(action_url(item, "publish")).status_code == 404
    assert state() == before


def test_forged_ids_and_methods_are_refused(acme, other, admin_client_, ready):
    before = state()
    slug = acme.account.slug
    assert admin_client_.post(f"/a/{slug}/costs/999999/publish/").status_code == 404
    assert admin_client_.post(f"/a/{slug}/costs/abc/publish/").status_code == 404
    assert admin_client_.get(action_url(ready, "publish")).status_code == 405  # never by a link
    # A cost item's actions are not at the sales address, nor the other way round.
    assert admin_client_.post(f"/a/{slug}/sales/{ready.pk}/publish/").status_code == 404
    assert state() == before


def test_a_standard_user_publishes_only_while_the_account_allows_it(acme, other, staff_user, ready):
    staff = client_for(staff_user)
    page = staff.get(item_url(ready))
    assert (
        "Only Admin users and accountants or bookkeepers accessing this account can publish items."
        in text(page)
    )
    assert not re.search(r">\s*Publish\s*</button>", page.content.decode())
    before = state()
    response = staff.post(action_url(ready, "publish"), follow=True)
    assert "You may not publish items in this account. Ask an Admin." in messages_in(response)
    assert state() == before
    # The other account allowing it changes nothing here.
    type(other.account).objects.filter(pk=other.account.pk).update(standard_users_may_publish=True)
    staff.post(action_url(ready, "publish"))
    assert state() == before

    type(acme.account).objects.filter(pk=acme.account.pk).update(standard_users_may_publish=True)
    assert re.search(r">\s*Publish\s*</button>", staff.get(item_url(ready)).content.decode())
    staff.post(action_url(ready, "publish"))
    ready.refresh_from_db()
    assert ready.status == "publishing" and attempt_of(ready).requested_by == staff_user


def test_a_practice_user_may_publish(acme, other, practice_setup, ready):
    _, partner, bookkeeper = practice_setup
    client_for(bookkeeper).post(action_url(ready, "publish"))
    ready.refresh_from_db()
    assert ready.status == "publishing"


def test_a_sales_item_publishes_to_the_main_software(acme, other, admin_client_):
    sale = ItemFactory(account=acme.account, type="sales_invoice", status="ready", reference="SI-9")
    response = admin_client_.post(action_url(sale, "publish"))
    assert response["Location"] == item_url(sale)
    sale.refresh_from_db()
    assert (sale.status, sale.published_to) == ("publishing", acme.xero)
    assert admin_client_.post(f"/a/{acme.account.slug}/costs/{sale.pk}/publish/").status_code == 404


# --- the status partial ---------------------------------------------------------------------------


def test_the_status_partial_keeps_polling_while_publishing_and_stops_when_done(
    acme, other, admin_client_, ready
):
    admin_client_.post(action_url(ready, "publish"))
    partial = admin_client_.get(action_url(ready, "status")).content.decode()
    assert partial.lstrip().startswith("<section")
    assert 'hx-trigger="every 2s"' in partial and "<html" not in partial
    assert 'hx-swap-oob="true"' not in partial  # small while it polls

    # The worker publishes it.
    now = timezone.now()
    PublishAttempt.objects.filter(item=ready).update(state=AttemptState.PUBLISHED, finished_at=now)
    Item.objects.filter(pk=ready.pk).update(
        status=ItemStatus.PUBLISHED,
        published_at=now - timedelta(minutes=3),
        external_id="X-INV-1",
        published_url="https://go.xero.com/AccountsPayable/View.aspx?InvoiceID=X-INV-1",
    )
    partial = admin_client_.get(action_url(ready, "status")).content.decode()
    assert "every 2s" not in partial  # polling stops
    assert "Published to <strong>Xero</strong>" in partial
    assert 'href="https://go.xero.com/AccountsPayable/View.aspx?InvoiceID=X-INV-1"' in partial
    assert "3\xa0minutes ago" in partial and timezone.localtime(now).strftime("%-d %b %Y") in partial
    # …and the fields column comes with it, out of band.
    assert re.search(r'id="item-fields" hx-swap-oob="true"', partial)


def test_a_failed_item_shows_who_refused_it_their_words_and_retry(acme, other, admin_client_, ready):
    admin_client_.post(action_url(ready, "publish"))
    message = "Xero refused it: Account code '999' is not a valid code for this document."
    PublishAttempt.objects.filter(item=ready).update(state=AttemptState.FAILED, message=message)
    Item.objects.filter(pk=ready.pk).update(status="failed", published_to=None, publish_error=message)
    partial = admin_client_.get(action_url(ready, "status")).content.decode()
    fields = partial[partial.index('id="item-fields"') :]
    assert 'id="item-form"' in fields and 'name="reference"' in fields  # editable again, no reload
    assert partial.count("hx-swap-oob") == 1  # the column as a whole, never its fields one by one
    body = text(admin_client_.get(item_url(ready)))
    banner = body[body.index("Xero refused this item") :]
    assert "Account code '999' is not a valid code for this document." in banner
    assert "What to do:" in banner and "Retry sends the item to where it publishes now: Xero." in banner
    assert re.search(r">\s*Retry\s*</button>", admin_client_.get(item_url(ready)).content.decode())

    # Retry re-routes to where it publishes now: the default changed meanwhile.
    from integrations.models import IntegrationDefaults

    IntegrationDefaults.objects.create(account=acme.account, publishing=acme.billcom)
    response = admin_client_.post(action_url(ready, "retry"), follow=True)
    assert "Publishing again, to Bill.com…" in messages_in(response)
    ready.refresh_from_db()
    assert (ready.status, ready.published_to, attempt_of(ready).connection) == (
        "publishing",
        acme.billcom,
        acme.billcom,
    )
    assert ActivityEntry.objects.filter(account=acme.account, action="item.publish_retried").count() == 1


def test_retry_is_refused_unless_the_item_failed(acme, other, admin_client_, ready):
    before = state()
    response = admin_client_.post(action_url(ready, "retry"), follow=True)
    assert "Only a failed item can be retried" in messages_in(response)
    assert state() == before


def test_a_standard_user_without_permission_sees_why_not_instead_of_retry(acme, other, staff_user):
    failed = ItemFactory(
        account=acme.account, status="failed", publish_error="Bill.com refused it: bad vendor"
    )
    page = client_for(staff_user).get(item_url(failed)).content.decode()
    assert (
        "bad vendor" in page
        and "Only Admin users and accountants or bookkeepers accessing this account can publish" in page
    )
    assert not re.search(r">\s*Retry\s*</button>", page)
    before = state()
    response = client_for(staff_user).post(action_url(failed, "retry"), follow=True)
    assert "You may not publish items in this account." in messages_in(response)
    assert state() == before


# --- cancel ---------------------------------------------------------------------------------------


def test_an_attempt_never_handed_over_can_be_cancelled(acme, other, admin_client_, ready):
    admin_client_.post(action_url(ready, "publish"))
    assert "Cancel publishing" in admin_client_.get(item_url(ready)).content.decode()
    response = admin_client_.post(action_url(ready, "cancel"), follow=True)
    assert "Publishing cancelled: the item is Ready again" in messages_in(response)
    ready.refresh_from_db()
    assert (ready.status, ready.published_to, attempt_of(ready).state) == ("ready", None, "cancelled")
    assert ActivityEntry.objects.filter(account=acme.account, action="item.publish_cancelled").count() == 1


def test_an_attempt_already_sent_cannot_be_cancelled(acme, other, admin_client_, ready):
    admin_client_.post(action_url(ready, "publish"))
    PublishAttempt.objects.filter(item=ready).update(state=AttemptState.IN_DOUBT, sent_at=timezone.now())
    assert "Cancel publishing" not in admin_client_.get(item_url(ready)).content.decode()
    before = state()
    response = admin_client_.post(action_url(ready, "cancel"), follow=True)
    assert "it cannot be cancelled now" in messages_in(response)
    assert state() == before


def test_cancel_is_refused_for_an_item_not_being_published(acme, other, admin_client_, ready):
    before = state()
    response = admin_client_.post(action_url(ready, "cancel"), follow=True)
    assert "is not being published." in messages_in(response)
    assert state() == before


# --- read-only while it cannot change -------------------------------------------------------------


@pytest.mark.parametrize("status", ["publishing", "published", "archived"])
def test_fields_are_read_only_and_a_post_changes_nothing(acme, other, admin_client_, status):
    item = ItemFactory(
        account=acme.account,
        status=status,
        reference="RO-1",
        published_to=acme.xero if status != "archived" else None,
    )
    body = admin_client_.get(item_url(item)).content.decode()
    assert 'id="item-form"' not in body and "<dt>Reference</dt><dd>RO-1</dd>" in body
    assert 'name="integration"' not in body
    before = state()
    response = admin_client_.post(item_url(item), form_data(item, reference="CHANGED"), follow=True)
    assert "can no longer be changed" in messages_in(response) or "cannot be changed" in messages_in(response)
    assert state() == before


def test_a_published_item_says_where_it_went_its_id_and_when(acme, other, admin_client_):
    when = timezone.now() - timedelta(days=2)
    item = ItemFactory(
        account=acme.account,
        status="published",
        published_to=acme.billcom,
        published_at=when,
        external_id="00n01ABC",
    )
    body = text(admin_client_.get(item_url(item)))
    assert "Published to Bill.com" in body and "Where Bill.com" in body
    assert "ID in Bill.com 00n01ABC" in body  # no link where the provider has none
    assert "2\xa0days ago" in body or "2 days ago" in body

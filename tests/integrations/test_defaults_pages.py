"""The two default dropdowns on the Connections page: shown with more than one integration, saved by
services.set_defaults, previewed (htmx partial and no-JS fallback) with costs/impact.py's count."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import ActivityEntry
from integrations.models import IntegrationDefaults
from tests.conftest import client_for
from tests.factories import ItemFactory


def _connections(account) -> str:
    return reverse("integrations:connections", kwargs={"account_slug": account.slug})


def _preview(account) -> str:
    return reverse("integrations:defaults_preview", kwargs={"account_slug": account.slug})


def _defaults() -> list[tuple]:
    return sorted(IntegrationDefaults.objects.values_list("account_id", "publishing_id", "expense_claims_id"))


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _with_items(account, connect):
    xero, billcom = connect(account, "xero"), connect(account, "billcom")
    for _ in range(3):
        ItemFactory(account=account, type="bill")
    ItemFactory(account=account, type="receipt")
    ItemFactory(account=account, type="expense_claim")
    ItemFactory(account=account, type="bill", integration=xero)  # set on the item: never re-routed
    ItemFactory(account=account, type="bill", status="published", published_to=xero)  # frozen
    return xero, billcom


@pytest.fixture
def acme(tenant, connect):
    return _with_items(tenant.account, connect)


@pytest.fixture
def other(other_tenant, connect):
    return _with_items(other_tenant.account, connect)


def test_dropdowns_appear_only_with_more_than_one_integration(tenant, connect):
    admin = client_for(tenant.admin)
    connect(tenant.account, "xero")
    body = admin.get(_connections(tenant.account)).content.decode()
    assert "Default publishing integration" not in body
    connect(tenant.account, "billcom")
    body = admin.get(_connections(tenant.account)).content.decode()
    assert "Default publishing integration" in body
    assert "applies to all items except expense claims" in body.lower()
    assert "Default expense claims integration" in body
    assert "applies only to expense claims" in body.lower()
    assert "Save defaults" in body


def test_options_are_the_live_connections_of_this_account_only(tenant, acme, other, connect):
    connect(tenant.account, "approvalmax", status="disconnected")
    form = client_for(tenant.admin).get(_connections(tenant.account)).context["form"]
    assert [label for _, label in form.fields["publishing"].choices] == ["Xero (main)", "Bill.com"]


def test_htmx_preview_counts_the_items_the_change_reroutes(tenant, acme, other):
    xero, billcom = acme
    before, activity = _defaults(), ActivityEntry.objects.count()
    response = client_for(tenant.admin).post(
        _preview(tenant.account),
        {"publishing": billcom.pk, "expense_claims": xero.pk},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    # 3 bills + 1 receipt re-route; the expense claim, the override and the published bill do not.
    assert "This change re-routes 4 unpublished items." in body
    assert "4 items from Xero to Bill.com" in body
    assert "<html" not in body  # the partial only
    assert _defaults() == before and ActivityEntry.objects.count() == activity


def test_preview_of_the_expense_claims_default(tenant, acme, other):
    xero, billcom = acme
    body = (
        client_for(tenant.admin)
        .post(_preview(tenant.account), {"publishing": xero.pk, "expense_claims": billcom.pk})
        .content.decode()
    )
    assert "This change re-routes 1 unpublished item." in body


def test_no_js_preview_re_renders_the_page_and_saves_nothing(tenant, acme, other):
    xero, billcom = acme
    before = _defaults()
    response = client_for(tenant.admin).post(
        _connections(tenant.account),
        {"publishing": billcom.pk, "expense_claims": xero.pk, "action": "preview"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "This change re-routes 4 unpublished items." in body
    assert "<h2>Connections</h2>" in body
    assert _defaults() == before


def test_save_defaults(tenant, acme, other):
    xero, billcom = acme
    response = client_for(tenant.admin).post(
        _connections(tenant.account),
        {"publishing": billcom.pk, "expense_claims": billcom.pk, "action": "save"},
        follow=True,
    )
    assert response.redirect_chain == [(_connections(tenant.account), 302)]
    # The same count the Preview shows, taken before saving: 3 bills, 1 receipt and the expense claim.
    assert _messages(response) == ["Defaults saved. 5 unpublished items now publish to Bill.com."]
    assert IntegrationDefaults.objects.filter(account=tenant.account).values_list(
        "publishing_id", "expense_claims_id"
    ).get() == (billcom.pk, billcom.pk)
    assert not IntegrationDefaults.objects.filter(account=other[0].account).exists()
    # The page now shows them as chosen.
    form = response.context["form"]
    assert (form["publishing"].value(), form["expense_claims"].value()) == (billcom.pk, billcom.pk)
    assert "Changed the default publishing integration" in response.content.decode()


@pytest.mark.parametrize("target", ["preview", "save"])
def test_another_accounts_connection_is_refused_and_nothing_changes(tenant, acme, other, target):
    xero, _ = acme
    _, other_billcom = other
    before, activity = _defaults(), ActivityEntry.objects.count()
    url = _preview(tenant.account) if target == "preview" else _connections(tenant.account)
    response = client_for(tenant.admin).post(
        url, {"publishing": other_billcom.pk, "expense_claims": xero.pk, "action": target}
    )
    assert response.status_code == 200
    # The page shows the form again with the field's error; the preview says it instead of a count.
    assert response.content.decode().count("Choose one of the connected integrations of this account.") == 1
    assert _defaults() == before
    assert ActivityEntry.objects.count() == activity


def test_standard_user_sees_defaults_read_only_and_cannot_post(tenant, acme):
    xero, billcom = acme
    staff = client_for(tenant.staff)
    body = staff.get(_connections(tenant.account)).content.decode()
    assert "Default publishing integration" in body
    assert "Save defaults" not in body
    assert "<select" not in body
    before, activity = _defaults(), ActivityEntry.objects.count()
    for url in (_connections(tenant.account), _preview(tenant.account)):
        response = staff.post(url, {"publishing": billcom.pk, "expense_claims": billcom.pk, "action": "save"})
        assert response.status_code == 403
    assert _defaults() == before
    assert ActivityEntry.objects.count() == activity


def test_defaults_cannot_be_posted_with_a_single_integration(tenant, connect):
    xero = connect(tenant.account, "xero")
    response = client_for(tenant.admin).post(
        _connections(tenant.account), {"publishing": xero.pk, "expense_claims": xero.pk}, follow=True
    )
    assert _messages(response) == ["Defaults can be chosen once more than one integration is connected."]
    assert not IntegrationDefaults.objects.exists()
    assert not ActivityEntry.objects.exists()


def test_bookkeeper_sets_the_clients_defaults(tenant, acme, practice_setup):
    _, _, bookkeeper = practice_setup
    xero, billcom = acme
    response = client_for(bookkeeper).post(
        _connections(tenant.account), {"publishing": xero.pk, "expense_claims": billcom.pk}, follow=True
    )
    assert _messages(response)[0].startswith("Defaults saved.")
    entry = ActivityEntry.objects.get(account=tenant.account)
    assert (entry.actor, entry.summary, entry.before, entry.after) == (
        bookkeeper,
        "Changed the default expense claims integration",
        "Xero",
        "Bill.com",
    )


def test_save_defaults_says_where_items_moved_in_each_direction(tenant, acme, other):
    xero, billcom = acme
    admin = client_for(tenant.admin)
    admin.post(_connections(tenant.account), {"publishing": billcom.pk, "expense_claims": xero.pk})
    preview = admin.post(
        _connections(tenant.account),
        {"publishing": xero.pk, "expense_claims": billcom.pk, "action": "preview"},
    ).content.decode()
    assert "This change re-routes 5 unpublished items." in preview
    response = admin.post(
        _connections(tenant.account), {"publishing": xero.pk, "expense_claims": billcom.pk}, follow=True
    )
    assert _messages(response) == [
        "Defaults saved. 4 unpublished items now publish to Xero and 1 to Bill.com."
    ]


def test_save_defaults_that_move_nothing_says_so(tenant, acme, other):
    xero, _ = acme
    response = client_for(tenant.admin).post(
        _connections(tenant.account), {"publishing": xero.pk, "expense_claims": xero.pk}, follow=True
    )
    assert _messages(response) == ["Defaults saved. No unpublished items change integration."]


def test_save_defaults_moving_one_item_says_publishes(tenant, acme, other):
    xero, billcom = acme
    response = client_for(tenant.admin).post(
        _connections(tenant.account), {"publishing": xero.pk, "expense_claims": billcom.pk}, follow=True
    )
    assert _messages(response) == ["Defaults saved. 1 unpublished item now publishes to Bill.com."]
    assert IntegrationDefaults.objects.filter(account=tenant.account).values_list(
        "publishing_id", "expense_claims_id"
    ).get() == (None, billcom.pk)

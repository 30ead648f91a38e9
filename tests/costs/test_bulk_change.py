"""Change integration, in bulk and on one item: a refusal keeps the selection; items being published
(in flight) are as locked as published ones, in the one validation; the confirmation's grammar; supplier
rules never fill in values on items being published. Two tenants throughout."""

from __future__ import annotations

import re

import pytest
from django_scopes import scope

from accounts.models import ActivityEntry
from costs import services
from costs.models import Item
from costs.routing import allowed_connections, load_facts
from tests.costs.test_services import refused, snapshot
from tests.costs.test_views import form_data, inbox_url, item_url, text
from tests.factories import ItemFactory, SupplierFactory

pytestmark = pytest.mark.django_db


def bulk_url(account) -> str:
    return f"/a/{account.slug}/costs/integration/"


def checked_ids(response) -> set[int]:
    body = response.content.decode()
    return {int(pk) for pk in re.findall(r'name="items" value="(\d+)"[^>]*\bchecked\b', body)}


def selected_bulk_choice(response) -> str:
    body = response.content.decode()
    bulk = body[body.index('id="bulk"') :]
    match = re.search(r'<option value="([^"]*)"\s+selected', bulk[: bulk.index("</select>")])
    return match.group(1) if match else ""


# --- the selection survives a refusal -------------------------------------------------------------


def test_a_refused_bulk_change_keeps_the_items_selected(acme, other, admin_client_):
    first = ItemFactory(account=acme.account, reference="FINE-1")
    second = ItemFactory(account=acme.account, reference="FINE-2")
    untouched = ItemFactory(account=acme.account, reference="OTHER-1")
    ItemFactory(account=other.account)
    before = snapshot()
    # Another account's connection: the choice itself is refused, whatever the items.
    response = admin_client_.post(
        bulk_url(acme.account),
        {
            "items": [first.pk, second.pk],
            "integration": other.billcom.pk,
            "next": inbox_url(acme.account, "?sort=total"),
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == inbox_url(acme.account, "?sort=total")
    assert "Choose one of the integrations connected to this account." in text(response)
    assert checked_ids(response) == {first.pk, second.pk}
    assert untouched.pk not in checked_ids(response)
    assert "2 selected" in text(response)
    assert snapshot() == before
    # Shown once: the next visit starts with nothing selected.
    assert checked_ids(admin_client_.get(inbox_url(acme.account))) == set()


def test_a_selection_of_which_nothing_may_change_keeps_it_selected(acme, other, admin_client_):
    published = ItemFactory(account=acme.account, status="published", published_to=acme.xero, reference="P-1")
    before = snapshot()
    response = admin_client_.post(
        bulk_url(acme.account), {"items": [published.pk], "integration": acme.billcom.pk}, follow=True
    )
    assert "Nothing changed: Bill / invoice P-1 is already published." in text(response)
    assert selected_bulk_choice(response) == str(acme.billcom.pk)
    assert snapshot() == before


def test_a_successful_bulk_change_selects_nothing_afterwards(acme, other, admin_client_):
    items = ItemFactory.create_batch(2, account=acme.account)
    response = admin_client_.post(
        bulk_url(acme.account),
        {"items": [i.pk for i in items], "integration": acme.billcom.pk},
        follow=True,
    )
    assert "2 items now use Bill.com." in text(response)
    assert checked_ids(response) == set()


# --- items being published are locked like published ones -----------------------------------------


def test_allowed_connections_is_empty_while_publishing(acme, other):
    item = ItemFactory(account=acme.account, status="publishing", published_to=acme.xero)
    with scope(account=acme.account):
        assert allowed_connections(item, load_facts(acme.account)) == []


@pytest.mark.parametrize("target", ["billcom", None])
def test_bulk_change_skips_items_being_published_and_says_why(acme, other, admin_user, target):
    fine = ItemFactory(account=acme.account)
    flying = ItemFactory(
        account=acme.account,
        status="publishing",
        published_to=acme.xero,
        reference="FLY-1",
        integration=acme.xero,
    )
    foreign = ItemFactory(account=other.account, status="publishing", published_to=other.xero)
    result = services.bulk_set_integration(
        account=acme.account,
        acting_user=admin_user,
        item_ids=[fine.pk, flying.pk],
        connection_id=acme.billcom.pk if target else None,
    )
    assert result.applied == 1
    assert [(item.pk, why) for item, why in result.skipped] == [
        (
            flying.pk,
            "Bill / invoice FLY-1 is being published: it cannot be changed until that finishes or is "
            "cancelled.",
        )
    ]
    fine.refresh_from_db(), flying.refresh_from_db(), foreign.refresh_from_db()
    assert fine.integration_id == (acme.billcom.pk if target else None)
    assert (flying.integration_id, flying.status) == (acme.xero.pk, "publishing")
    assert foreign.status == "publishing"
    # Nothing that may change: refused, nothing changes.
    refused(
        services.bulk_set_integration,
        "Nothing changed: Bill / invoice FLY-1 is being published.",
        account=acme.account,
        acting_user=admin_user,
        item_ids=[flying.pk],
        connection_id=acme.billcom.pk if target else None,
    )


def test_bulk_change_names_every_skipped_item_and_changes_the_rest(acme, other, admin_client_):
    fine = ItemFactory(account=acme.account)
    done = ItemFactory(account=acme.account, status="published", published_to=acme.xero, reference="P-1")
    flying = ItemFactory(account=acme.account, status="publishing", published_to=acme.xero, reference="FLY-1")
    old = ItemFactory(account=acme.account, status="archived", reference="OLD-1")
    response = admin_client_.post(
        bulk_url(acme.account),
        {"items": [fine.pk, done.pk, flying.pk, old.pk], "integration": acme.billcom.pk},
        follow=True,
    )
    body = text(response)
    assert "1 item now uses Bill.com." in body
    assert (
        "Skipped 3 items: Bill / invoice P-1 is already published and can no longer be changed. "
        "Bill / invoice FLY-1 is being published: it cannot be changed until that finishes or is "
        "cancelled. Bill / invoice OLD-1 is archived and cannot be changed."
    ) in body
    assert dict(Item.objects.filter(account=acme.account).values_list("pk", "integration_id")) == {
        fine.pk: acme.billcom.pk,
        done.pk: None,
        flying.pk: None,
        old.pk: None,
    }


def test_bulk_refusal_names_published_and_publishing_items(acme, other, admin_client_):
    done = ItemFactory(account=acme.account, status="published", published_to=acme.xero, reference="P-1")
    flying = ItemFactory(account=acme.account, status="publishing", published_to=acme.xero, reference="FLY-1")
    flying2 = ItemFactory(
        account=acme.account, status="publishing", published_to=acme.xero, reference="FLY-2"
    )
    before = snapshot()
    response = admin_client_.post(
        bulk_url(acme.account),
        {"items": [done.pk, flying.pk, flying2.pk], "integration": acme.billcom.pk},
        follow=True,
    )
    assert (
        "Nothing changed: Bill / invoice P-1 is already published; Bill / invoice FLY-1 and "
        "Bill / invoice FLY-2 are being published."
    ) in text(response)
    assert snapshot() == before


def test_one_item_being_published_cannot_be_rerouted(acme, other, admin_user):
    item = ItemFactory(account=acme.account, status="publishing", published_to=acme.xero, reference="FLY-1")
    for connection_id in (acme.billcom.pk, None):
        refused(
            services.set_item_integration,
            "Bill / invoice FLY-1 is being published",
            account=acme.account,
            acting_user=admin_user,
            item_id=item.pk,
            connection_id=connection_id,
        )


def test_item_page_shows_routing_read_only_while_publishing(acme, other, admin_client_):
    item = ItemFactory(account=acme.account, status="publishing", published_to=acme.xero, reference="FLY-1")
    body = admin_client_.get(item_url(item)).content.decode()
    assert '<select name="integration"' not in body
    assert 'id="id_integration" value="Xero" readonly' in body
    assert "is being published" in text(admin_client_.get(item_url(item)))
    # A forged POST naming an integration is refused, and changes nothing (not even the other fields).
    before = snapshot()
    response = admin_client_.post(
        item_url(item), form_data(item, reference="CHANGED", integration=acme.billcom.pk), follow=True
    )
    assert "Bill / invoice FLY-1 is being published" in text(response)
    assert snapshot() == before


def test_item_page_refuses_any_edit_while_publishing(acme, other, acme_lists, admin_client_):
    # Frozen while in flight (issue 10): what publishes has gone out, so no field changes.
    item = ItemFactory(account=acme.account, status="publishing", published_to=acme.xero, reference="FLY-1")
    before = snapshot()
    response = admin_client_.post(
        item_url(item), form_data(item, category_entry=acme_lists.travel.pk, total="999.00"), follow=True
    )
    assert "Bill / invoice FLY-1 is being published: it cannot be changed" in text(response)
    assert snapshot() == before


# --- the confirmation's grammar ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "message"), [(1, "1 item now uses Bill.com."), (3, "3 items now use Bill.com.")]
)
def test_bulk_confirmation_grammar(acme, other, admin_client_, count, message):
    items = ItemFactory.create_batch(count, account=acme.account)
    response = admin_client_.post(
        bulk_url(acme.account), {"items": [i.pk for i in items], "integration": acme.billcom.pk}, follow=True
    )
    assert message in text(response)


def test_bulk_confirmation_for_use_rule_default(acme, other, admin_client_):
    item = ItemFactory(account=acme.account, integration=acme.billcom)
    response = admin_client_.post(
        bulk_url(acme.account), {"items": [item.pk], "integration": ""}, follow=True
    )
    assert "1 item now uses rule/default." in text(response)


# --- supplier rules leave items being published alone ---------------------------------------------


def test_a_rule_does_not_fill_in_items_being_published(acme, other, acme_lists, admin_user):
    supplier = SupplierFactory(account=acme.account, name="Acme Supplies")
    flying = ItemFactory(
        account=acme.account, supplier=supplier, status="publishing", published_to=acme.xero, category=""
    )
    ready = ItemFactory(account=acme.account, supplier=supplier, status="ready", category="")
    saved = services.save_rule(
        account=acme.account,
        acting_user=admin_user,
        supplier_id=supplier.pk,
        category_entry=acme_lists.stationery.pk,
    )
    flying.refresh_from_db()
    ready.refresh_from_db()
    assert (flying.category, ready.category, saved.filled) == ("", "Printing & Stationery", 1)
    assert (flying.category_entry, ready.category_entry) == (None, acme_lists.stationery)


def test_the_supplier_of_an_item_being_published_cannot_change(acme, other, admin_user):
    supplier = SupplierFactory(account=acme.account)
    services.save_rule(
        account=acme.account, acting_user=admin_user, supplier_id=supplier.pk, payment_method="card"
    )
    item = ItemFactory(account=acme.account, status="publishing", published_to=acme.xero, category="")
    refused(
        services.update_item,
        "is being published: it cannot be changed",
        account=acme.account,
        acting_user=admin_user,
        item_id=item.pk,
        data={},
        chosen={"supplier": str(supplier.pk)},
    )
    item.refresh_from_db()
    assert item.supplier_id != supplier.pk and item.payment_method == ""
    assert not ActivityEntry.objects.filter(summary__contains="from the supplier rule").exists()

"""Services: the one integration check, bad input (clear message, nothing changed), activity rows."""

from __future__ import annotations

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from accounts.errors import DomainError
from accounts.models import ActivityEntry
from costs import services
from costs.models import Item, SupplierRule
from tests.factories import ItemFactory, SupplierFactory, SupplierRuleFactory

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        sorted(Item.objects.values_list("pk", "integration_id", "type", "reference", "total")),
        sorted(SupplierRule.objects.values_list("pk", "supplier_id", "integration_id", "category")),
        ActivityEntry.objects.count(),
    )


def refused(call, message: str, **kwargs) -> None:
    before = snapshot()
    with pytest.raises(DomainError) as error:
        call(**kwargs)
    assert message in error.value.message
    assert snapshot() == before


# --- set_item_integration -------------------------------------------------------------------------


def test_setting_an_items_integration_is_logged(acme, other, admin_user):
    item = ItemFactory(account=acme.account, reference="INV-1")
    services.set_item_integration(
        account=acme.account, acting_user=admin_user, item_id=item.pk, connection_id=acme.billcom.pk
    )
    item.refresh_from_db()
    assert item.integration_id == acme.billcom.pk
    entry = ActivityEntry.objects.get(account=acme.account, action="item.integration_changed")
    assert (entry.actor, entry.before, entry.after) == (admin_user, "Use rule/default", "Bill.com")
    assert "Bill / invoice INV-1" in entry.summary


def test_use_rule_default_clears_the_items_integration(acme, other, admin_user):
    item = ItemFactory(account=acme.account, integration=acme.billcom)
    services.set_item_integration(
        account=acme.account, acting_user=admin_user, item_id=item.pk, connection_id=None
    )
    item.refresh_from_db()
    assert item.integration_id is None


def test_another_accounts_connection_is_refused(acme, other, admin_user):
    item = ItemFactory(account=acme.account)
    refused(
        services.set_item_integration,
        "Choose one of the integrations connected to this account.",
        account=acme.account,
        acting_user=admin_user,
        item_id=item.pk,
        connection_id=other.billcom.pk,
    )


def test_a_disconnected_integration_is_refused(acme, other, admin_user):
    item = ItemFactory(account=acme.account)
    type(acme.billcom).objects.filter(pk=acme.billcom.pk).update(status="disconnected")
    refused(
        services.set_item_integration,
        "Bill.com is not connected any more. Reconnect it on the Connections page",
        account=acme.account,
        acting_user=admin_user,
        item_id=item.pk,
        connection_id=acme.billcom.pk,
    )


def test_sales_item_refuses_an_additional_integration(acme, other, admin_user):
    sale = ItemFactory(account=acme.account, type="sales_invoice")
    refused(
        services.set_item_integration,
        "Sales items can only be published to your main accounting software (Xero), not to Bill.com.",
        account=acme.account,
        acting_user=admin_user,
        item_id=sale.pk,
        connection_id=acme.billcom.pk,
    )


def test_published_item_routing_is_frozen(acme, other, admin_user):
    item = ItemFactory(account=acme.account, status="published", published_to=acme.xero, reference="INV-9")
    refused(
        services.set_item_integration,
        "Bill / invoice INV-9 is already published",
        account=acme.account,
        acting_user=admin_user,
        item_id=item.pk,
        connection_id=acme.billcom.pk,
    )


def test_another_accounts_item_does_not_exist_here(acme, other, admin_user):
    foreign = ItemFactory(account=other.account)
    before = snapshot()
    with pytest.raises(Item.DoesNotExist):
        services.set_item_integration(
            account=acme.account, acting_user=admin_user, item_id=foreign.pk, connection_id=None
        )
    assert snapshot() == before


# --- bulk -----------------------------------------------------------------------------------------


def test_bulk_change_sets_every_item_in_one_log_row(acme, other, admin_user):
    items = ItemFactory.create_batch(3, account=acme.account)
    with CaptureQueriesContext(db_connection) as few:
        result = services.bulk_set_integration(
            account=acme.account,
            acting_user=admin_user,
            item_ids=[i.pk for i in items],
            connection_id=acme.billcom.pk,
        )
    assert (result.applied, result.skipped) == (3, [])
    assert set(Item.objects.filter(account=acme.account).values_list("integration_id", flat=True)) == {
        acme.billcom.pk
    }
    assert ActivityEntry.objects.filter(account=acme.account, action="item.integration_changed").count() == 1
    # The number of queries does not grow with the selection.
    more = ItemFactory.create_batch(30, account=acme.account)
    with CaptureQueriesContext(db_connection) as many:
        services.bulk_set_integration(
            account=acme.account,
            acting_user=admin_user,
            item_ids=[i.pk for i in more],
            connection_id=acme.billcom.pk,
        )
    assert len(many) == len(few)


def test_bulk_change_with_a_published_item_changes_the_others_and_names_it(acme, other, admin_user):
    fine = ItemFactory.create_batch(2, account=acme.account)
    published = ItemFactory(
        account=acme.account, status="published", published_to=acme.xero, reference="INV-77"
    )
    result = services.bulk_set_integration(
        account=acme.account,
        acting_user=admin_user,
        item_ids=[fine[0].pk, published.pk, fine[1].pk],
        connection_id=acme.billcom.pk,
    )
    assert result.applied == 2
    assert [(i.pk, why) for i, why in result.skipped] == [
        (published.pk, "Bill / invoice INV-77 is already published and can no longer be changed.")
    ]
    assert dict(Item.objects.filter(account=acme.account).values_list("pk", "integration_id")) == {
        fine[0].pk: acme.billcom.pk,
        fine[1].pk: acme.billcom.pk,
        published.pk: None,
    }
    refused(
        services.bulk_set_integration,
        "Nothing changed: Bill / invoice INV-77 is already published.",
        account=acme.account,
        acting_user=admin_user,
        item_ids=[published.pk],
        connection_id=acme.billcom.pk,
    )


def test_bulk_change_refuses_items_of_another_account_or_sales(acme, other, admin_user):
    mine = ItemFactory(account=acme.account)
    for intruder in (
        ItemFactory(account=other.account),
        ItemFactory(account=acme.account, type="sales_invoice"),
    ):
        refused(
            services.bulk_set_integration,
            "Some of the selected items are not in this inbox any more. Nothing changed.",
            account=acme.account,
            acting_user=admin_user,
            item_ids=[mine.pk, intruder.pk],
            connection_id=acme.billcom.pk,
        )


def test_bulk_change_refuses_a_foreign_connection(acme, other, admin_user):
    mine = ItemFactory(account=acme.account)
    refused(
        services.bulk_set_integration,
        "Choose one of the integrations connected to this account.",
        account=acme.account,
        acting_user=admin_user,
        item_ids=[mine.pk],
        connection_id=other.xero.pk,
    )


# --- update_item ----------------------------------------------------------------------------------


def test_update_item_with_a_refused_integration_changes_no_field(acme, other, admin_user):
    sale = ItemFactory(account=acme.account, type="sales_invoice", reference="SI-1")
    refused(
        services.update_item,
        "Sales items can only be published to your main accounting software",
        account=acme.account,
        acting_user=admin_user,
        item_id=sale.pk,
        data={"reference": "CHANGED"},
        connection_id=acme.billcom.pk,
        change_integration=True,
    )


def test_update_item_cannot_turn_a_cost_into_a_sale(acme, other, admin_user):
    item = ItemFactory(account=acme.account)
    refused(
        services.update_item,
        "A cost item cannot become a sales item",
        account=acme.account,
        acting_user=admin_user,
        item_id=item.pk,
        data={"type": "sales_invoice"},
    )


def test_update_item_refuses_another_accounts_supplier(acme, other, admin_user):
    item = ItemFactory(account=acme.account)
    refused(
        services.update_item,
        "Choose one of this account's suppliers.",
        account=acme.account,
        acting_user=admin_user,
        item_id=item.pk,
        data={},
        chosen={"supplier": str(SupplierFactory(account=other.account).pk)},
    )


# --- rules ----------------------------------------------------------------------------------------


def test_save_rule_creates_then_changes_and_logs(acme, other, acme_lists, admin_user):
    supplier = SupplierFactory(account=acme.account, name="Acme Supplies")
    rule = services.save_rule(
        account=acme.account, acting_user=admin_user, supplier_id=supplier.pk, integration_id=acme.billcom.pk
    ).rule
    services.save_rule(
        account=acme.account,
        acting_user=admin_user,
        supplier_id=supplier.pk,
        rule_id=rule.pk,
        category_entry=acme_lists.stationery.pk,
    )
    rule.refresh_from_db()
    assert (rule.category, rule.integration_id) == ("Printing & Stationery", None)
    log = list(
        ActivityEntry.objects.filter(account=acme.account)
        .order_by("id")
        .values_list("action", "before", "after")
    )
    assert log == [
        ("rule.created", "No rule", "Bill.com"),
        ("rule.changed", "Bill.com", "None — uses the defaults"),
    ]


def test_save_rule_for_another_accounts_supplier_is_refused(acme, other, admin_user):
    foreign = SupplierFactory(account=other.account)
    refused(
        services.save_rule,
        "That supplier is not one of this account's suppliers.",
        account=acme.account,
        acting_user=admin_user,
        supplier_id=foreign.pk,
        integration_id=acme.billcom.pk,
    )


def test_save_rule_with_a_disconnected_integration_is_refused(acme, other, admin_user):
    supplier = SupplierFactory(account=acme.account)
    type(acme.billcom).objects.filter(pk=acme.billcom.pk).update(status="disconnected")
    refused(
        services.save_rule,
        "Bill.com is not connected any more.",
        account=acme.account,
        acting_user=admin_user,
        supplier_id=supplier.pk,
        integration_id=acme.billcom.pk,
    )


def test_delete_rule_of_another_account_is_refused(acme, other, admin_user):
    foreign = SupplierRuleFactory(supplier__account=other.account)
    refused(
        services.delete_rule,
        "That supplier rule does not exist any more.",
        account=acme.account,
        acting_user=admin_user,
        rule_id=foreign.pk,
    )
    mine = SupplierRuleFactory(supplier__account=acme.account)
    services.delete_rule(account=acme.account, acting_user=admin_user, rule_id=mine.pk)
    assert not SupplierRule.objects.filter(pk=mine.pk).exists()

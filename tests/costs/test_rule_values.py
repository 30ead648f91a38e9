"""Supplier rules fill in the category, tax rate and payment method of their supplier's items: on
saving the rule (unpublished, non-archived items, blank fields only) and when an item's supplier is
changed on the item page. Sales items get the values, never the rule's integration."""

from __future__ import annotations

import html

import pytest

from accounts.errors import DomainError
from accounts.models import ActivityEntry
from costs import services
from costs.models import Item
from tests.costs.conftest import both_routes
from tests.costs.test_views import form_data, item_url, text
from tests.factories import ItemFactory, SupplierFactory, SupplierRuleFactory

pytestmark = pytest.mark.django_db

RULE = {"category": "Stationery", "tax_rate": "20% VAT", "payment_method": "card"}


def values(item) -> tuple:
    item.refresh_from_db()
    return (item.category, item.tax_rate, item.payment_method, item.integration_id)


def all_values():
    return sorted(
        Item.objects.values_list("pk", "category", "tax_rate", "payment_method", "integration_id", "supplier")
    )


def blank_item(account, supplier, **kwargs):
    return ItemFactory(
        account=account, supplier=supplier, **{"category": "", "tax_rate": "", "payment_method": "", **kwargs}
    )


def test_saving_a_rule_fills_in_the_blank_fields_of_the_suppliers_unpublished_items(
    acme, other, acme_lists, admin_user
):
    supplier = SupplierFactory(account=acme.account, name="Acme Supplies")
    blank = blank_item(acme.account, supplier)
    partly = blank_item(acme.account, supplier, category="Rent", status="to_review")
    full = ItemFactory(
        account=acme.account, supplier=supplier, category="Fuel", tax_rate="0%", payment_method="cash"
    )
    sale = blank_item(acme.account, supplier, type="sales_invoice")
    published = blank_item(acme.account, supplier, status="published", published_to=acme.xero)
    archived = blank_item(acme.account, supplier, status="archived")
    elsewhere = blank_item(acme.account, SupplierFactory(account=acme.account))
    foreign = blank_item(other.account, SupplierFactory(account=other.account, name="Acme Supplies"))

    # The rule sends its items to Bill.com, so its category is one of Bill.com's accounts.
    saved = services.save_rule(
        account=acme.account,
        acting_user=admin_user,
        supplier_id=supplier.pk,
        integration_id=acme.billcom.pk,
        category_entry=acme_lists.billcom_stationery.pk,
        payment_method="card",
    )

    assert (saved.filled, saved.rerouted) == (3, 3)  # blank, partly, sale get values; 3 costs move
    assert values(blank) == ("Printing & Stationery", "", "card", None)
    assert blank.category_entry == acme_lists.billcom_stationery
    assert values(partly) == ("Rent", "", "card", None)
    assert partly.category_entry is None
    assert values(full) == ("Fuel", "0%", "cash", None)
    # The sales item publishes to Xero: the rule's category is carried over to Xero's 461.
    assert values(sale) == ("Printing & Stationery", "", "card", None)
    assert sale.category_entry == acme_lists.stationery
    for untouched in (published, archived, elsewhere, foreign):
        assert values(untouched) == ("", "", "", None)
        assert untouched.category_entry is None
    # The rule's integration re-routes the cost items, never the sales item.
    assert both_routes(blank)[0] == acme.billcom.pk
    assert both_routes(sale)[0] == acme.xero.pk
    log = ActivityEntry.objects.filter(account=acme.account).order_by("id")
    assert [e.action for e in log] == ["rule.created", "rule.applied"]
    assert "re-routes 3 unpublished items" in log[0].summary
    assert log[1].summary == (
        "Filled in the category and payment method of 3 unpublished items of Acme Supplies "
        "from its supplier rule"
    )
    assert not ActivityEntry.objects.filter(account=other.account).exists()


def test_a_rules_values_are_carried_over_to_the_lists_of_each_items_software(
    acme, other, acme_lists, other_lists, admin_user
):
    """A rule without an Integration chooses from Xero's lists; an item of its supplier that publishes
    to Bill.com gets the rule's category carried over by code or name, or kept (and named on its page)
    when Bill.com has no such account; Bill.com keeps no tax rates, so the tax rate is kept, not sent."""
    supplier = SupplierFactory(account=acme.account, name="Acme Supplies")
    on_xero = blank_item(acme.account, supplier)
    on_billcom = blank_item(acme.account, supplier, integration=acme.billcom)
    foreign = blank_item(other.account, SupplierFactory(account=other.account, name="Acme Supplies"))
    services.save_rule(
        account=acme.account,
        acting_user=admin_user,
        supplier_id=supplier.pk,
        category_entry=acme_lists.general.pk,
        tax_rate_entry=acme_lists.vat.pk,
    )
    on_xero.refresh_from_db()
    on_billcom.refresh_from_db()
    assert (on_xero.category_entry, on_xero.tax_rate_entry) == (acme_lists.general, acme_lists.vat)
    # Bill.com's "General Expenses" has another code: carried over by name.
    assert (on_billcom.category_entry, on_billcom.category) == (
        acme_lists.billcom_general,
        "General Expenses",
    )
    assert (on_billcom.tax_rate_entry, on_billcom.tax_rate) == (acme_lists.vat, "20% (VAT on Expenses)")
    foreign.refresh_from_db()
    assert (foreign.category_entry, foreign.category) == (None, "")

    # The same rule with Travel, which Bill.com does not have: the Bill.com item keeps Xero's entry.
    rule = supplier.rule
    other_item = blank_item(acme.account, supplier, integration=acme.billcom)
    services.save_rule(
        account=acme.account,
        acting_user=admin_user,
        supplier_id=supplier.pk,
        rule_id=rule.pk,
        category_entry=acme_lists.travel.pk,
    )
    other_item.refresh_from_db()
    assert (other_item.category_entry, other_item.category) == (acme_lists.travel, "Travel - National")


def test_a_rule_without_values_fills_in_nothing(acme, other, admin_user):
    supplier = SupplierFactory(account=acme.account)
    blank_item(acme.account, supplier)
    before = all_values()
    # Only an integration, and the one the items already go to: nothing to fill, nothing re-routed.
    saved = services.save_rule(
        account=acme.account, acting_user=admin_user, supplier_id=supplier.pk, integration_id=acme.xero.pk
    )
    assert (saved.filled, saved.rerouted) == (0, 0)
    assert all_values() == before
    assert list(ActivityEntry.objects.values_list("action", flat=True)) == ["rule.created"]


def test_a_refused_rule_fills_in_nothing(acme, other, admin_user):
    supplier = SupplierFactory(account=acme.account)
    blank_item(acme.account, supplier)
    type(acme.billcom).objects.filter(pk=acme.billcom.pk).update(status="disconnected")
    before = all_values()
    with pytest.raises(DomainError):
        services.save_rule(
            account=acme.account,
            acting_user=admin_user,
            supplier_id=supplier.pk,
            integration_id=acme.billcom.pk,
            payment_method="card",
        )
    assert all_values() == before
    assert not ActivityEntry.objects.exists()


def test_rule_preview_and_confirmation_say_how_many_items_get_the_values(
    acme, other, acme_lists, admin_client_
):
    supplier = SupplierFactory(account=acme.account, name="Acme Supplies")
    blank_item(acme.account, supplier)
    blank_item(acme.account, supplier, type="sales_invoice")
    ItemFactory(
        account=acme.account, supplier=supplier, category="Fuel", tax_rate="0%", payment_method="cash"
    )
    blank_item(other.account, SupplierFactory(account=other.account))
    url = f"/a/{acme.account.slug}/rules/new/"
    data = {
        "supplier": supplier.pk,
        "integration": acme.billcom.pk,
        "category_entry": acme_lists.billcom_stationery.pk,
        "payment_method": "card",
    }
    before = all_values()
    preview = text(admin_client_.post(url, data))
    assert "It fills in the category and payment method of 2 unpublished items of Acme Supplies" in preview
    assert "Category 461 · Printing & Stationery" in html.unescape(preview)
    assert "This rule re-routes 2 unpublished items of Acme Supplies." in preview
    assert all_values() == before
    response = admin_client_.post(url, {**data, "confirm": "1"}, follow=True)
    assert (
        "Saved the supplier rule for Acme Supplies. 2 unpublished items got the rule's category, tax rate "
        "or payment method; 2 unpublished items re-routed." in html.unescape(text(response))
    )
    assert Item.objects.filter(account=acme.account, category="Printing & Stationery").count() == 2


def test_changing_the_supplier_on_the_item_page_fills_blanks_from_the_new_suppliers_rule(
    acme, other, acme_lists, admin_client_
):
    rule = SupplierRuleFactory(
        supplier__account=acme.account,
        supplier__name="Acme Supplies",
        integration=acme.billcom,
        category_entry=acme_lists.billcom_stationery,
        category="Printing & Stationery",
        payment_method="card",
    )
    item = blank_item(acme.account, SupplierFactory(account=acme.account))
    ItemFactory(account=other.account)
    # The user also picks Xero's General Expenses (the item went to Xero when the page was drawn).
    response = admin_client_.post(
        item_url(item),
        form_data(item, supplier=rule.supplier.pk, category_entry=acme_lists.general.pk),
        follow=True,
    )
    body = text(response)
    assert "Saved." in body
    # The user's category wins (carried over to Bill.com by name); the blanks come from the rule; the
    # integration routes by the rule.
    assert values(item) == ("General Expenses", "", "card", None)
    assert item.category_entry == acme_lists.billcom_general
    assert "Publishes to Bill.com — Supplier rule: Acme Supplies" in body
    assert 'value="6000 · General Expenses"' in response.content.decode()
    entry = ActivityEntry.objects.get(account=acme.account, action="item.updated")
    assert "filled in the payment method from the supplier rule for Acme Supplies" in entry.summary


def test_keeping_the_supplier_does_not_refill_fields_the_user_cleared(acme, other, acme_lists, admin_client_):
    rule = SupplierRuleFactory(
        supplier__account=acme.account,
        category_entry=acme_lists.stationery,
        tax_rate_entry=acme_lists.vat,
        **RULE,
    )
    item = ItemFactory(
        account=acme.account,
        supplier=rule.supplier,
        category_entry=acme_lists.stationery,
        category="Printing & Stationery",
        tax_rate_entry=acme_lists.zero,
        tax_rate="Zero Rated Expenses",
    )
    admin_client_.post(item_url(item), form_data(item, category_entry="", tax_rate_entry=""))
    assert values(item)[:2] == ("", "")
    assert (item.category_entry, item.tax_rate_entry) == (None, None)


def test_a_sales_item_gets_the_rules_values_but_never_its_integration(acme, other, admin_client_):
    rule = SupplierRuleFactory(supplier__account=acme.account, integration=acme.billcom, **RULE)
    # A supplier that is also a customer (the sales page lists customers of sales items).
    ItemFactory(account=acme.account, supplier=rule.supplier, type="sales_invoice", status="published")
    sale = blank_item(acme.account, SupplierFactory(account=acme.account), type="sales_invoice")
    admin_client_.post(item_url(sale), form_data(sale, supplier=rule.supplier.pk, integration=acme.xero.pk))
    assert values(sale) == ("Stationery", "20% VAT", "card", None)
    assert both_routes(sale) == (acme.xero.pk, "sales")


def test_tax_rate_is_shown_and_editable_on_the_item_page(acme, other, acme_lists, staff_client):
    item = ItemFactory(account=acme.account, tax_rate="")
    body = staff_client.get(item_url(item)).content.decode()
    assert '<label for="id_tax_rate_entry">Tax rate</label>' in body
    staff_client.post(item_url(item), form_data(item, tax_rate_entry=acme_lists.zero.pk))
    assert values(item)[1] == "Zero Rated Expenses"
    assert item.tax_rate_entry == acme_lists.zero

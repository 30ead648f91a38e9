"""costs/lists.py: whose lists an item or a rule chooses from, and what its Category, Tax rate and
Supplier are there — carried over by code, by name, by normalised name, or named as needing a choice.
Two tenants throughout: the other account has the same lists (same names, same codes)."""

from __future__ import annotations

import pytest
from django_scopes import scope

from costs import lists
from costs.models import Item, SupplierRule
from costs.routing import load_facts
from integrations.models import IntegrationDefaults
from tests.factories import (
    AccountEntryFactory,
    ConnectionFactory,
    ItemFactory,
    SupplierEntryFactory,
    SupplierFactory,
    SupplierLinkFactory,
    SupplierRuleFactory,
)

pytestmark = pytest.mark.django_db


def values(item: Item) -> lists.ListValues:
    with scope(account=item.account):
        fresh = Item.objects.select_related("supplier__rule", "category_entry__connection").get(pk=item.pk)
        return lists.values_for(fresh, load_facts(item.account))


def rule_values(rule: SupplierRule) -> lists.ListValues:
    with scope(account=rule.account):
        fresh = SupplierRule.objects.get(pk=rule.pk)
        return lists.values_for_rule(fresh, load_facts(rule.account))


def on(item_kwargs, acme, **kwargs) -> Item:
    return ItemFactory(account=acme.account, **{**item_kwargs, **kwargs})


def stored(entry) -> dict:
    return {"category_entry": entry, "category": entry.name}


# --- the software's own entries ----------------------------------------------------------------------


def test_a_category_of_the_items_software_is_chosen(acme, other, acme_lists, other_lists):
    item = ItemFactory(account=acme.account, **stored(acme_lists.stationery))
    result = values(item)
    assert (result.target, result.source) == (acme.xero, acme.xero)
    assert result.category.state == lists.CHOSEN
    assert result.category.entry == acme_lists.stationery
    assert (result.category.message, result.to_choose) == ("", [])


# --- carried over to other software ----------------------------------------------------------------


def test_a_category_is_carried_over_by_code(acme, other, acme_lists, other_lists):
    item = ItemFactory(account=acme.account, integration=acme.billcom, **stored(acme_lists.stationery))
    category = values(item).category
    assert category.state == lists.CARRIED
    assert category.entry == acme_lists.billcom_stationery
    assert category.message == "Carried over from Xero's ‘461 · Printing & Stationery’: same code."


def test_a_category_is_carried_over_by_name(acme, other, acme_lists, other_lists):
    item = ItemFactory(account=acme.account, integration=acme.billcom, **stored(acme_lists.general))
    category = values(item).category
    assert (category.state, category.entry) == (lists.CARRIED, acme_lists.billcom_general)
    assert category.message.endswith(": same name.")


def test_a_category_is_carried_over_by_normalised_name(acme, other, acme_lists, other_lists):
    repairs = AccountEntryFactory(connection=acme.xero, code="473", name="Repairs & Maintenance")
    theirs = AccountEntryFactory(connection=acme.billcom, code="6300", name="Repairs and maintenance.")
    AccountEntryFactory(connection=other.billcom, code="473", name="Repairs & Maintenance")
    item = ItemFactory(account=acme.account, integration=acme.billcom, **stored(repairs))
    category = values(item).category
    assert (category.state, category.entry) == (lists.CARRIED, theirs)
    assert category.message.endswith(": similar name.")


def test_a_category_no_entry_stands_for_needs_choosing_and_stays_named(acme, other, acme_lists, other_lists):
    item = ItemFactory(account=acme.account, integration=acme.billcom, **stored(acme_lists.travel))
    result = values(item)
    assert result.category.state == lists.TO_CHOOSE
    assert result.category.entry is None
    assert result.category.stored == acme_lists.travel  # never dropped
    message = "‘493 · Travel - National’ is not in Bill.com's chart of accounts: choose a category."
    assert result.category.message == message
    assert result.to_choose == [message]
    # The page's field keeps the stored entry, so saving the rest of the item leaves it.
    assert result.category.form_value == str(acme_lists.travel.pk)


def test_an_archived_entry_is_named_but_needs_choosing(acme, other, acme_lists, other_lists):
    item = ItemFactory(account=acme.account, **stored(acme_lists.archived))
    category = values(item).category
    assert category.state == lists.TO_CHOOSE
    assert category.message == "‘404 · Bank Fees’ is archived in Xero: choose a category."
    assert category.stored == acme_lists.archived and category.entry is None
    # And it is never offered.
    with scope(account=acme.account):
        found = lists.search_entries(acme.xero, "account", "Bank")
    assert found.options == []


def test_bill_com_keeps_no_tax_rates_so_the_tax_rate_is_kept_and_said_not_sent(acme, other, acme_lists):
    item = ItemFactory(
        account=acme.account, integration=acme.billcom, tax_rate_entry=acme_lists.vat, tax_rate="20% VAT"
    )
    tax_rate = values(item).tax_rate
    assert tax_rate.state == lists.NOT_KEPT
    assert (
        tax_rate.message == "Bill.com keeps no tax rates: ‘20% (VAT on Expenses)’ is kept here and not sent."
    )
    assert not tax_rate.needs_choosing


# --- free text typed before the lists existed ------------------------------------------------------


def test_free_text_that_matches_shows_the_matched_entry(acme, other, acme_lists, other_lists):
    item = ItemFactory(account=acme.account, category="printing and stationery")
    category = values(item).category
    assert (category.state, category.entry) == (lists.MATCHED, acme_lists.stationery)
    assert category.shown == "461 · Printing & Stationery"
    assert "typed before Dext Connect read Xero's lists: matched by similar name" in category.message


def test_free_text_without_a_match_says_it_was_typed_before_the_lists(acme, other, acme_lists, other_lists):
    item = ItemFactory(account=acme.account, category="Office supplies")
    category = values(item).category
    assert category.state == lists.TO_CHOOSE
    assert category.message == (
        "‘Office supplies’ was typed before Dext Connect read Xero's lists: choose the category."
    )
    assert category.form_value == lists.KEEP


def test_free_text_before_any_read_is_kept_until_the_lists_are_read(acme, other, other_lists):
    item = ItemFactory(account=acme.account, category="Office supplies")
    category = values(item).category
    assert category.state == lists.NOT_READ
    assert (
        category.message == "Xero's lists have not been read yet: ‘Office supplies’ is kept until they are."
    )


def test_without_accounting_software_there_is_nothing_to_choose_and_nothing_is_dropped(
    account, other_account
):
    item = ItemFactory(account=account, category="Office supplies")
    ConnectionFactory(account=other_account)
    result = values(item)
    assert (result.source, result.category.state) == (None, lists.NO_SOFTWARE)
    assert result.category.message == (
        "Connect accounting software to choose a category: ‘Office supplies’ is kept until then."
    )
    assert result.category.form_value == lists.KEEP


# --- whose lists ---------------------------------------------------------------------------------


def test_sales_items_choose_from_the_main_softwares_lists(acme, other, acme_lists, other_lists):
    IntegrationDefaults.objects.create(account=acme.account, publishing=acme.billcom)
    sale = ItemFactory(account=acme.account, type="sales_invoice", **stored(acme_lists.sales))
    result = values(sale)
    assert (result.target, result.source, result.use) == (acme.xero, acme.xero, lists.SALES)
    assert (result.category.state, result.category.entry) == (lists.CHOSEN, acme_lists.sales)
    # A sales-only account is offered to sales items, not to costs; a costs-only tax rate the reverse.
    with scope(account=acme.account):
        for_sales = [o.label for o in lists.search_entries(acme.xero, "account", "", use=lists.SALES).options]
        for_costs = [o.label for o in lists.search_entries(acme.xero, "account", "", use=lists.COSTS).options]
        taxes = [o.label for o in lists.search_entries(acme.xero, "tax_rate", "", use=lists.SALES).options]
    assert "200 · Sales" in for_sales and "200 · Sales" not in for_costs
    assert taxes == ["20% (VAT on Income)"]
    # A cost item with a sales-only account needs choosing.
    cost = ItemFactory(account=acme.account, integration=acme.xero, **stored(acme_lists.sales))
    assert values(cost).category.message == "‘200 · Sales’ cannot be used on a cost item: choose a category."


def test_approvalmax_routed_items_use_the_main_softwares_lists(acme, other, acme_lists, other_lists):
    approvalmax = ConnectionFactory(account=acme.account, provider="approvalmax", is_main=False)
    item = ItemFactory(account=acme.account, integration=approvalmax, **stored(acme_lists.general))
    result = values(item)
    assert (result.target, result.source) == (approvalmax, acme.xero)
    assert (result.category.state, result.category.entry) == (lists.CHOSEN, acme_lists.general)


def test_a_rule_chooses_from_its_integrations_lists_else_the_default_publishing_integrations(
    acme, other, acme_lists, other_lists
):
    rule = SupplierRuleFactory(
        supplier__account=acme.account, integration=acme.billcom, **stored(acme_lists.general)
    )
    result = rule_values(rule)
    assert (result.source, result.category.entry) == (acme.billcom, acme_lists.billcom_general)
    plain = SupplierRuleFactory(supplier__account=acme.account, **stored(acme_lists.general))
    assert rule_values(plain).source == acme.xero
    IntegrationDefaults.objects.create(account=acme.account, publishing=acme.billcom)
    assert rule_values(plain).source == acme.billcom


# --- suppliers -----------------------------------------------------------------------------------


def test_a_suppliers_link_in_each_software(acme, other, acme_lists, other_lists):
    supplier = SupplierFactory(account=acme.account, name="British Gas")
    SupplierLinkFactory(supplier=supplier, connection=acme.xero, entry=acme_lists.british_gas)
    item = ItemFactory(account=acme.account, supplier=supplier)
    link = values(item).supplier
    assert (link.state, link.entry, link.matched_by) == (lists.LINKED, acme_lists.british_gas, "exact")
    assert link.message == "Linked to ‘British Gas’ in Xero (same name)."
    # No link stored in Bill.com yet: the vendor of the same name is the one bills name.
    item_billcom = ItemFactory(account=acme.account, supplier=supplier, integration=acme.billcom)
    assert values(item_billcom).supplier.entry == acme_lists.billcom_british_gas
    # A supplier Bill.com does not have is created there at its first bill.
    newcomer = ItemFactory(
        account=acme.account,
        supplier=SupplierFactory(account=acme.account, name="Zed Ltd"),
        integration=acme.billcom,
    )
    link = values(newcomer).supplier
    assert (link.state, link.message) == (
        lists.CREATE,
        "Not in Bill.com yet: created when its first bill is published.",
    )


def test_a_supplier_linked_to_an_archived_contact_needs_choosing(acme, other, acme_lists, other_lists):
    gone = SupplierEntryFactory(connection=acme.xero, name="Old Gas Co", active=False)
    supplier = SupplierFactory(account=acme.account, name="Old Gas Co")
    SupplierLinkFactory(supplier=supplier, connection=acme.xero, entry=gone, matched_by="chosen")
    result = values(ItemFactory(account=acme.account, supplier=supplier, category=""))
    assert result.supplier.state == lists.TO_CHOOSE
    assert result.to_choose == ["‘Old Gas Co’ is archived in Xero: choose another of its suppliers."]


def test_the_lists_follow_the_effective_integration_whatever_decides_it(acme, other, acme_lists, other_lists):
    """Set on the item, its supplier's rule, the default, the main software: the one rule of
    costs/routing.py decides, and the lists follow."""
    supplier = SupplierFactory(account=acme.account)
    item = ItemFactory(account=acme.account, supplier=supplier, **stored(acme_lists.stationery))
    assert values(item).source == acme.xero
    SupplierRuleFactory(supplier=supplier, integration=acme.billcom)
    assert values(item).source == acme.billcom
    assert values(item).category.entry == acme_lists.billcom_stationery
    Item.objects.filter(pk=item.pk).update(integration=acme.xero)
    assert values(item).source == acme.xero
    type(acme.xero).objects.filter(pk=acme.xero.pk).update(status="disconnected")
    result = values(item)
    assert (result.target, result.source) == (acme.billcom, acme.billcom)

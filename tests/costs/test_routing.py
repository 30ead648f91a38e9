"""The effective-integration rule, one precedence step per test, always through both forms."""

from __future__ import annotations

import pytest
from django_scopes import scope

from costs import routing
from costs.models import Item
from integrations.models import IntegrationDefaults
from tests.costs.conftest import both_routes
from tests.factories import ConnectionFactory, ItemFactory, SupplierFactory, SupplierRuleFactory

pytestmark = pytest.mark.django_db


def _defaults(setup, *, publishing=None, expense_claims=None):
    IntegrationDefaults.objects.update_or_create(
        account=setup.account, defaults={"publishing": publishing, "expense_claims": expense_claims}
    )


def test_item_without_anything_goes_to_the_main_software(acme, other):
    item = ItemFactory(account=acme.account)
    assert both_routes(item) == (acme.xero.pk, routing.MAIN)


def test_integration_set_on_the_item_wins_over_rule_and_default(acme, other):
    rule = SupplierRuleFactory(supplier__account=acme.account, integration=acme.xero)
    _defaults(acme, publishing=acme.xero)
    item = ItemFactory(account=acme.account, supplier=rule.supplier, integration=acme.billcom)
    assert both_routes(item) == (acme.billcom.pk, routing.ITEM)


def test_supplier_rule_wins_over_the_default(acme, other):
    rule = SupplierRuleFactory(supplier__account=acme.account, integration=acme.billcom)
    _defaults(acme, publishing=acme.xero)
    item = ItemFactory(account=acme.account, supplier=rule.supplier)
    assert both_routes(item) == (acme.billcom.pk, routing.RULE)
    with scope(account=acme.account):
        assert routing.effective_integration(item).reason == f"Supplier rule: {rule.supplier.name}"


def test_publishing_default_applies_to_everything_but_expense_claims(acme, other):
    _defaults(acme, publishing=acme.billcom)
    bill = ItemFactory(account=acme.account, type="bill")
    receipt = ItemFactory(account=acme.account, type="receipt")
    claim = ItemFactory(account=acme.account, type="expense_claim")
    assert both_routes(bill) == (acme.billcom.pk, routing.DEFAULT_PUBLISHING)
    assert both_routes(receipt) == (acme.billcom.pk, routing.DEFAULT_PUBLISHING)
    assert both_routes(claim) == (acme.xero.pk, routing.MAIN)


def test_expense_claims_default_applies_only_to_expense_claims(acme, other):
    _defaults(acme, expense_claims=acme.billcom)
    claim = ItemFactory(account=acme.account, type="expense_claim")
    bill = ItemFactory(account=acme.account, type="bill")
    assert both_routes(claim) == (acme.billcom.pk, routing.DEFAULT_EXPENSE_CLAIMS)
    assert both_routes(bill) == (acme.xero.pk, routing.MAIN)
    with scope(account=acme.account):
        assert routing.effective_integration(claim).reason == "Default expense claims integration"


@pytest.mark.parametrize("status", ["disconnected", "pending"])
def test_overrides_naming_a_connection_that_is_not_live_are_ignored(acme, other, status):
    rule = SupplierRuleFactory(supplier__account=acme.account, integration=acme.billcom)
    _defaults(acme, publishing=acme.billcom)
    item = ItemFactory(account=acme.account, supplier=rule.supplier, integration=acme.billcom)
    type(acme.billcom).objects.filter(pk=acme.billcom.pk).update(status=status)
    assert both_routes(item) == (acme.xero.pk, routing.MAIN)


def test_needs_reconnect_still_counts_as_connected(acme, other):
    item = ItemFactory(account=acme.account, integration=acme.billcom)
    type(acme.billcom).objects.filter(pk=acme.billcom.pk).update(status="needs_reconnect")
    assert both_routes(item) == (acme.billcom.pk, routing.ITEM)


def test_sales_items_always_go_to_the_main_software(acme, other):
    rule = SupplierRuleFactory(supplier__account=acme.account, integration=acme.billcom)
    _defaults(acme, publishing=acme.billcom, expense_claims=acme.billcom)
    sale = ItemFactory(
        account=acme.account, type="sales_invoice", supplier=rule.supplier, integration=acme.billcom
    )
    assert both_routes(sale) == (acme.xero.pk, routing.SALES)


def test_published_items_stay_frozen_where_they_were_published(acme, other):
    item = ItemFactory(account=acme.account, status="published", published_to=acme.billcom)
    type(acme.billcom).objects.filter(pk=acme.billcom.pk).update(status="disconnected")
    _defaults(acme, publishing=acme.xero)
    assert both_routes(item) == (acme.billcom.pk, routing.PUBLISHED)


def test_without_main_software_nothing_to_publish_to(account):
    item = ItemFactory(account=account)
    assert both_routes(item) == (None, routing.MAIN)
    with scope(account=account):
        assert routing.effective_integration(item).label == "No accounting software"


def test_another_accounts_connection_never_routes(acme, other):
    # Validation refuses this; the rule must not honour it even if the data were forged.
    item = ItemFactory(account=acme.account, integration=other.billcom)
    SupplierRuleFactory(supplier=item.supplier, account=acme.account, integration=other.billcom)
    assert both_routes(item) == (acme.xero.pk, routing.MAIN)


def test_annotation_only_routes_the_facts_account(acme, other):
    ItemFactory(account=other.account)
    mine = ItemFactory(account=acme.account)
    with scope(account=acme.account):
        facts = routing.load_facts(acme.account)
    rows = routing.annotate_routes(Item.objects.all(), facts)
    assert [i.pk for i in rows] == [mine.pk]


def test_hypothetical_rule_override_is_the_same_rule(acme, other):
    supplier = SupplierFactory(account=acme.account)
    item = ItemFactory(account=acme.account, supplier=supplier)
    with scope(account=acme.account):
        facts = routing.load_facts(acme.account).with_rule(
            supplier_id=supplier.pk, integration_id=acme.billcom.pk
        )
        row = routing.annotate_routes(Item.objects.filter(pk=item.pk), facts).get()
        assert (
            routing.route_id_and_code(item, facts)
            == (row.route_id, row.route_code)
            == (
                acme.billcom.pk,
                routing.RULE,
            )
        )


def test_allowed_connections(acme, other):
    ConnectionFactory(account=other.account, provider="approvalmax", is_main=False)
    bill = ItemFactory(account=acme.account)
    sale = ItemFactory(account=acme.account, type="sales_invoice")
    published = ItemFactory(account=acme.account, status="published", published_to=acme.xero)
    with scope(account=acme.account):
        facts = routing.load_facts(acme.account)
        assert routing.allowed_connections(bill, facts) == [acme.xero, acme.billcom]
        assert routing.allowed_connections(sale, facts) == [acme.xero]
        assert routing.allowed_connections(published, facts) == []


@pytest.mark.parametrize("billcom_status", ["active", "needs_reconnect", "disconnected", "pending", None])
def test_facts_agree_with_the_integrations_selectors(account, billcom_status):
    from integrations.selectors import effective_defaults, has_additional

    xero = ConnectionFactory(account=account, provider="xero")
    if billcom_status:
        billcom = ConnectionFactory(account=account, provider="billcom", is_main=False, status=billcom_status)
        IntegrationDefaults.objects.create(account=account, expense_claims=billcom)
    claim = ItemFactory(account=account, type="expense_claim")
    with scope(account=account):
        facts = routing.load_facts(account)
        assert facts.has_additional == has_additional(account)
        assert facts.main == xero
        # The defaults fallback (integrations.selectors.effective_defaults) and the rule agree.
        assert routing.effective_integration(claim, facts).connection == effective_defaults(account)[1]

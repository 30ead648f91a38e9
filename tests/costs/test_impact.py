"""Impact previews: what a default change, a disconnect or a rule would re-route, before it happens."""

from __future__ import annotations

import pytest

from costs.impact import Impact, default_change_impact, disconnect_impact, rule_change_impact
from integrations.models import IntegrationDefaults
from tests.factories import ItemFactory, SupplierRuleFactory

pytestmark = pytest.mark.django_db


def test_default_change_counts_only_unpublished_items_without_own_route(acme, other):
    rule = SupplierRuleFactory(supplier__account=acme.account, integration=acme.xero)
    ItemFactory.create_batch(3, account=acme.account, type="bill")  # follow the default: move
    ItemFactory(account=acme.account, type="expense_claim")  # other default: stays
    ItemFactory(account=acme.account, integration=acme.xero)  # set on the item: stays
    ItemFactory(account=acme.account, supplier=rule.supplier)  # supplier rule: stays
    ItemFactory(account=acme.account, status="published", published_to=acme.xero)  # frozen
    ItemFactory(account=acme.account, type="sales_invoice")  # sales: always main
    ItemFactory.create_batch(4, account=other.account)  # the other tenant is not counted

    impact = default_change_impact(
        account=acme.account, publishing_id=acme.billcom.pk, expense_claims_id=None
    )

    assert impact == Impact(items=3, moves=[("Xero", "Bill.com", 3)], rules=[], defaults=[])


def test_default_change_back_to_main_is_counted_both_ways(acme, other):
    IntegrationDefaults.objects.create(account=acme.account, expense_claims=acme.billcom)
    ItemFactory.create_batch(2, account=acme.account, type="expense_claim")
    impact = default_change_impact(account=acme.account, publishing_id=None, expense_claims_id=None)
    assert (impact.items, impact.moves) == (2, [("Bill.com", "Xero", 2)])


def test_disconnect_lists_items_rules_and_defaults(acme, other):
    IntegrationDefaults.objects.create(account=acme.account, expense_claims=acme.billcom)
    rule = SupplierRuleFactory(
        supplier__account=acme.account, supplier__name="Acme Supplies", integration=acme.billcom
    )
    ItemFactory.create_batch(2, account=acme.account, supplier=rule.supplier)
    ItemFactory(account=acme.account, type="expense_claim")
    ItemFactory(account=acme.account, status="published", published_to=acme.billcom)
    ItemFactory(account=acme.account)  # already on Xero
    SupplierRuleFactory(supplier__account=other.account, integration=other.billcom)

    impact = disconnect_impact(account=acme.account, connection=acme.billcom)

    assert impact.items == 3
    assert impact.moves == [("Bill.com", "Xero", 3)]
    assert impact.rules == ["Acme Supplies"]
    assert impact.defaults == ["Default expense claims integration"]


def test_disconnecting_main_leaves_nothing_to_publish_to(account):
    from tests.factories import ConnectionFactory

    xero = ConnectionFactory(account=account, provider="xero")
    ItemFactory.create_batch(2, account=account)
    impact = disconnect_impact(account=account, connection=xero)
    assert impact.moves == [("Xero", "No accounting software", 2)]


def test_rule_change_counts_that_suppliers_items_only(acme, other):
    rule = SupplierRuleFactory(supplier__account=acme.account)
    ItemFactory.create_batch(2, account=acme.account, supplier=rule.supplier)
    ItemFactory(account=acme.account, supplier=rule.supplier, integration=acme.xero)  # own route wins
    ItemFactory(account=acme.account, supplier=rule.supplier, type="sales_invoice")
    ItemFactory(account=acme.account)  # another supplier
    from django_scopes import scope

    with scope(account=acme.account):
        impact = rule_change_impact(
            account=acme.account, supplier_id=rule.supplier_id, integration_id=acme.billcom.pk
        )
        assert (impact.items, impact.moves) == (2, [("Xero", "Bill.com", 2)])
        # No change at all when the rule already says so.
        rule.integration = acme.billcom
        rule.save()
        same = rule_change_impact(
            account=acme.account, supplier_id=rule.supplier_id, integration_id=acme.billcom.pk
        )
        assert same.items == 0

"""Writes under real concurrency (PostgreSQL row locks): two tabs creating the first rule of a supplier
(one wins, the other is refused), and two bulk changes over overlapping items, never crash and never
leave a half-done state."""

from __future__ import annotations

from functools import partial

import pytest
from django_scopes import scopes_disabled

from costs import services
from costs.models import Item, SupplierRule
from tests.concurrency import race
from tests.factories import AccountFactory, ConnectionFactory, ItemFactory, SupplierFactory

ROUNDS = 10


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_tabs_saving_the_first_rule_of_a_supplier():
    for n in range(ROUNDS):
        account = AccountFactory(name=f"Rule race {n}")
        xero = ConnectionFactory(account=account, provider="xero")
        billcom = ConnectionFactory(account=account, provider="billcom", is_main=False)
        supplier = SupplierFactory(account=account)
        save = partial(
            services.save_rule, account=account, acting_user=account.owner, supplier_id=supplier.pk
        )
        outcomes = race(partial(save, integration_id=xero.pk), partial(save, integration_id=billcom.pk))
        # One tab creates the rule; the other is told the supplier has one now (no IntegrityError).
        assert sorted(outcomes) == ["ok", "rule_exists"]
        with scopes_disabled():
            assert SupplierRule.objects.filter(supplier=supplier).count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_overlapping_bulk_changes_apply_one_after_the_other():
    for n in range(ROUNDS):
        account = AccountFactory(name=f"Bulk race {n}")
        xero = ConnectionFactory(account=account, provider="xero")
        billcom = ConnectionFactory(account=account, provider="billcom", is_main=False)
        items = ItemFactory.create_batch(6, account=account)
        ids = [i.pk for i in items]
        bulk = partial(services.bulk_set_integration, account=account, acting_user=account.owner)
        outcomes = race(
            partial(bulk, item_ids=ids[:4], connection_id=xero.pk),
            partial(bulk, item_ids=ids[2:], connection_id=billcom.pk),
        )
        assert outcomes == ["ok", "ok"]
        with scopes_disabled():
            values = dict(Item.objects.filter(pk__in=ids).values_list("pk", "integration_id"))
        # Each change is all or nothing: the first two items and the last two are set by one change each,
        # and the overlap holds the value of whichever change committed last, the same for both.
        assert {values[ids[0]], values[ids[1]]} == {xero.pk}
        assert {values[ids[4]], values[ids[5]]} == {billcom.pk}
        assert values[ids[2]] == values[ids[3]] in (xero.pk, billcom.pk)

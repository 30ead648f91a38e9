"""One rule, one place: what an item may be set to is routing.allowed_connections, used by the
service's validation; the defaults fallback is integrations.selectors.effective_defaults, read by
RoutingFacts (both forms of the rule)."""

from __future__ import annotations

import pytest
from django_scopes import scope

from costs import routing, services
from costs.routing import load_facts
from integrations.models import IntegrationDefaults
from tests.costs.conftest import both_routes
from tests.costs.test_services import refused
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db


def test_the_services_check_is_allowed_connections(acme, other, admin_user, monkeypatch):
    item = ItemFactory(account=acme.account)
    # Whatever allowed_connections answers is what the service accepts: here, only Xero.
    monkeypatch.setattr(services, "allowed_connections", lambda item, facts: [acme.xero])
    refused(
        services.set_item_integration,
        "Choose one of the integrations connected to this account.",
        account=acme.account,
        acting_user=admin_user,
        item_id=item.pk,
        connection_id=acme.billcom.pk,
    )
    services.set_item_integration(
        account=acme.account, acting_user=admin_user, item_id=item.pk, connection_id=acme.xero.pk
    )
    item.refresh_from_db()
    assert item.integration_id == acme.xero.pk


def test_the_refusals_still_say_why(acme, other, admin_user):
    sale = ItemFactory(account=acme.account, type="sales_invoice")
    published = ItemFactory(account=acme.account, status="published", published_to=acme.xero, reference="P-1")
    with scope(account=acme.account):
        facts = load_facts(acme.account)
        assert routing.allowed_connections(sale, facts) == [acme.xero]
        assert routing.allowed_connections(published, facts) == []
    refused(
        services.set_item_integration,
        "Sales items can only be published to your main accounting software (Xero), not to Bill.com.",
        account=acme.account,
        acting_user=admin_user,
        item_id=sale.pk,
        connection_id=acme.billcom.pk,
    )
    for connection_id in (None, acme.xero.pk):
        refused(
            services.set_item_integration,
            "Bill / invoice P-1 is already published: where it publishes can no longer change.",
            account=acme.account,
            acting_user=admin_user,
            item_id=published.pk,
            connection_id=connection_id,
        )


def test_routing_facts_take_the_defaults_from_effective_defaults(acme, other, monkeypatch):
    """Nothing stored, but effective_defaults says Bill.com: both forms follow it."""
    calls = []

    def fake(account):
        calls.append(account)
        return acme.billcom, acme.xero

    monkeypatch.setattr(routing, "effective_defaults", fake)
    bill = ItemFactory(account=acme.account, type="bill")
    claim = ItemFactory(account=acme.account, type="expense_claim")
    assert both_routes(bill) == (acme.billcom.pk, routing.DEFAULT_PUBLISHING)
    assert both_routes(claim) == (acme.xero.pk, routing.MAIN)
    assert calls and all(account == acme.account for account in calls)


def test_a_default_that_is_not_live_falls_back_to_the_main_software(acme, other):
    IntegrationDefaults.objects.create(
        account=acme.account, publishing=acme.billcom, expense_claims=acme.billcom
    )
    type(acme.billcom).objects.filter(pk=acme.billcom.pk).update(status="disconnected")
    for kind in ("bill", "expense_claim"):
        assert both_routes(ItemFactory(account=acme.account, type=kind)) == (acme.xero.pk, routing.MAIN)


def test_a_default_naming_another_accounts_connection_never_routes_there(acme, other):
    IntegrationDefaults.objects.create(
        account=acme.account, publishing=other.billcom, expense_claims=other.xero
    )
    for kind in ("bill", "expense_claim"):
        assert both_routes(ItemFactory(account=acme.account, type=kind)) == (acme.xero.pk, routing.MAIN)


def test_hypothetical_defaults_and_disconnects_use_the_same_targets(acme, other):
    IntegrationDefaults.objects.create(account=acme.account, publishing=acme.billcom)
    with scope(account=acme.account):
        facts = load_facts(acme.account)
        assert (facts.publishing_id, facts.expense_claims_id) == (acme.billcom.pk, None)
        gone = facts.without(acme.billcom.pk)
        assert (gone.publishing_id, gone.main_id) == (None, acme.xero.pk)
        chosen = facts.with_defaults(publishing_id=acme.xero.pk, expense_claims_id=other.billcom.pk)
        assert (chosen.publishing_id, chosen.expense_claims_id) == (None, None)

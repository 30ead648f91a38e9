"""Creating a supplier rule: it must set at least one value, and a supplier has at most one rule (a second
"new rule" for it is refused; changing a rule goes through its edit page). Two tenants throughout."""

from __future__ import annotations

import re

import pytest

from accounts.models import ActivityEntry
from costs import services
from costs.models import SupplierRule
from tests.costs.test_services import refused, snapshot
from tests.costs.test_views import text
from tests.factories import ItemFactory, SupplierFactory, SupplierRuleFactory

pytestmark = pytest.mark.django_db

SET_ONE = "Set at least one value: category, tax rate, payment method or integration."


def new_url(account) -> str:
    return f"/a/{account.slug}/rules/new/"


# --- a rule must set something --------------------------------------------------------------------


@pytest.mark.parametrize("confirm", ["", "1"])
def test_review_of_an_empty_rule_says_what_to_set_and_saves_nothing(acme, other, admin_client_, confirm):
    supplier = SupplierFactory(account=acme.account, name="Acme Supplies")
    ItemFactory(account=acme.account, supplier=supplier)
    SupplierRuleFactory(supplier__account=other.account, integration=other.billcom)
    before = snapshot()
    data = {"supplier": supplier.pk, "category": "", "tax_rate": "", "payment_method": "", "integration": ""}
    response = admin_client_.post(new_url(acme.account), {**data, "confirm": confirm} if confirm else data)
    assert response.status_code == 200
    assert SET_ONE in text(response)
    assert snapshot() == before


def test_a_rule_with_only_an_integration_previews_without_error(acme, other, admin_client_):
    supplier = SupplierFactory(account=acme.account, name="Acme Supplies")
    ItemFactory.create_batch(2, account=acme.account, supplier=supplier)
    before = snapshot()
    response = admin_client_.post(
        new_url(acme.account), {"supplier": supplier.pk, "integration": acme.billcom.pk}
    )
    assert response.status_code == 200
    assert "This rule re-routes 2 unpublished items of Acme Supplies." in text(response)
    assert snapshot() == before


def test_editing_a_rule_down_to_nothing_is_refused(acme, other, admin_client_):
    rule = SupplierRuleFactory(supplier__account=acme.account, category="Fuel", integration=None)
    before = snapshot()
    response = admin_client_.post(
        f"/a/{acme.account.slug}/rules/{rule.pk}/", {"category": "", "integration": "", "confirm": "1"}
    )
    assert SET_ONE in text(response)
    assert snapshot() == before


def test_the_service_refuses_a_rule_without_values(acme, other, admin_user):
    supplier = SupplierFactory(account=acme.account)
    refused(
        services.save_rule, SET_ONE, account=acme.account, acting_user=admin_user, supplier_id=supplier.pk
    )
    assert not SupplierRule.objects.exists()


# --- one rule per supplier ------------------------------------------------------------------------


def test_new_rule_form_offers_only_suppliers_without_a_rule(acme, other, admin_client_):
    SupplierRuleFactory(supplier__account=acme.account, supplier__name="Fabrikam Print", category="Printing")
    SupplierFactory(account=acme.account, name="Contoso Energy")
    SupplierFactory(account=other.account, name="Foreign Co")
    page = admin_client_.get(new_url(acme.account)).content.decode()
    # The page lists no supplier: its Supplier field searches those without a rule.
    assert "Contoso Energy" not in page and "Fabrikam Print" not in page
    search = re.search(r'id="id_supplier"[^>]*data-url="([^"]+)"', page).group(1).replace("&amp;", "&")
    body = admin_client_.get(search).content.decode()
    assert "Contoso Energy" in body
    assert "Fabrikam Print" not in body and "Foreign Co" not in body


def test_new_rule_link_is_hidden_when_every_supplier_has_a_rule(acme, other, admin_client_):
    SupplierRuleFactory(supplier__account=acme.account, category="Printing")
    SupplierFactory(account=other.account)
    body = text(admin_client_.get(f"/a/{acme.account.slug}/rules/"))
    assert "New supplier rule" not in body
    assert "Every supplier has a rule" in body


def test_new_rule_page_for_a_supplier_with_a_rule_opens_its_edit_page(acme, other, admin_client_):
    rule = SupplierRuleFactory(supplier__account=acme.account, category="Printing")
    response = admin_client_.get(new_url(acme.account), {"supplier": rule.supplier_id})
    assert response.status_code == 302
    assert response["Location"] == f"/a/{acme.account.slug}/rules/{rule.pk}/"


@pytest.mark.parametrize("confirm", ["", "1"])
def test_a_second_rule_for_a_supplier_is_refused_on_the_form(acme, other, admin_client_, confirm):
    rule = SupplierRuleFactory(
        supplier__account=acme.account,
        supplier__name="Fabrikam Print",
        category="Printing",
        integration=acme.billcom,
    )
    ItemFactory(account=acme.account, supplier=rule.supplier)
    before = snapshot()
    data = {"supplier": rule.supplier_id, "category": "Other", "integration": ""}
    response = admin_client_.post(new_url(acme.account), {**data, "confirm": confirm} if confirm else data)
    assert "Fabrikam Print already has a rule — edit it instead." in text(response)
    assert snapshot() == before
    rule.refresh_from_db()
    assert (rule.category, rule.integration_id) == ("Printing", acme.billcom.pk)


def test_the_service_refuses_a_second_rule_for_a_supplier(acme, other, admin_user):
    rule = SupplierRuleFactory(
        supplier__account=acme.account,
        supplier__name="Fabrikam Print",
        category="Printing",
        integration=acme.billcom,
    )
    refused(
        services.save_rule,
        "Fabrikam Print already has a rule — edit it instead.",
        account=acme.account,
        acting_user=admin_user,
        supplier_id=rule.supplier_id,
        payment_method="cash",
    )


def test_editing_goes_through_the_rule(acme, other, acme_lists, admin_user):
    rule = SupplierRuleFactory(
        supplier__account=acme.account, supplier__name="Fabrikam Print", category="Printing"
    )
    foreign = SupplierRuleFactory(supplier__account=other.account, category="Foreign")
    services.save_rule(
        account=acme.account,
        acting_user=admin_user,
        supplier_id=rule.supplier_id,
        rule_id=rule.pk,
        category_entry=acme_lists.billcom_stationery.pk,
        integration_id=acme.billcom.pk,
    )
    rule.refresh_from_db()
    assert (rule.category, rule.integration_id) == ("Printing & Stationery", acme.billcom.pk)
    assert SupplierRule.objects.filter(supplier=rule.supplier).count() == 1
    # Another account's rule cannot be edited through this account, nor a rule under another supplier.
    refused(
        services.save_rule,
        "That supplier rule does not exist any more.",
        account=acme.account,
        acting_user=admin_user,
        supplier_id=rule.supplier_id,
        rule_id=foreign.pk,
        payment_method="cash",
    )
    assert ActivityEntry.objects.filter(account=other.account).count() == 0


def test_edit_page_saves_the_rule_it_shows(acme, other, acme_lists, admin_client_):
    rule = SupplierRuleFactory(supplier__account=acme.account, category="Printing", integration=acme.billcom)
    response = admin_client_.post(
        f"/a/{acme.account.slug}/rules/{rule.pk}/",
        {"category_entry": acme_lists.billcom_freight.pk, "integration": acme.billcom.pk, "confirm": "1"},
        follow=True,
    )
    assert f"Saved the supplier rule for {rule.supplier.name}." in text(response)
    rule.refresh_from_db()
    assert (rule.category, rule.category_entry) == ("Freight In", acme_lists.billcom_freight)


def test_the_rules_list_shows_fifty_rules_a_page(acme, other, admin_client_):
    """A client with a thousand supplier rules gets them a page at a time (docs/benchmarks.md: the
    list rendered every rule on one page); the other account's rules never show."""
    for n in range(55):
        SupplierRuleFactory(
            account=acme.account, supplier=SupplierFactory(account=acme.account, name=f"Rule Co {n:02d}")
        )
    SupplierRuleFactory(
        account=other.account, supplier=SupplierFactory(account=other.account, name="Rule Co 99")
    )
    slug = acme.account.slug
    first = text(admin_client_.get(f"/a/{slug}/rules/"))
    second = text(admin_client_.get(f"/a/{slug}/rules/?page=2"))
    total = SupplierRule.objects.filter(account=acme.account).count()
    assert f"Page 1 of 2 ({total} rules)" in first and "Next ›" in first
    assert "Rule Co 00" in first and "Rule Co 54" in second
    shown = [n for n in range(55) if f"Rule Co {n:02d}" in first]
    shown_next = [n for n in range(55) if f"Rule Co {n:02d}" in second]
    assert not set(shown) & set(shown_next) and set(shown) | set(shown_next) == set(range(55))
    assert "Rule Co 99" not in first and "Rule Co 99" not in second

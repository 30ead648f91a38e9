"""The activity log's From/To for integration changes, and one wording for "no integration": an item's
choice is "Use rule/default"; a rule without an integration reads "None — uses the defaults" on every
page and in the log. Two tenants throughout."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from accounts.models import ActivityEntry
from costs import services
from tests.costs.test_views import text
from tests.factories import ItemFactory, SupplierFactory, SupplierRuleFactory

pytestmark = pytest.mark.django_db

RULE_NONE = "None — uses the defaults"
ROOT = Path(__file__).resolve().parents[2]


def log(account) -> list[tuple[str, str, str]]:
    return list(
        ActivityEntry.objects.filter(account=account).order_by("id").values_list("action", "before", "after")
    )


# --- bulk changes record where the items were set before ------------------------------------------


def test_bulk_change_logs_the_previous_setting(acme, other, admin_user):
    items = ItemFactory.create_batch(2, account=acme.account)
    ItemFactory(account=other.account)
    services.bulk_set_integration(
        account=acme.account,
        acting_user=admin_user,
        item_ids=[i.pk for i in items],
        connection_id=acme.billcom.pk,
    )
    services.bulk_set_integration(
        account=acme.account,
        acting_user=admin_user,
        item_ids=[i.pk for i in items],
        connection_id=acme.xero.pk,
    )
    assert log(acme.account) == [
        ("item.integration_changed", "Use rule/default", "Bill.com"),
        ("item.integration_changed", "Bill.com", "Xero"),
    ]
    assert log(other.account) == []


def test_bulk_change_from_different_settings_logs_mixed(acme, other, admin_user):
    unset = ItemFactory(account=acme.account)
    on_billcom = ItemFactory(account=acme.account, integration=acme.billcom)
    on_xero = ItemFactory(account=acme.account, integration=acme.xero)  # already there: not a change
    services.bulk_set_integration(
        account=acme.account,
        acting_user=admin_user,
        item_ids=[unset.pk, on_billcom.pk, on_xero.pk],
        connection_id=acme.xero.pk,
    )
    ((action, before, after),) = log(acme.account)
    assert (action, after) == ("item.integration_changed", "Xero")
    assert before == "Mixed: Bill.com, Use rule/default"


# --- rules: "None — uses the defaults" --------------------------------------------------------------


def test_rule_log_names_a_rule_without_integration_consistently(acme, other, admin_user):
    supplier = SupplierFactory(account=acme.account)
    rule = services.save_rule(
        account=acme.account, acting_user=admin_user, supplier_id=supplier.pk, payment_method="card"
    ).rule
    services.save_rule(
        account=acme.account,
        acting_user=admin_user,
        supplier_id=supplier.pk,
        rule_id=rule.pk,
        payment_method="card",
        integration_id=acme.billcom.pk,
    )
    services.save_rule(
        account=acme.account,
        acting_user=admin_user,
        supplier_id=supplier.pk,
        rule_id=rule.pk,
        payment_method="card",
    )
    services.delete_rule(account=acme.account, acting_user=admin_user, rule_id=rule.pk)
    assert log(acme.account) == [
        ("rule.created", "No rule", RULE_NONE),
        ("rule.changed", RULE_NONE, "Bill.com"),
        ("rule.changed", "Bill.com", RULE_NONE),
        ("rule.deleted", RULE_NONE, "No rule"),
    ]


def test_rule_log_names_a_disconnected_integration(acme, other, admin_user):
    rule = SupplierRuleFactory(supplier__account=acme.account, integration=acme.billcom, category="Fuel")
    type(acme.billcom).objects.filter(pk=acme.billcom.pk).update(status="disconnected")
    services.save_rule(
        account=acme.account,
        acting_user=admin_user,
        supplier_id=rule.supplier_id,
        rule_id=rule.pk,
        payment_method="cash",
    )
    assert log(acme.account)[0][1:] == ("Bill.com", RULE_NONE)


def test_rule_pages_use_the_same_words(acme, other, admin_client_):
    rule = SupplierRuleFactory(
        supplier__account=acme.account, supplier__name="Acme Supplies", category="Fuel"
    )
    SupplierFactory(account=acme.account, name="Contoso Energy")
    slug = acme.account.slug
    assert RULE_NONE in text(admin_client_.get(f"/a/{slug}/rules/"))
    assert (
        f'<option value="" selected>{RULE_NONE}</option>'
        in admin_client_.get(f"/a/{slug}/rules/{rule.pk}/").content.decode()
    )
    new_form = admin_client_.get(f"/a/{slug}/rules/new/").content.decode()
    assert re.search(f'<option value=""[^>]*>{RULE_NONE}</option>', new_form)
    preview = text(admin_client_.post(f"/a/{slug}/rules/{rule.pk}/", {"category": "Fuel", "integration": ""}))
    assert f"Integration {RULE_NONE}" in preview
    assert f"Integration {RULE_NONE}" in text(admin_client_.post(f"/a/{slug}/rules/{rule.pk}/delete/"))


def test_no_other_wording_for_no_integration_is_left():
    sources = [*ROOT.joinpath("costs").glob("*.py"), *ROOT.joinpath("templates", "costs").glob("*.html")]
    assert sources
    for path in sources:
        body = path.read_text()
        for stale in ("No integration", "None (use the defaults)", ">Defaults<"):
            assert stale not in body, f"{path.name} still says {stale!r}"

"""The pages: inbox (column, filters, sorting, bulk action, query count), item details, sales, rules."""

from __future__ import annotations

import re

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from accounts.permissions import MANAGE_RULES_WHO
from costs.models import Item, SupplierRule
from integrations.models import IntegrationDefaults
from tests.costs.test_services import snapshot
from tests.factories import ConnectionFactory, ItemFactory, SupplierFactory, SupplierRuleFactory

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def inbox_url(account, query: str = "") -> str:
    return f"/a/{account.slug}/costs/{query}"


# --- costs inbox ----------------------------------------------------------------------------------


def test_integration_column_only_while_an_additional_integration_is_connected(account, admin_client_):
    ConnectionFactory(account=account, provider="xero")
    ItemFactory(account=account)
    assert "<th>Integration</th>" not in admin_client_.get(inbox_url(account)).content.decode()
    ConnectionFactory(account=account, provider="billcom", is_main=False)
    body = admin_client_.get(inbox_url(account)).content.decode()
    assert "<th>Integration</th>" in body
    assert 'title="Main accounting software">Xero' in body


def test_inbox_shows_where_each_item_goes_and_why(acme, other, admin_client_):
    rule = SupplierRuleFactory(
        supplier__account=acme.account, supplier__name="Acme Supplies", integration=acme.billcom
    )
    ItemFactory(account=acme.account, supplier=rule.supplier, reference="BY-RULE")
    ItemFactory(account=acme.account, integration=acme.billcom, reference="ON-ITEM")
    ItemFactory(account=acme.account, type="sales_invoice", reference="A-SALE")
    ItemFactory(account=other.account, reference="FOREIGN")
    body = text(admin_client_.get(inbox_url(acme.account)))
    assert "BY-RULE" in body and "Supplier rule: Acme Supplies" in body
    assert "ON-ITEM" in body and "Set on this item" in body
    assert "A-SALE" not in body and "FOREIGN" not in body


def test_filters_by_status_type_supplier_and_integration(acme, other, admin_client_):
    s1, s2 = SupplierFactory(account=acme.account), SupplierFactory(account=acme.account)
    ItemFactory(account=acme.account, supplier=s1, status="ready", type="bill", reference="R-BILL-S1")
    ItemFactory(account=acme.account, supplier=s2, status="to_review", type="receipt", reference="T-REC-S2")
    ItemFactory(
        account=acme.account,
        supplier=s2,
        type="expense_claim",
        status="failed",
        integration=acme.billcom,
        reference="EC-BC",
    )
    c = admin_client_

    def refs(query):
        return set(re.findall(r"(R-BILL-S1|T-REC-S2|EC-BC)", text(c.get(inbox_url(acme.account, query)))))

    assert refs("?status=ready") == {"R-BILL-S1"}
    assert refs("?type=receipt") == {"T-REC-S2"}
    assert refs(f"?supplier={s2.pk}") == {"T-REC-S2", "EC-BC"}
    assert refs(f"?integration={acme.billcom.pk}") == {"EC-BC"}
    assert refs(f"?integration={acme.xero.pk}") == {"R-BILL-S1", "T-REC-S2"}
    assert refs("?status=bogus&type=sales_invoice") == {"R-BILL-S1", "T-REC-S2", "EC-BC"}


def test_sorting_by_total(acme, other, admin_client_):
    for total, ref in ((50, "MID"), (10, "LOW"), (90, "HIGH")):
        ItemFactory(account=acme.account, total=total, reference=ref)
    body = text(admin_client_.get(inbox_url(acme.account, "?sort=total")))
    assert body.index("LOW") < body.index("MID") < body.index("HIGH")
    body = text(admin_client_.get(inbox_url(acme.account, "?sort=-total")))
    assert body.index("HIGH") < body.index("MID") < body.index("LOW")


def test_pagination(acme, other, admin_client_):
    ItemFactory.create_batch(30, account=acme.account)
    body = text(admin_client_.get(inbox_url(acme.account)))
    assert "30 items" in body and "Page 1 of 2" in body
    assert "Page 2 of 2" in text(admin_client_.get(inbox_url(acme.account, "?page=2")))


@pytest.mark.parametrize("count", [10, 100])
def test_inbox_queries_do_not_grow_with_the_page(
    acme, other, admin_client_, django_assert_max_num_queries, count
):
    rule = SupplierRuleFactory(supplier__account=acme.account, integration=acme.billcom)
    users = [acme.account.owner]
    for n in range(count):
        ItemFactory(
            account=acme.account,
            supplier=rule.supplier if n % 2 else None,
            owner=users[0],
            status="published" if n % 5 == 0 else "ready",
            published_to=acme.xero if n % 5 == 0 else None,
        )
    admin_client_.get(inbox_url(acme.account))  # warm the session
    # Session, user, account, membership, practices (menu); the routing facts (live connections,
    # effective defaults: 2); whether any item has no route (the filter's "No accounting software");
    # suppliers (filter); count; the page; the tabs' counts; whether the user has more than one account
    # (the switcher); the connections needing a reconnect (the banner). None of them per row.
    with django_assert_max_num_queries(13 + (db_connection.vendor == "postgresql")):
        response = admin_client_.get(inbox_url(acme.account, "?per_page=100"))
    # A checkbox on every row that may change (every fifth is published: none there).
    assert response.content.decode().count('name="items"') == count - count // 5


def test_inbox_query_count_is_the_same_for_10_and_100_items(acme, other, admin_client_):
    def measure():
        with CaptureQueriesContext(db_connection) as ctx:
            admin_client_.get(inbox_url(acme.account, "?per_page=100"))
        return len(ctx)

    ItemFactory.create_batch(10, account=acme.account)
    admin_client_.get(inbox_url(acme.account))
    ten = measure()
    ItemFactory.create_batch(90, account=acme.account, integration=acme.billcom)
    assert measure() == ten


def test_bulk_change_from_the_inbox(acme, other, staff_client):
    items = ItemFactory.create_batch(2, account=acme.account)
    response = staff_client.post(
        f"/a/{acme.account.slug}/costs/integration/",
        {"items": [i.pk for i in items], "integration": acme.billcom.pk, "next": inbox_url(acme.account)},
        follow=True,
    )
    assert "2 items now use Bill.com." in text(response)
    assert set(Item.objects.values_list("integration_id", flat=True)) == {acme.billcom.pk}


def test_bulk_change_applies_to_the_eligible_items_and_says_which_were_skipped(acme, other, admin_client_):
    fine = ItemFactory(account=acme.account)
    published = ItemFactory(
        account=acme.account, status="published", published_to=acme.xero, reference="PUB-1"
    )
    response = admin_client_.post(
        f"/a/{acme.account.slug}/costs/integration/",
        {"items": [fine.pk, published.pk], "integration": acme.billcom.pk},
        follow=True,
    )
    body = text(response)
    assert "1 item now uses Bill.com." in body
    assert "Skipped 1 item: Bill / invoice PUB-1 is already published and can no longer be changed." in body
    fine.refresh_from_db(), published.refresh_from_db()
    assert (fine.integration_id, published.integration_id) == (acme.billcom.pk, None)


# --- item details ---------------------------------------------------------------------------------


def item_url(item) -> str:
    kind = "sales" if item.type == "sales_invoice" else "costs"
    return f"/a/{item.account.slug}/{kind}/{item.pk}/"


def form_data(item, **changes) -> dict:
    data = {
        "type": item.type,
        "date": item.date.isoformat(),
        "reference": item.reference,
        "category": item.category,
        "tax": item.tax,
        "total": item.total,
        "currency": item.currency,
        "supplier": item.supplier_id or "",
        "owner": item.owner_id or "",
        "payment_method": "",
    }
    data.update(changes)
    return data


def test_item_page_states_where_it_publishes_and_why(acme, other, admin_client_):
    IntegrationDefaults.objects.create(account=acme.account, publishing=acme.billcom)
    item = ItemFactory(account=acme.account)
    body = text(admin_client_.get(item_url(item)))
    assert "Publishes to Bill.com — Default publishing integration" in body
    assert "Use rule/default" in body


def test_item_page_has_no_integration_field_without_an_additional_integration(account, admin_client_):
    ConnectionFactory(account=account, provider="xero")
    item = ItemFactory(account=account)
    body = admin_client_.get(item_url(item)).content.decode()
    assert 'name="integration"' not in body
    assert "Publishes to <strong>Xero</strong>" in body


def test_standard_user_sets_the_integration_on_the_item_page(acme, other, acme_lists, staff_client):
    item = ItemFactory(account=acme.account)
    response = staff_client.post(
        item_url(item),
        form_data(item, integration=acme.billcom.pk, category_entry=acme_lists.billcom_freight.pk),
        follow=True,
    )
    assert "Publishes to Bill.com — Set on this item" in text(response)
    item.refresh_from_db()
    assert (item.integration_id, item.category) == (acme.billcom.pk, "Freight In")


def test_item_page_of_another_account_is_404(acme, other, admin_client_):
    foreign = ItemFactory(account=other.account)
    assert (
        admin_client_.get(item_url(foreign).replace(other.account.slug, acme.account.slug)).status_code == 404
    )
    before = snapshot()
    url = f"/a/{acme.account.slug}/costs/{foreign.pk}/"
    assert admin_client_.post(url, form_data(foreign, integration="")).status_code == 404
    assert snapshot() == before


def test_item_page_refuses_another_accounts_connection(acme, other, admin_client_):
    item = ItemFactory(account=acme.account)
    before = snapshot()
    response = admin_client_.post(
        item_url(item), form_data(item, integration=other.billcom.pk, reference="X"), follow=True
    )
    assert "Choose one of the integrations connected to this account." in text(response)
    assert snapshot() == before


def test_published_item_is_read_only(acme, other, admin_client_):
    item = ItemFactory(account=acme.account, status="published", published_to=acme.xero)
    body = text(admin_client_.get(item_url(item)))
    assert "Published to Xero" in body and "can no longer be changed" in body
    before = snapshot()
    response = admin_client_.post(item_url(item), form_data(item, integration=acme.billcom.pk), follow=True)
    assert "already published" in text(response)
    assert snapshot() == before


# --- sales ----------------------------------------------------------------------------------------


def test_sales_inbox_lists_only_sales(acme, other, admin_client_):
    ItemFactory(account=acme.account, type="sales_invoice", reference="SI-1")
    ItemFactory(account=acme.account, type="bill", reference="BILL-1")
    body = text(admin_client_.get(f"/a/{acme.account.slug}/sales/"))
    assert "SI-1" in body and "BILL-1" not in body


def test_sales_item_offers_only_the_main_software(acme, other, admin_client_):
    IntegrationDefaults.objects.create(account=acme.account, publishing=acme.billcom)
    sale = ItemFactory(account=acme.account, type="sales_invoice")
    body = admin_client_.get(item_url(sale)).content.decode()
    page = text(admin_client_.get(item_url(sale)))
    # The rule said once (the sales-rule line), the route's reason short.
    assert page.count("Sales items can only be published to your main accounting software") == 1
    assert "Publishes to Xero — Sales item: always the main accounting software" in page
    options = re.search(r'<select name="integration".*?</select>', body, re.S).group(0)
    assert re.findall(r">([^<]+)</option>", options) == ["Xero"]


def test_forged_sales_post_naming_billcom_is_refused(acme, other, admin_client_):
    sale = ItemFactory(account=acme.account, type="sales_invoice")
    before = snapshot()
    response = admin_client_.post(
        item_url(sale), form_data(sale, integration=acme.billcom.pk, reference="NEW"), follow=True
    )
    assert (
        "Sales items can only be published to your main accounting software (Xero), not to Bill.com."
        in text(response)
    )
    assert snapshot() == before


def test_a_cost_item_is_not_found_at_the_sales_address(acme, other, admin_client_):
    bill = ItemFactory(account=acme.account)
    assert admin_client_.get(f"/a/{acme.account.slug}/sales/{bill.pk}/").status_code == 404


# --- supplier rules -------------------------------------------------------------------------------


def test_rules_page_marks_rules_naming_a_disconnected_integration_inactive(acme, other, staff_client):
    SupplierRuleFactory(supplier__account=acme.account, supplier__name="Live Co", integration=acme.xero)
    SupplierRuleFactory(supplier__account=acme.account, supplier__name="Dead Co", integration=acme.billcom)
    type(acme.billcom).objects.filter(pk=acme.billcom.pk).update(status="disconnected")
    body = text(staff_client.get(f"/a/{acme.account.slug}/rules/"))
    assert "Live Co" in body and "Active" in body
    assert "Inactive — Bill.com not connected" in body
    assert "New supplier rule" not in body and MANAGE_RULES_WHO in body


def test_creating_a_rule_previews_the_reroute_then_saves(acme, other, acme_lists, admin_client_):
    supplier = SupplierFactory(account=acme.account, name="Acme Supplies")
    ItemFactory.create_batch(3, account=acme.account, supplier=supplier)
    url = f"/a/{acme.account.slug}/rules/new/"
    data = {
        "supplier": supplier.pk,
        "category_entry": acme_lists.billcom_stationery.pk,
        "payment_method": "card",
        "integration": acme.billcom.pk,
    }
    preview = text(admin_client_.post(url, data))
    assert "This rule re-routes 3 unpublished items of Acme Supplies." in preview
    assert "3 items from Xero to Bill.com" in preview
    assert not SupplierRule.objects.exists()
    response = admin_client_.post(url, {**data, "confirm": "1"}, follow=True)
    assert "Saved the supplier rule for Acme Supplies." in text(response)
    rule = SupplierRule.objects.get()
    assert (rule.integration_id, rule.category_entry, rule.payment_method) == (
        acme.billcom.pk,
        acme_lists.billcom_stationery,
        "card",
    )


def test_rule_for_another_accounts_supplier_is_refused(acme, other, admin_client_):
    foreign = SupplierFactory(account=other.account)
    before = snapshot()
    response = admin_client_.post(
        f"/a/{acme.account.slug}/rules/new/",
        {"supplier": foreign.pk, "integration": acme.billcom.pk, "confirm": "1"},
    )
    assert "That supplier is not one of this account&#x27;s suppliers." in response.content.decode()
    assert snapshot() == before


def test_rule_naming_another_accounts_connection_is_refused(acme, other, admin_client_):
    supplier = SupplierFactory(account=acme.account)
    before = snapshot()
    response = admin_client_.post(
        f"/a/{acme.account.slug}/rules/new/",
        {"supplier": supplier.pk, "integration": other.billcom.pk, "confirm": "1"},
    )
    assert "Choose one of the integrations connected to this account." in text(response)
    assert snapshot() == before


def test_editing_and_deleting_a_rule(acme, other, acme_lists, admin_client_):
    rule = SupplierRuleFactory(supplier__account=acme.account, integration=acme.billcom)
    url = f"/a/{acme.account.slug}/rules/{rule.pk}/"
    assert f'value="{acme.billcom.pk}" selected' in admin_client_.get(url).content.decode()
    admin_client_.post(url, {"integration": "", "category_entry": acme_lists.travel.pk, "confirm": "1"})
    rule.refresh_from_db()
    assert (rule.integration_id, rule.category) == (None, "Travel - National")
    admin_client_.post(f"{url}delete/", {"confirm": "1"})
    assert not SupplierRule.objects.filter(pk=rule.pk).exists()


def test_deleting_a_rule_previews_the_reroute_then_deletes(acme, other, admin_client_):
    rule = SupplierRuleFactory(
        supplier__account=acme.account, supplier__name="Acme Supplies", integration=acme.billcom
    )
    ItemFactory.create_batch(2, account=acme.account, supplier=rule.supplier)
    ItemFactory(account=acme.account, supplier=rule.supplier, integration=acme.billcom)  # keeps its own
    ItemFactory(account=acme.account, supplier=rule.supplier, status="published", published_to=acme.billcom)
    foreign = SupplierRuleFactory(supplier__account=other.account, integration=other.billcom)
    ItemFactory(account=other.account, supplier=foreign.supplier)
    url = f"/a/{acme.account.slug}/rules/{rule.pk}/delete/"
    before = snapshot()
    preview = text(admin_client_.post(url))
    assert "Delete the supplier rule for Acme Supplies?" in preview
    assert "Deleting this rule re-routes 2 unpublished items of Acme Supplies." in preview
    assert "2 items from Bill.com to Xero" in preview
    assert snapshot() == before  # nothing deleted, nothing logged yet
    response = admin_client_.post(url, {"confirm": "1"}, follow=True)
    assert "Deleted the supplier rule." in text(response)
    assert not SupplierRule.objects.filter(pk=rule.pk).exists()
    assert SupplierRule.objects.filter(pk=foreign.pk).exists()


def test_deleting_a_rule_that_reroutes_nothing_says_so(acme, other, admin_client_):
    rule = SupplierRuleFactory(supplier__account=acme.account, category="Fuel")
    ItemFactory(account=acme.account, supplier=rule.supplier)
    preview = text(admin_client_.post(f"/a/{acme.account.slug}/rules/{rule.pk}/delete/"))
    assert "Deleting this rule re-routes no unpublished items." in preview
    assert SupplierRule.objects.filter(pk=rule.pk).exists()


def test_rule_of_another_account_is_404(acme, other, admin_client_):
    foreign = SupplierRuleFactory(supplier__account=other.account)
    before = snapshot()
    assert admin_client_.get(f"/a/{acme.account.slug}/rules/{foreign.pk}/").status_code == 404
    assert admin_client_.post(f"/a/{acme.account.slug}/rules/{foreign.pk}/delete/").status_code == 404
    assert snapshot() == before


def test_standard_user_cannot_post_rules(acme, other, staff_client):
    supplier = SupplierFactory(account=acme.account)
    before = snapshot()
    for url in (f"/a/{acme.account.slug}/rules/new/", f"/a/{acme.account.slug}/rules/"):
        assert staff_client.post(url, {"supplier": supplier.pk, "confirm": "1"}).status_code == 403
    assert snapshot() == before


def test_archived_items_leave_the_inbox_but_the_status_filter_finds_them(acme, other, admin_client_):
    ItemFactory(account=acme.account, status="archived", reference="OLD-1")
    ItemFactory(account=acme.account, reference="NEW-1")
    body = text(admin_client_.get(inbox_url(acme.account)))
    assert "NEW-1" in body and "OLD-1" not in body
    assert "OLD-1" in text(admin_client_.get(inbox_url(acme.account, "?status=archived")))


def test_use_rule_default_says_where_it_would_go(acme, other, admin_client_):
    rule = SupplierRuleFactory(
        supplier__account=acme.account, supplier__name="Acme Supplies", integration=acme.billcom
    )
    item = ItemFactory(account=acme.account, supplier=rule.supplier, integration=acme.xero)
    body = text(admin_client_.get(item_url(item)))
    assert "Publishes to Xero — Set on this item" in body
    assert "Use rule/default (Bill.com — Supplier rule: Acme Supplies)" in body


# --- the seed article's words on the sales pages ------------------------------------------------------

SALES_MAIN_ONLY = (
    "Sales items can only be published to your main accounting software "
    "(for example, Xero or QuickBooks Online)."
)
SALES_NOT_SECONDARY = (
    "Sales items cannot be published to secondary integrations such as Bill.com or ApprovalMax."
)


def test_sales_inbox_and_sales_item_page_say_the_articles_two_sentences(acme, other, admin_client_):
    sale = ItemFactory(account=acme.account, type="sales_invoice")
    for url in (f"/a/{acme.account.slug}/sales/", item_url(sale)):
        body = text(admin_client_.get(url))
        assert f"{SALES_MAIN_ONLY} {SALES_NOT_SECONDARY}" in body, url
    # Not on the costs pages, where other integrations are offered.
    bill = ItemFactory(account=acme.account)
    for url in (inbox_url(acme.account), item_url(bill)):
        assert SALES_NOT_SECONDARY not in text(admin_client_.get(url))


# --- the Integration filter's "No accounting software" ------------------------------------------------


def _integration_options(response) -> list[str]:
    body = response.content.decode()
    select = re.search(r'<select name="integration">.*?</select>', body, re.S).group(0)
    return re.findall(r">([^<]+)</option>", select)


def test_no_accounting_software_filter_is_not_offered_while_a_main_software_routes_everything(
    acme, other, admin_client_
):
    routed = ItemFactory(account=acme.account, reference="ROUTED-1")
    # The other tenant's unrouted item must not make the option appear here.
    type(other.xero).objects.filter(pk=other.xero.pk).update(status="disconnected")
    ItemFactory(account=other.account, reference="FOREIGN-1")
    assert _integration_options(admin_client_.get(inbox_url(acme.account))) == ["All", "Xero", "Bill.com"]

    # Asked for explicitly (a bookmarked filter), it still answers, and finds nothing routed.
    filtered = admin_client_.get(inbox_url(acme.account, "?integration=none"))
    assert 'value="none" selected' in filtered.content.decode()
    body = text(filtered)
    assert routed.reference not in body and "FOREIGN-1" not in body


def test_no_accounting_software_filter_when_the_main_software_is_gone(acme, other, admin_client_):
    ItemFactory(account=acme.account, reference="ORPHAN-1")
    ItemFactory(account=acme.account, integration=acme.billcom, reference="BILLCOM-1")
    type(acme.xero).objects.filter(pk=acme.xero.pk).update(status="disconnected")
    response = admin_client_.get(inbox_url(acme.account, "?integration=none"))
    assert _integration_options(response) == ["All", "Bill.com", "No accounting software"]
    body = text(response)
    assert "ORPHAN-1" in body and "BILLCOM-1" not in body


def test_tables_scroll_inside_their_box_and_the_integration_field_is_wide(acme, other, admin_client_):
    item = ItemFactory(account=acme.account)
    SupplierRuleFactory(supplier__account=acme.account, category="Fuel")
    slug = acme.account.slug
    for url in (inbox_url(acme.account), f"/a/{slug}/sales/", f"/a/{slug}/rules/"):
        body = admin_client_.get(url).content.decode()
        assert re.search(r'<div class="table-scroll"[^>]*>\s*<table class="table', body), url
    body = admin_client_.get(item_url(item)).content.decode()
    # Issue 12: the Integration sits at the top beside the publish state, not among the fields.
    state = re.search(r'<section class="item-state".*?</section>', body, re.S).group(0)
    assert '<label for="id_integration">Integration</label>' in state
    assert body.index('id="item-state"') < body.index('id="item-fields"')

"""Choosing Category, Tax rate and Supplier on the item page and the supplier rule page: the services
re-check every id (another account's or connection's entry, an archived one, a forged supplier link:
a clear message, nothing changes), a change of Integration carries values over by the one rule, and
the rule page shows and sets the supplier's link in each connection. Two tenants throughout."""

from __future__ import annotations

import html

import pytest
from django_scopes import scopes_disabled

from accounts.errors import DomainError
from accounts.models import ActivityEntry
from costs import services
from costs.models import Item, Supplier, SupplierLink, SupplierRule
from tests.costs.test_views import form_data, item_url, text
from tests.factories import ItemFactory, SupplierEntryFactory, SupplierFactory, SupplierRuleFactory

pytestmark = pytest.mark.django_db


def snapshot() -> tuple:
    with scopes_disabled():
        return (
            sorted(
                Item.objects.values_list(
                    "pk", "supplier_id", "category", "category_entry_id", "tax_rate", "tax_rate_entry_id"
                )
            ),
            sorted(
                SupplierRule.objects.values_list("pk", "category", "category_entry_id", "tax_rate_entry_id")
            ),
            sorted(Supplier.objects.values_list("pk", "account_id", "name")),
            sorted(
                SupplierLink.objects.values_list(
                    "pk", "supplier_id", "connection_id", "entry_id", "matched_by"
                )
            ),
            ActivityEntry.objects.count(),
        )


def refused(message: str, call, **kwargs) -> None:
    before = snapshot()
    with pytest.raises(DomainError) as error:
        call(**kwargs)
    assert error.value.message == message
    assert snapshot() == before


def update(acme, user, item, **chosen):
    return services.update_item(
        account=acme.account,
        acting_user=user,
        item_id=item.pk,
        data={},
        chosen={k: str(v) for k, v in chosen.items()},
    )


NOT_IN_XERO = "That category is not in Xero's chart of accounts: choose one from the list."


# --- the item: bad input -------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["abc", "-1", "0", "²", "99999999999999999999999", "entry:1", " 7"])
def test_a_garbled_category_is_refused(acme, other, acme_lists, admin_user, bad):
    item = ItemFactory(account=acme.account)
    refused(NOT_IN_XERO, update, acme=acme, user=admin_user, item=item, category_entry=bad)


def test_another_accounts_category_is_refused(acme, other, acme_lists, other_lists, admin_user):
    item = ItemFactory(account=acme.account)
    refused(
        NOT_IN_XERO, update, acme=acme, user=admin_user, item=item, category_entry=other_lists.stationery.pk
    )


def test_another_connections_category_is_refused(acme, other, acme_lists, admin_user):
    item = ItemFactory(account=acme.account)  # publishes to Xero: Bill.com's accounts are not its list
    refused(
        NOT_IN_XERO,
        update,
        acme=acme,
        user=admin_user,
        item=item,
        category_entry=acme_lists.billcom_freight.pk,
    )


def test_an_archived_category_is_refused(acme, other, acme_lists, admin_user):
    item = ItemFactory(account=acme.account)
    refused(
        "‘404 · Bank Fees’ is archived in Xero and can no longer be chosen: choose another category.",
        update,
        acme=acme,
        user=admin_user,
        item=item,
        category_entry=acme_lists.archived.pk,
    )


def test_a_category_as_a_tax_rate_and_a_sales_account_on_a_cost_are_refused(
    acme, other, acme_lists, admin_user
):
    item = ItemFactory(account=acme.account)
    refused(
        "That tax rate is not in Xero's tax rates: choose one from the list.",
        update,
        acme=acme,
        user=admin_user,
        item=item,
        tax_rate_entry=acme_lists.stationery.pk,
    )
    refused(
        "‘200 · Sales’ cannot be used on a cost item: choose another category.",
        update,
        acme=acme,
        user=admin_user,
        item=item,
        category_entry=acme_lists.sales.pk,
    )


def test_a_tax_rate_for_software_without_tax_rates_is_refused(acme, other, acme_lists, admin_user):
    item = ItemFactory(account=acme.account, integration=acme.billcom)
    refused(
        "Bill.com keeps no tax rates.",
        update,
        acme=acme,
        user=admin_user,
        item=item,
        tax_rate_entry=acme_lists.vat.pk,
    )


def test_a_category_without_accounting_software_is_refused(account, other_account, admin_user):
    item = ItemFactory(account=account)
    with pytest.raises(DomainError) as error:
        services.update_item(
            account=account, acting_user=admin_user, item_id=item.pk, data={}, chosen={"category_entry": "1"}
        )
    assert error.value.message == "Connect accounting software to choose a category."


@pytest.mark.parametrize("kind", ["other_account", "other_connection", "archived", "garbled", "not_supplier"])
def test_a_forged_supplier_link_is_refused(acme, other, acme_lists, other_lists, admin_user, kind):
    item = ItemFactory(account=acme.account)  # publishes to Xero
    forged = {
        "other_account": f"entry:{other_lists.british_gas.pk}",
        "other_connection": f"entry:{acme_lists.billcom_british_gas.pk}",
        "archived": f"entry:{SupplierEntryFactory(connection=acme.xero, name='Gone Ltd', active=False).pk}",
        "garbled": "entry:abc",
        "not_supplier": f"entry:{acme_lists.stationery.pk}",
    }[kind]
    message = (
        "‘Gone Ltd’ is archived in Xero and can no longer be chosen."
        if kind == "archived"
        else "That supplier is not in Xero's suppliers: choose one from the list."
    )
    refused(message, update, acme=acme, user=admin_user, item=item, supplier=forged)


def test_another_accounts_supplier_is_refused(acme, other, admin_user):
    item = ItemFactory(account=acme.account)
    foreign = SupplierFactory(account=other.account)
    refused(
        "Choose one of this account's suppliers.",
        update,
        acme=acme,
        user=admin_user,
        item=item,
        supplier=foreign.pk,
    )


def test_a_provider_supplier_cannot_be_a_sales_items_customer(acme, other, acme_lists, admin_user):
    sale = ItemFactory(account=acme.account, type="sales_invoice")
    refused(
        "Choose one of this account's customers.",
        update,
        acme=acme,
        user=admin_user,
        item=sale,
        supplier=f"entry:{acme_lists.british_gas.pk}",
    )


def test_a_refused_choice_changes_no_other_field(acme, other, acme_lists, admin_client_):
    item = ItemFactory(account=acme.account, reference="KEEP-1")
    before = snapshot()
    response = admin_client_.post(
        item_url(item),
        form_data(
            item, reference="CHANGED", category_entry=acme_lists.archived.pk, integration=acme.billcom.pk
        ),
        follow=True,
    )
    # Xero's archived account, posted while the item moves to Bill.com: in neither list.
    assert "That category is not in Bill.com's chart of accounts" in html.unescape(text(response))
    item.refresh_from_db()
    assert (item.reference, item.integration_id) == ("KEEP-1", None)
    assert snapshot() == before


# --- the item: choosing --------------------------------------------------------------------------


def test_choosing_a_category_and_tax_rate_stores_the_entries_and_their_names(
    acme, other, acme_lists, admin_user
):
    item = ItemFactory(account=acme.account)
    update(acme, admin_user, item, category_entry=acme_lists.travel.pk, tax_rate_entry=acme_lists.zero.pk)
    item.refresh_from_db()
    assert (item.category_entry, item.category) == (acme_lists.travel, "Travel - National")
    assert (item.tax_rate_entry, item.tax_rate) == (acme_lists.zero, "Zero Rated Expenses")
    log = ActivityEntry.objects.get(account=acme.account, action="item.updated")
    assert log.summary.endswith(": category, tax rate")


def test_choosing_a_providers_supplier_adds_it_and_links_it_by_hand(
    acme, other, acme_lists, other_lists, admin_user
):
    item = ItemFactory(account=acme.account)
    update(acme, admin_user, item, supplier=f"entry:{acme_lists.british_gas.pk}")
    item.refresh_from_db()
    assert item.supplier.name == "British Gas"
    link = SupplierLink.objects.get(supplier=item.supplier)
    assert (link.connection, link.entry, link.matched_by) == (acme.xero, acme_lists.british_gas, "chosen")
    assert not Supplier.objects.filter(account=other.account, name="British Gas").exists()
    # Chosen again for another item: the same supplier, not a second one (names are matched ignoring case).
    Supplier.objects.filter(pk=item.supplier_id).update(name="BRITISH GAS")
    second = ItemFactory(account=acme.account)
    update(acme, admin_user, second, supplier=f"entry:{acme_lists.british_gas.pk}")
    second.refresh_from_db()
    assert second.supplier_id == item.supplier_id
    assert Supplier.objects.filter(account=acme.account, name__iexact="british gas").count() == 1


def test_saving_with_a_value_that_needs_choosing_keeps_it(acme, other, acme_lists, admin_client_):
    item = ItemFactory(account=acme.account, category="Office supplies")  # typed; Xero has no such account
    page = admin_client_.get(item_url(item)).content.decode()
    assert 'name="category_entry" value="keep"' in page
    admin_client_.post(item_url(item), form_data(item, reference="NEW-REF", category_entry="keep"))
    item.refresh_from_db()
    assert (item.reference, item.category, item.category_entry) == ("NEW-REF", "Office supplies", None)


def test_saving_a_change_of_integration_carries_values_over(acme, other, acme_lists, admin_user):
    carried = ItemFactory(account=acme.account, category_entry=acme_lists.stationery, category="x")
    kept = ItemFactory(account=acme.account, category_entry=acme_lists.travel, category="Travel - National")
    for item in (carried, kept):
        services.update_item(
            account=acme.account,
            acting_user=admin_user,
            item_id=item.pk,
            data={},
            connection_id=acme.billcom.pk,
            change_integration=True,
            # The page as drawn before its Integration changed (no script): Xero's entry still posted.
            chosen={"category_entry": str(item.category_entry_id)},
        )
        item.refresh_from_db()
    assert (carried.category_entry, carried.category) == (
        acme_lists.billcom_stationery,
        "Printing & Stationery",
    )
    assert (kept.category_entry, kept.category) == (acme_lists.travel, "Travel - National")


def test_the_item_page_offers_the_lists_and_never_renders_them(acme, other, acme_lists, admin_client_):
    for n in range(30):
        SupplierEntryFactory(connection=acme.xero, name=f"Contact {n:02d}")
    item = ItemFactory(account=acme.account, category="Office supplies")
    page = html.unescape(admin_client_.get(item_url(item)).content.decode())
    assert "Contact 0" not in page and "Printing & Stationery" not in page
    assert "‘Office supplies’ was typed before Dext Connect read Xero's lists: choose the category." in page
    assert f'data-url="/a/{acme.account.slug}/choose/{acme.xero.pk}/account/?use=costs"' in page
    assert f'data-url="/a/{acme.account.slug}/choose/suppliers/?sales=0&lists={acme.xero.pk}"' in page
    assert "Category, Tax rate and Supplier come from Xero's lists." in page


def test_the_item_page_with_no_software_says_to_connect(account, other_account, admin_client_):
    item = ItemFactory(account=account)
    page = html.unescape(text(admin_client_.get(item_url(item))))
    assert "Connect accounting software to choose a category: ‘Office supplies’ is kept until then." in page


# --- the item page follows a change of Integration (htmx) -----------------------------------------


def lists_url(item) -> str:
    return f"/a/{item.account.slug}/costs/{item.pk}/lists/"


def test_changing_the_integration_swaps_in_the_new_softwares_choices(acme, other, acme_lists, admin_client_):
    item = ItemFactory(
        account=acme.account, **{"category_entry": acme_lists.stationery, "category": "Printing & Stationery"}
    )
    before = snapshot()
    response = admin_client_.get(
        lists_url(item),
        {
            "integration": acme.billcom.pk,
            "category_entry": acme_lists.stationery.pk,
            "tax_rate_entry": acme_lists.vat.pk,
            "supplier": item.supplier_id,
        },
        HTTP_HX_REQUEST="true",
    )
    body = html.unescape(response.content.decode())
    assert snapshot() == before  # it only asks
    assert body.count('hx-swap-oob="true"') == 4  # the notice and the three fields
    assert f'name="category_entry" value="{acme_lists.billcom_stationery.pk}"' in body
    assert f'data-url="/a/{acme.account.slug}/choose/{acme.billcom.pk}/account/?use=costs"' in body
    assert "Carried over from Xero's ‘461 · Printing & Stationery’: same code." in body
    assert "Bill.com keeps no tax rates: ‘20% (VAT on Expenses)’ is kept here and not sent." in body
    # A value Bill.com has no entry for is named as needing a choice.
    body = html.unescape(
        admin_client_.get(
            lists_url(item), {"integration": acme.billcom.pk, "category_entry": acme_lists.travel.pk}
        ).content.decode()
    )
    assert "Needs choosing again:" in body
    assert "‘493 · Travel - National’ is not in Bill.com's chart of accounts: choose a category." in body
    assert f'name="category_entry" value="{acme_lists.travel.pk}"' in body


def test_the_lists_answer_ignores_what_is_not_this_accounts(
    acme, other, acme_lists, other_lists, admin_client_
):
    item = ItemFactory(account=acme.account, category="")
    body = admin_client_.get(
        lists_url(item),
        {"integration": other.billcom.pk, "category_entry": other_lists.stationery.pk, "supplier": "entry:x"},
    ).content.decode()
    assert "Other Corp" not in body
    assert 'name="category_entry" value=""' in body  # the foreign entry was not taken
    assert f"/choose/{acme.xero.pk}/account/" in body  # the foreign Integration was not taken either


# --- the supplier rule page ----------------------------------------------------------------------


def rule_url(rule) -> str:
    return f"/a/{rule.account.slug}/rules/{rule.pk}/"


def test_the_rule_page_shows_the_suppliers_link_in_each_connection(acme, other, acme_lists, admin_client_):
    rule = SupplierRuleFactory(
        supplier__account=acme.account, supplier__name="British Gas", payment_method="card"
    )
    newcomer = SupplierRuleFactory(
        supplier__account=acme.account, supplier__name="Zed Ltd", payment_method="card"
    )
    page = html.unescape(text(admin_client_.get(rule_url(rule))))
    assert "Linked to ‘British Gas’ in Xero (same name)." in page
    assert "Linked to ‘British Gas’ in Bill.com (same name)." in page
    page = html.unescape(text(admin_client_.get(rule_url(newcomer))))
    assert "Not in Xero yet: created when its first bill is published." in page
    assert "Not in Bill.com yet: created when its first bill is published." in page


def test_choosing_the_providers_supplier_by_hand(acme, other, acme_lists, admin_client_):
    rule = SupplierRuleFactory(supplier__account=acme.account, supplier__name="BG", payment_method="card")
    response = admin_client_.post(
        f"{rule_url(rule)}link/",
        {"connection": acme.xero.pk, "entry": acme_lists.british_gas.pk},
        follow=True,
    )
    assert "BG: Linked to ‘British Gas’ in Xero (chosen by hand)." in html.unescape(text(response))
    link = SupplierLink.objects.get(supplier=rule.supplier, connection=acme.xero)
    assert (link.entry, link.matched_by) == (acme_lists.british_gas, "chosen")
    # Or: create it in Bill.com at its first bill, whatever a name match would say.
    admin_client_.post(f"{rule_url(rule)}link/", {"connection": acme.billcom.pk, "create": "1"})
    link = SupplierLink.objects.get(supplier=rule.supplier, connection=acme.billcom)
    assert (link.entry, link.matched_by) == (None, "chosen")
    assert ActivityEntry.objects.filter(account=acme.account, action="supplier.linked").count() == 2


@pytest.mark.parametrize(
    "kind", ["other_account", "other_connection", "archived", "garbled", "dead", "foreign_conn"]
)
def test_a_forged_link_on_the_rule_page_is_refused(acme, other, acme_lists, other_lists, admin_client_, kind):
    rule = SupplierRuleFactory(supplier__account=acme.account, supplier__name="BG", payment_method="card")
    connection, entry = acme.xero.pk, None
    if kind == "other_account":
        entry = other_lists.british_gas.pk
    elif kind == "other_connection":
        entry = acme_lists.billcom_british_gas.pk
    elif kind == "archived":
        entry = SupplierEntryFactory(connection=acme.xero, name="Gone Ltd", active=False).pk
    elif kind == "garbled":
        entry = "1; DROP"
    elif kind == "dead":
        type(acme.billcom).objects.filter(pk=acme.billcom.pk).update(status="disconnected")
        connection, entry = acme.billcom.pk, acme_lists.billcom_british_gas.pk
    else:
        connection, entry = other.xero.pk, other_lists.british_gas.pk
    before = snapshot()
    response = admin_client_.post(
        f"{rule_url(rule)}link/", {"connection": connection, "entry": entry}, follow=True
    )
    body = html.unescape(text(response))
    expected = {
        "archived": "‘Gone Ltd’ is archived in Xero and can no longer be chosen.",
        "dead": "Choose one of the integrations connected to this account.",
        "foreign_conn": "Choose one of the integrations connected to this account.",
    }.get(kind, "That supplier is not in Xero's suppliers: choose one from the list.")
    assert expected in body
    assert "Other Corp" not in body
    assert snapshot() == before


def test_a_rule_with_a_category_of_other_software_or_account_is_refused(
    acme, other, acme_lists, other_lists, admin_user
):
    supplier = SupplierFactory(account=acme.account)
    for entry, message in (
        (other_lists.stationery, NOT_IN_XERO),
        (acme_lists.billcom_freight, NOT_IN_XERO),
        (
            acme_lists.archived,
            "‘404 · Bank Fees’ is archived in Xero and can no longer be chosen: choose another category.",
        ),
    ):
        refused(
            message,
            services.save_rule,
            account=acme.account,
            acting_user=admin_user,
            supplier_id=supplier.pk,
            category_entry=entry.pk,
        )
    assert not SupplierRule.objects.exists()


def test_the_rule_form_refuses_a_bad_category_on_the_field(
    acme, other, acme_lists, other_lists, admin_client_
):
    supplier = SupplierFactory(account=acme.account)
    before = snapshot()
    response = admin_client_.post(
        f"/a/{acme.account.slug}/rules/new/",
        {
            "supplier": supplier.pk,
            "category_entry": other_lists.stationery.pk,
            "integration": "",
            "confirm": "1",
        },
    )
    assert response.status_code == 200
    assert NOT_IN_XERO in html.unescape(text(response))
    assert snapshot() == before


def test_the_rule_page_follows_its_integration(acme, other, acme_lists, admin_client_):
    rule = SupplierRuleFactory(
        supplier__account=acme.account, category_entry=acme_lists.general, category="General Expenses"
    )
    response = admin_client_.get(
        f"{rule_url(rule)}lists/", {"integration": acme.billcom.pk, "category_entry": acme_lists.general.pk}
    )
    body = html.unescape(response.content.decode())
    assert f'name="category_entry" value="{acme_lists.billcom_general.pk}"' in body
    assert "Bill.com keeps no tax rates." in body
    # Saved that way, the rule's category is Bill.com's.
    services.save_rule(
        account=acme.account,
        acting_user=rule.account.owner,
        supplier_id=rule.supplier_id,
        rule_id=rule.pk,
        category_entry=acme_lists.general.pk,  # the page as drawn before the change
        integration_id=acme.billcom.pk,
    )
    rule.refresh_from_db()
    assert rule.category_entry == acme_lists.billcom_general


# --- the other kinds of item page ----------------------------------------------------------------


def test_a_sales_item_offers_the_main_softwares_sales_accounts_and_its_customers(
    acme, other, acme_lists, admin_client_
):
    sale = ItemFactory(
        account=acme.account, type="sales_invoice", category_entry=acme_lists.sales, category="Sales"
    )
    page = html.unescape(admin_client_.get(item_url(sale)).content.decode())
    assert f'data-url="/a/{acme.account.slug}/choose/{acme.xero.pk}/account/?use=sales"' in page
    assert f'data-url="/a/{acme.account.slug}/choose/suppliers/?sales=1"' in page
    assert 'value="200 · Sales"' in page
    assert '<label for="id_supplier">Customer</label>' in page
    # Its page never asks for the lists of another integration.
    assert f"/costs/{sale.pk}/lists/" not in page


def test_a_published_item_shows_its_values_read_only(acme, other, acme_lists, admin_client_):
    item = ItemFactory(
        account=acme.account,
        status="published",
        published_to=acme.xero,
        category_entry=acme_lists.archived,
        category="Bank Fees",
    )
    page = html.unescape(admin_client_.get(item_url(item)).content.decode())
    # Shown as values, not as inputs that would fail (issue 10: its fields are read-only).
    assert "<dt>Category</dt><dd>404 · Bank Fees (archived)</dd>" in page
    assert 'name="category_entry"' not in page and 'role="combobox"' not in page


def test_an_item_for_approvalmax_says_whose_lists_it_uses(acme, other, acme_lists, admin_client_):
    from tests.factories import ConnectionFactory

    approvalmax = ConnectionFactory(account=acme.account, provider="approvalmax", is_main=False)
    item = ItemFactory(account=acme.account, integration=approvalmax)
    page = html.unescape(text(admin_client_.get(item_url(item))))
    assert "ApprovalMax uses Xero's lists." in page
    rule = SupplierRuleFactory(supplier__account=acme.account, payment_method="card")
    page = html.unescape(text(admin_client_.get(rule_url(rule))))
    assert "ApprovalMax uses Xero's suppliers." in page

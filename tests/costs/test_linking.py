"""After a read of a connection's lists (costs/linking.py): suppliers linked to its contacts or vendors by
exact, then normalised name, never over a link chosen by hand; an archived contact leaves its link,
marked for choosing again; old Category and Tax rate text matched on the items and rules that choose
from those lists, only on items that may still change, in a few queries whatever their number, never
dropping the text. The other tenant's data never moves."""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from costs import linking
from costs.models import Item, SupplierLink, SupplierRule
from integrations import lists
from integrations.models import ListEntry, ListSync
from tests.factories import ConnectionFactory, ItemFactory, SupplierFactory, SupplierRuleFactory
from tests.integrations.lists_helpers import BooksLists, account_, books_connection, full, supplier, tax

SALES, GENERAL, PRINTING = "200", "429", "461"


def entry(connection, kind, name, external_id=None, code="", **fields) -> ListEntry:
    return ListEntry.objects.create(
        account=connection.account,
        connection=connection,
        kind=kind,
        external_id=external_id or f"{kind}-{name}",
        code=code,
        name=name,
        match_name=lists.normalise(name),
        **fields,
    )


def chart(connection) -> dict[str, ListEntry]:
    return {
        "general": entry(connection, "account", "General Expenses", code=GENERAL, for_sales=False),
        "printing": entry(connection, "account", "Printing & Stationery", code=PRINTING, for_sales=False),
        "sales": entry(connection, "account", "Sales", code=SALES, for_costs=False),
        "vat": entry(connection, "tax_rate", "20% (VAT on Expenses)", code="INPUT2", for_sales=False),
        "vat_out": entry(connection, "tax_rate", "20% (VAT on Income)", code="OUTPUT2", for_costs=False),
    }


def link_of(supplier_, connection) -> SupplierLink | None:
    return (
        SupplierLink.objects.filter(supplier=supplier_, connection=connection).select_related("entry").first()
    )


# --- suppliers -------------------------------------------------------------------------------------


def test_suppliers_link_by_exact_then_normalised_name(acme, other):
    exact = SupplierFactory(account=acme.account, name="acme supplies")
    normalised = SupplierFactory(account=acme.account, name="Northwind Traders")
    nobody = SupplierFactory(account=acme.account, name="Nobody In Xero")
    same_name_elsewhere = SupplierFactory(account=other.account, name="Acme Supplies")
    contact = entry(acme.xero, "supplier", "Acme Supplies")
    entry(acme.xero, "supplier", "Acme Supplies Ltd")  # also matches when normalised: exact wins
    northwind = entry(acme.xero, "supplier", "Northwind Traders Ltd.")
    entry(other.xero, "supplier", "Northwind Traders")

    assert linking.link_suppliers(account=acme.account, connection=acme.xero) == 2
    assert (link_of(exact, acme.xero).entry, link_of(exact, acme.xero).matched_by) == (contact, "exact")
    assert (link_of(normalised, acme.xero).entry, link_of(normalised, acme.xero).matched_by) == (
        northwind,
        "normalised",
    )
    assert link_of(nobody, acme.xero) is None  # created in Xero at its first publish, not here
    assert link_of(same_name_elsewhere, other.xero) is None
    assert not SupplierLink.objects.filter(connection=acme.billcom).exists()
    assert linking.link_suppliers(account=acme.account, connection=acme.xero) == 0  # nothing new


def test_a_chosen_or_created_link_is_never_replaced(acme):
    chosen_supplier = SupplierFactory(account=acme.account, name="Fabrikam Print")
    created_supplier = SupplierFactory(account=acme.account, name="Tailspin Travel")
    picked = entry(acme.xero, "supplier", "Fabrikam Printing Group")
    ours = entry(acme.xero, "supplier", "Tailspin Travel (created)")
    entry(acme.xero, "supplier", "Fabrikam Print")
    entry(acme.xero, "supplier", "Tailspin Travel")
    SupplierLink.objects.create(
        account=acme.account,
        supplier=chosen_supplier,
        connection=acme.xero,
        entry=picked,
        matched_by="chosen",
    )
    SupplierLink.objects.create(
        account=acme.account,
        supplier=created_supplier,
        connection=acme.xero,
        entry=ours,
        matched_by="created",
    )
    assert linking.link_suppliers(account=acme.account, connection=acme.xero) == 0
    assert link_of(chosen_supplier, acme.xero).entry == picked
    assert link_of(created_supplier, acme.xero).entry == ours


def test_a_link_waiting_for_its_entry_takes_the_match_and_keeps_its_key(acme):
    waiting = SupplierFactory(account=acme.account, name="Litware Software")
    SupplierLink.objects.create(
        account=acme.account, supplier=waiting, connection=acme.xero, entry=None, create_key="key-1"
    )
    contact = entry(acme.xero, "supplier", "Litware Software")  # its create got through after all
    linking.link_suppliers(account=acme.account, connection=acme.xero)
    link = link_of(waiting, acme.xero)
    assert (link.entry, link.matched_by, link.create_key) == (contact, "exact", "key-1")


def test_an_archived_contact_leaves_the_link_marked_for_choosing_again(acme):
    kept = SupplierFactory(account=acme.account, name="Contoso Energy")
    moved = SupplierFactory(account=acme.account, name="Proseware Telecom")
    old = entry(acme.xero, "supplier", "Contoso Energy")
    old_moved = entry(acme.xero, "supplier", "Proseware Telecom")
    linking.link_suppliers(account=acme.account, connection=acme.xero)
    ListEntry.objects.filter(pk__in=[old.pk, old_moved.pk]).update(active=False)
    new_moved = entry(acme.xero, "supplier", "Proseware Telecom Ltd")  # re-created in Xero

    linking.link_suppliers(account=acme.account, connection=acme.xero)
    link = link_of(kept, acme.xero)
    assert link.entry == old and link.needs_choosing
    link = link_of(moved, acme.xero)
    assert (link.entry, link.matched_by, link.needs_choosing) == (new_moved, "normalised", False)


# --- old free text -----------------------------------------------------------------------------------


def test_old_text_is_matched_on_open_items_only_and_kept(acme, other):
    mine, theirs = chart(acme.xero), chart(other.xero)
    open_items = [
        ItemFactory(
            account=acme.account, status=status, category="general expenses", tax_rate="20% (VAT on Expenses)"
        )
        for status in ("to_review", "ready", "failed")
    ]
    closed = [
        ItemFactory(
            account=acme.account, status=status, category="General Expenses", tax_rate="20% (VAT on Expenses)"
        )
        for status in ("published", "publishing", "archived")
    ]
    unknown = ItemFactory(account=acme.account, category="Fairy dust", tax_rate="Mystery VAT")
    sales = ItemFactory(
        account=acme.account, type="sales_invoice", category="Sales", tax_rate="20% (VAT on Income)"
    )
    cost_named_sales = ItemFactory(account=acme.account, category="Sales")  # not an account for costs
    foreign = ItemFactory(account=other.account, category="General Expenses")

    assert linking.match_free_text(account=acme.account, connection=acme.xero) == 8  # 3 items x 2, sales x 2
    for item in open_items:
        item.refresh_from_db()
        assert (item.category_entry, item.tax_rate_entry) == (mine["general"], mine["vat"])
        assert (item.category, item.tax_rate) == ("general expenses", "20% (VAT on Expenses)")  # text kept
    for item in [*closed, unknown, cost_named_sales, foreign]:
        item.refresh_from_db()
        assert (item.category_entry, item.tax_rate_entry) == (None, None)
        assert item.category  # never dropped
    sales.refresh_from_db()
    assert (sales.category_entry, sales.tax_rate_entry) == (mine["sales"], mine["vat_out"])
    assert not Item.objects.filter(category_entry__in=theirs.values()).exists()


def test_items_match_the_lists_of_the_software_they_publish_to(acme):
    xero = chart(acme.xero)
    billcom_printing = entry(acme.billcom, "account", "Printing & Stationery", code=PRINTING)
    to_xero = ItemFactory(account=acme.account, category="Printing & Stationery")
    to_billcom = ItemFactory(account=acme.account, category="Printing & Stationery", integration=acme.billcom)

    linking.match_free_text(account=acme.account, connection=acme.xero)
    to_xero.refresh_from_db()
    to_billcom.refresh_from_db()
    assert to_xero.category_entry == xero["printing"] and to_billcom.category_entry is None

    linking.match_free_text(account=acme.account, connection=acme.billcom)
    to_billcom.refresh_from_db()
    assert to_billcom.category_entry == billcom_printing


def test_items_routed_to_approvalmax_match_the_main_software_lists(acme):
    xero = chart(acme.xero)
    approvalmax = ConnectionFactory(account=acme.account, provider="approvalmax", is_main=False)
    item = ItemFactory(account=acme.account, category="General Expenses", integration=approvalmax)
    linking.match_free_text(account=acme.account, connection=acme.xero)
    item.refresh_from_db()
    assert item.category_entry == xero["general"]


def test_a_value_already_chosen_stands(acme):
    xero = chart(acme.xero)
    item = ItemFactory(
        account=acme.account, category="General Expenses", category_entry=xero["printing"], tax_rate="Nothing"
    )
    linking.match_free_text(account=acme.account, connection=acme.xero)
    item.refresh_from_db()
    assert item.category_entry == xero["printing"]


def test_rules_match_the_lists_their_suppliers_bills_go_to(acme, other):
    xero = chart(acme.xero)
    entry(acme.billcom, "account", "General Expenses", code=GENERAL)
    to_xero = SupplierRuleFactory(
        supplier__account=acme.account, category="Printing & Stationery", tax_rate="20% (VAT on Expenses)"
    )
    to_billcom = SupplierRuleFactory(
        supplier__account=acme.account, category="General Expenses", integration=acme.billcom
    )
    theirs = SupplierRuleFactory(supplier__account=other.account, category="Printing & Stationery")
    chart(other.xero)

    assert linking.match_free_text(account=acme.account, connection=acme.xero) == 2
    for rule in (to_xero, to_billcom, theirs):
        rule.refresh_from_db()
    assert (to_xero.category_entry, to_xero.tax_rate_entry) == (xero["printing"], xero["vat"])
    assert to_billcom.category_entry is None and theirs.category_entry is None
    assert to_xero.category == "Printing & Stationery"


def test_matching_takes_a_few_queries_whatever_the_number_of_items(acme):
    chart(acme.xero)

    def queries_for(n: int) -> int:
        Item.objects.all().delete()
        SupplierRule.objects.all().delete()
        for i in range(n):
            ItemFactory(
                account=acme.account, category=("General Expenses", "Sales", "Printing & Stationery")[i % 3]
            )
            SupplierRuleFactory(supplier__account=acme.account, category="General Expenses")
        with CaptureQueriesContext(db) as captured:
            linking.match_free_text(account=acme.account, connection=acme.xero)
        assert (
            Item.objects.filter(category_entry__isnull=False).count() == n - n // 3
        )  # "Sales" is not for costs
        return len(captured)

    assert queries_for(30) == queries_for(3) <= 20


def test_linking_takes_a_few_queries_whatever_the_number_of_suppliers(acme):
    def queries_for(n: int) -> int:
        SupplierLink.objects.all().delete()
        for i in range(n):
            SupplierFactory(account=acme.account, name=f"Supplier {n}-{i}")
            entry(acme.xero, "supplier", f"Supplier {n}-{i} Ltd")
        with CaptureQueriesContext(db) as captured:
            linking.link_suppliers(account=acme.account, connection=acme.xero)
        return len(captured)

    assert queries_for(40) == queries_for(4) <= 8


# --- after a real read -------------------------------------------------------------------------------


@pytest.mark.usefixtures("books")
def test_a_read_links_suppliers_and_matches_text_through_the_signal(account, other_account):
    books = books_connection(account)
    theirs = books_connection(other_account)
    acme = SupplierFactory(account=account, name="Acme Supplies")
    item = ItemFactory(account=account, supplier=acme, category="General Expenses", tax_rate="No VAT")
    their_item = ItemFactory(account=other_account, category="General Expenses")
    BooksLists.pages = {
        "account": full(account_(GENERAL, "General Expenses")),
        "tax_rate": full(tax("NONE", "No VAT")),
        "supplier": full(supplier(1, "ACME SUPPLIES")),
    }
    lists.request_sync(account=account, connection=books)
    assert lists.run_sync(account=account, connection_id=books.pk).state == "done"

    item.refresh_from_db()
    assert (item.category_entry.code, item.tax_rate_entry.code) == (GENERAL, "NONE")
    assert link_of(acme, books).entry.external_id == "sup-1"
    their_item.refresh_from_db()
    assert their_item.category_entry is None and not ListSync.objects.filter(connection=theirs).exists()

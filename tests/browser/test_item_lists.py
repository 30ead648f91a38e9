"""Category chosen from the accounting software's lists, in real Chromium: on an item routed to Xero,
the Category type-ahead offers Xero's chart; changing Integration to Bill.com swaps in Bill.com's (Xero's
entries gone), carries a value with the same code over and names one Bill.com lacks as needing a
choice; choosing with the keyboard and saving stores Bill.com's entry."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from tests.browser.fixtures import sign_in

pytestmark = pytest.mark.browser


def _lists():
    """Acme's Xero chart (the demo's entries when it has them), and a Bill.com connected beside it with
    its own chart: 461 as in Xero, no 493, and accounts Xero does not have."""
    from accounts.models import Account
    from costs.models import Item
    from integrations.models import ListEntry
    from tests.factories import AccountEntryFactory, ConnectionFactory

    with scopes_disabled():
        acme = Account.objects.get(slug="acme")
        xero = acme.connections.get(provider="xero")
        billcom = ConnectionFactory(account=acme, provider="billcom", is_main=False)

        def xero_account(code: str, name: str):
            found = ListEntry.objects.filter(connection=xero, kind="account", code=code, active=True).first()
            return found or AccountEntryFactory(connection=xero, code=code, name=name)

        stationery = xero_account("461", "Printing & Stationery")
        xero_account("493", "Travel - National")
        for code, name in (("461", "Printing & Stationery"), ("5100", "Freight In"), ("5200", "Fuel Costs")):
            AccountEntryFactory(connection=billcom, code=code, name=name)
        item = Item.objects.get(account=acme, reference="INV-1041")
        Item.objects.filter(pk=item.pk).update(category_entry=stationery, category=stationery.name)
        return item


def test_the_category_list_follows_the_integration(page, demo_data):
    item = _lists()
    sign_in(page, "admin@acme.test")
    page.goto(f"/a/acme/costs/{item.pk}/")
    expect(page.get_by_text("Publishes to Xero")).to_be_visible()
    category = page.get_by_role("combobox", name="Category")
    expect(category).to_have_value("461 · Printing & Stationery")
    options = page.get_by_role("listbox", name="Category").get_by_role("option")

    # Xero's chart: typing finds Xero's 493, which Bill.com does not have. (An option also shows the
    # account's type when the list gives one: "Overhead".)
    category.fill("travel")
    expect(options.first).to_contain_text("493 · Travel - National")
    category.press("Escape")
    expect(category).to_have_value("461 · Printing & Stationery")

    # To Bill.com: the same code is carried over, and the list is Bill.com's.
    page.get_by_label("Integration").select_option(label="Bill.com")
    carried = "Carried over from Xero's ‘461 · Printing & Stationery’: same code."
    expect(page.get_by_text(carried)).to_be_visible()
    expect(page.get_by_text("Category, Tax rate and Supplier come from Bill.com's lists.")).to_be_visible()
    category.fill("travel")
    expect(page.get_by_role("listbox", name="Category").get_by_text("No matches")).to_be_visible()
    category.fill("")
    category.press("ArrowDown")
    expect(options).to_have_text(["461 · Printing & Stationery", "5100 · Freight In", "5200 · Fuel Costs"])
    category.press("Escape")

    # Back to Xero, choose 493 with the keyboard, then Bill.com again: 493 needs choosing, and says so.
    page.get_by_label("Integration").select_option(label="Use rule/default (Xero — Main accounting software)")
    expect(page.get_by_text("Category, Tax rate and Supplier come from Xero's lists.")).to_be_visible()
    category.fill("493")
    expect(options).to_have_count(1)
    expect(options).to_contain_text(["493 · Travel - National"])
    category.press("ArrowDown")
    category.press("Enter")
    expect(category).to_have_value("493 · Travel - National")
    page.get_by_label("Integration").select_option(label="Bill.com")
    needs = "‘493 · Travel - National’ is not in Bill.com's chart of accounts: choose a category."
    expect(page.locator("[data-to-choose]")).to_contain_text(needs)
    expect(category).to_have_value("")

    # Choose Bill.com's Freight In (keyboard only) and save.
    category.fill("freight")
    expect(options).to_have_text(["5100 · Freight In"])
    category.press("Enter")  # the one match
    expect(category).to_have_value("5100 · Freight In")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    expect(page.get_by_text("Publishes to Bill.com — Set on this item")).to_be_visible()
    expect(page.get_by_role("combobox", name="Category")).to_have_value("5100 · Freight In")
    expect(page.locator("[data-to-choose]")).to_have_count(0)

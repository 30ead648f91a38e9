"""Costs and routing in real Chromium, by the words on the screen. Acme's Admin (Xero connected by the
demo seed) connects Bill.com, sees the Integration column appear, sends one item to Bill.com on its
details page, creates a supplier rule to Bill.com and sees that supplier's items follow, changes the
default expense claims integration, and finds that a sales invoice offers only Xero."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from sandbox.data import BILLCOM_USERS
from tests.browser.fixtures import sign_in

pytestmark = pytest.mark.browser

USERNAME, PASSWORD, ORGANISATION_ID, _ = next(u for u in BILLCOM_USERS if "Acme" in u[3])


def _nav(page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def _connections(page) -> None:
    _nav(page, "Business settings")
    page.get_by_role("navigation", name="Business settings").get_by_role("link", name="Connections").click()


def _applied(page, param: str) -> None:
    """Filters apply on change (htmx swaps the results in and updates the address): wait for it."""
    expect(page).to_have_url(re.compile(re.escape(param)))


def _tab(page, name: str) -> None:
    page.get_by_role("navigation", name="Status").get_by_role("link", name=re.compile(f"^{name} ")).click()


def _row(page, text: str):
    return page.locator("table.inbox tbody tr").filter(has_text=text)


def test_admin_routes_items_between_xero_and_billcom(page, demo_data):
    sign_in(page, "admin@acme.test")
    page.goto("/a/acme/")
    _nav(page, "Costs")
    expect(page.get_by_role("heading", name="Costs inbox")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Integration")).to_have_count(0)

    # Connect Bill.com through Business settings > Connections and the sandbox's sign-in.
    _connections(page)
    page.get_by_role("button", name="Connect", exact=True).click()
    page.get_by_role("button", name="Connect Bill.com").click()
    page.get_by_label("User name").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Organisation ID").fill(ORGANISATION_ID)
    page.get_by_role("button", name="Connect Bill.com").click()
    expect(page.get_by_role("status")).to_contain_text("Bill.com is connected")

    # The Integration column appears; everything still goes to Xero, the main software.
    _nav(page, "Costs")
    expect(page.get_by_role("columnheader", name="Integration")).to_be_visible()
    page.get_by_role("combobox", name="Supplier").fill("contoso")
    page.get_by_role("listbox", name="Supplier").get_by_role("option", name="Contoso Energy").click()
    _applied(page, "supplier=")
    expect(_row(page, "INV-1010").locator("td.integration")).to_contain_text("Xero")

    # One item to Bill.com on its details page.
    _row(page, "INV-1010").get_by_role("link").first.click()
    expect(page.get_by_text("Publishes to Xero — Main accounting software")).to_be_visible()
    page.get_by_label("Integration").select_option(label="Bill.com")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    expect(page.get_by_text("Publishes to Bill.com — Set on this item")).to_be_visible()
    page.get_by_role("link", name="Back to the costs inbox").click()
    expect(_row(page, "INV-1010").locator("td.integration")).to_contain_text("Bill.com")
    expect(_row(page, "INV-1010").locator("td.integration")).to_contain_text("Set on this item")

    # A supplier rule to Bill.com: preview, save, and that supplier's unpublished items follow.
    _nav(page, "Supplier rules")
    page.get_by_role("link", name="New supplier rule").click()
    # The Supplier field searches the suppliers without a rule (the page never lists them all).
    page.wait_for_load_state("domcontentloaded")  # the type-ahead's script runs by then (deferred)
    page.get_by_role("combobox", name="Supplier").fill("north")
    page.get_by_role("listbox", name="Supplier").get_by_role("option", name="Northwind Traders").click()
    expect(page.get_by_role("combobox", name="Supplier")).to_have_value("Northwind Traders")
    page.get_by_label("Integration").select_option(label="Bill.com")
    page.get_by_role("button", name="Review rule").click()
    expect(
        page.get_by_text(re.compile(r"This rule re-routes \d+ unpublished items? of Northwind Traders"))
    ).to_be_visible()
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_role("status")).to_contain_text("Saved the supplier rule for Northwind Traders.")
    expect(page.get_by_role("row").filter(has_text="Northwind Traders")).to_contain_text("Bill.com")

    _nav(page, "Costs")
    page.get_by_role("combobox", name="Supplier").fill("northwind")
    page.get_by_role("listbox", name="Supplier").get_by_role("option", name="Northwind Traders").click()
    _applied(page, "supplier=")
    _tab(page, "Ready")
    _applied(page, "status=ready")
    ready = page.locator("table.inbox tbody tr")
    expect(ready.first).to_be_visible()
    for index in range(ready.count()):
        expect(ready.nth(index).locator("td.integration")).to_contain_text("Supplier rule: Northwind Traders")
        expect(ready.nth(index).locator("td.integration")).to_contain_text("Bill.com")
    # Published items keep where they were published.
    _tab(page, "Published")
    _applied(page, "status=published")
    expect(page.locator("table.inbox tbody tr").first.locator("td.integration")).to_contain_text("Xero")

    # The default expense claims integration (Connections page) re-routes expense claims.
    _connections(page)
    page.get_by_label("Default expense claims integration").select_option(label="Bill.com")
    expect(page.locator("#defaults-preview")).to_contain_text("This change re-routes")
    page.get_by_role("button", name="Save defaults").click()
    expect(page.get_by_role("status")).to_contain_text("Defaults saved.")
    _nav(page, "Costs")
    page.get_by_label("Type").select_option(label="Expense claim")
    _applied(page, "type=expense_claim")
    expect(_row(page, "EC-1000").locator("td.integration")).to_contain_text(
        "Default expense claims integration"
    )
    expect(_row(page, "EC-1000").locator("td.integration")).to_contain_text("Bill.com")
    # The supplier rule still wins over the default.
    expect(_row(page, "EC-1001").locator("td.integration")).to_contain_text(
        "Supplier rule: Northwind Traders"
    )

    # A sales invoice offers only Xero.
    _nav(page, "Sales")
    expect(page.get_by_role("heading", name="Sales inbox")).to_be_visible()
    _row(page, "SI-2000").get_by_role("link").first.click()
    expect(
        page.get_by_text("Publishes to Xero — Sales item: always the main accounting software")
    ).to_be_visible()
    options = page.get_by_label("Integration").locator("option")
    expect(options).to_have_count(1)
    expect(options).to_have_text("Xero")
    # The seed article's two sentences, on the sales item page and the sales inbox.
    expect(
        page.get_by_text(
            "Sales items can only be published to your main accounting software (for example, Xero or "
            "QuickBooks Online). Sales items cannot be published to secondary integrations such as "
            "Bill.com or ApprovalMax."
        )
    ).to_be_visible()
    _nav(page, "Sales")
    expect(page.get_by_text("Sales items cannot be published to secondary integrations")).to_be_visible()

    # Deleting the supplier rule shows what it re-routes first, then deletes on confirm.
    _nav(page, "Supplier rules")
    page.get_by_role("row").filter(has_text="Northwind Traders").get_by_role("button", name="Delete").click()
    expect(
        page.get_by_role("heading", name="Delete the supplier rule for Northwind Traders?")
    ).to_be_visible()
    expect(
        page.get_by_text(
            re.compile(r"Deleting this rule re-routes \d+ unpublished items? of Northwind Traders")
        )
    ).to_be_visible()
    page.get_by_role("button", name="Delete rule").click()
    expect(page.get_by_role("status")).to_contain_text("Deleted the supplier rule.")
    expect(page.get_by_role("row").filter(has_text="Northwind Traders")).to_have_count(0)


def _overflow(page) -> dict:
    """How far the page and each table reach past what holds them (px; 0 = nothing cut off or spilling)."""
    return page.evaluate(
        """() => {
          const doc = document.documentElement;
          const main = document.querySelector('main');
          const edge = main.getBoundingClientRect().right - parseFloat(getComputedStyle(main).paddingRight);
          const table = document.querySelector('table.table');
          const box = table.closest('.table-scroll');
          return {
            page: doc.scrollWidth - doc.clientWidth,
            spill: Math.round(table.getBoundingClientRect().right - edge),
            scrolls: box ? getComputedStyle(box).overflowX : 'none',
            boxRight: box ? Math.round(box.getBoundingClientRect().right - edge) : 0,
          };
        }"""
    )


def test_tables_fit_and_the_integration_dropdown_is_not_cut_off(page, demo_data):
    from django_scopes import scopes_disabled

    from accounts.models import Account
    from tests.factories import ConnectionFactory

    with scopes_disabled():
        ConnectionFactory(account=Account.objects.get(slug="acme"), provider="billcom", is_main=False)
    sign_in(page, "admin@acme.test")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/a/acme/costs/")
    expect(page.get_by_role("columnheader", name="Integration")).to_be_visible()
    metrics = _overflow(page)
    assert metrics["spill"] <= 0 and metrics["page"] == 0, metrics
    # Item details: the Integration dropdown shows its whole first choice.
    _row(page, "INV-1041").get_by_role("link").first.click()
    select = page.get_by_label("Integration")
    expect(select).to_contain_text("Use rule/default (Xero — Main accounting software)")
    widths = select.evaluate(
        """e => { const c = document.createElement('canvas').getContext('2d');
                  c.font = getComputedStyle(e).font;
                  return [c.measureText(e.options[e.selectedIndex].text).width, e.clientWidth]; }"""
    )
    assert widths[0] + 30 <= widths[1], widths  # the text plus the arrow fit

    # A phone: the page never scrolls sideways; the inboxes' tables are stacked cards (table.cards,
    # static/css/app.css) with the Integration on each card, inside the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    for url in ("/a/acme/costs/", "/a/acme/sales/"):
        page.goto(url)
        metrics = _overflow(page)
        assert metrics["page"] == 0 and metrics["spill"] <= 0 and metrics["boxRight"] <= 0, (url, metrics)
    page.goto("/a/acme/costs/")
    integration = page.locator("td.integration").first
    expect(integration).to_be_visible()
    box = integration.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box


def test_a_bulk_change_applies_to_the_eligible_items_and_names_the_skipped(page, demo_data):
    from django_scopes import scopes_disabled

    from accounts.models import Account
    from costs import publishing
    from costs.models import Item
    from tests.factories import ConnectionFactory

    with scopes_disabled():
        acme = Account.objects.get(slug="acme")
        ConnectionFactory(account=acme, provider="billcom", is_main=False)
        flying = Item.objects.get(account=acme, reference="INV-1026")
    sign_in(page, "admin@acme.test")
    page.goto("/a/acme/costs/")
    # Rows that cannot change (published, being published) offer no checkbox.
    expect(_row(page, "INV-1057").get_by_role("checkbox")).to_have_count(0)
    page.get_by_label("Select INV-1041").check()  # Failed: may be re-routed
    page.get_by_label("Select INV-1026").check()  # Ready on this page...
    # ...and being published by the time the change arrives (no worker runs here: it stays in flight).
    publishing.request_publish(account=acme, acting_user=acme.owner, item_ids=[flying.pk])
    page.get_by_label("New integration").select_option(label="Bill.com")
    page.get_by_role("button", name="Change integration").click()
    messages = page.get_by_role("status").first
    expect(messages).to_contain_text("1 item now uses Bill.com.")
    expect(messages).to_contain_text(
        "Skipped 1 item: Receipt INV-1026 is being published: it cannot be changed until that finishes or "
        "is cancelled."
    )
    expect(_row(page, "INV-1041").locator("td.integration")).to_contain_text("Bill.com")
    expect(_row(page, "INV-1026").get_by_role("checkbox")).to_have_count(0)

    # The item being published shows where it goes, read-only.
    _row(page, "INV-1026").get_by_role("link").first.click()
    expect(page.get_by_label("Integration")).to_have_value("Xero")
    expect(page.get_by_label("Integration")).not_to_be_editable()
    expect(page.get_by_text("This item is being published to Xero")).to_be_visible()

"""Home and switching, and the QuickBooks Desktop set-up's next steps (issue 12 §4, §5), in real
Chromium: the switcher keeps the section by keyboard, marks the current account and hides for one
account; the set-up page moves on by itself when the Web Connector connects."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from costs.models import Item
from integrations.models import Connection
from tests.browser.fixtures import sign_in

pytestmark = pytest.mark.browser


def _toggle(page):
    return page.get_by_role("button", name=re.compile("^Switch account"))


def test_the_switcher_keeps_the_section_by_keyboard_and_marks_the_current_account(page, demo_data):
    sign_in(page, "bookkeeper@ledger.test")
    page.goto("/a/globex/costs/")
    toggle = _toggle(page)
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_label("Find an account")).to_be_focused()
    options = page.locator("#switcher-options")
    expect(options.get_by_role("link", name=re.compile("Globex Inc"))).to_have_attribute(
        "aria-current", "true"
    )
    expect(options.get_by_role("link", name="Acme Ltd")).not_to_have_attribute("aria-current", "true")

    # Escape closes it and gives the focus back to the button.
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()

    # Globex Costs → Acme Costs: type, arrow down to the match, Enter.
    page.keyboard.press("Enter")
    page.keyboard.type("acm")
    expect(options.get_by_role("link")).to_have_count(1)
    page.keyboard.press("ArrowDown")
    expect(options.get_by_role("link", name="Acme Ltd")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/a/acme/costs/$"))
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Costs")).to_have_attribute(
        "aria-current", "page"
    )

    # From an item page → the other account's Costs inbox.
    with scopes_disabled():
        item = Item.objects.filter(account__slug="acme").exclude(type="sales_invoice").first()
    page.goto(f"/a/acme/costs/{item.pk}/")
    _toggle(page).click()
    page.get_by_label("Find an account").fill("globex")
    expect(options.get_by_role("link")).to_have_count(1)
    page.keyboard.press("Enter")  # Enter in the box opens the first match
    expect(page).to_have_url(re.compile(r"/a/globex/costs/$"))

    # From Connections → the other account's Connections.
    page.goto("/a/globex/settings/connections/")
    _toggle(page).click()
    options.get_by_role("link", name="Acme Ltd").click()
    expect(page).to_have_url(re.compile(r"/a/acme/settings/connections/$"))


def test_no_switcher_for_a_user_with_one_account(page, demo_data):
    sign_in(page, "staff@acme.test")
    page.goto("/a/acme/costs/")
    expect(_toggle(page)).to_have_count(0)
    expect(page.locator(".switcher-single")).to_have_text("Acme Ltd")


def test_the_set_up_page_moves_on_when_the_web_connector_connects(page, demo_data):
    sign_in(page, "admin@initech.test")
    page.goto("/a/initech/settings/connections/connect/qbd/")
    page.get_by_role("button", name="Set up QuickBooks Desktop").click()
    steps = page.locator("ol.steps > li")
    expect(steps).to_have_count(5)
    expect(page.get_by_test_id("qbwc-waiting")).to_contain_text("This page moves on by itself")

    # The copy button copies and says so.
    page.get_by_role("button", name="Copy password").click()
    expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()

    # The customer's Web Connector runs on their computer, not in this page: the page notices.
    password = page.get_by_test_id("qbwc-password").inner_text()
    username = page.locator("dt:text('User name') + dd code").inner_text()
    call_command(
        "run_web_connector",
        username=username,
        password=password,
        account_name="Initech",
        stdout=open("/dev/null", "w"),
    )

    expect(page).to_have_url(re.compile(r"/a/initech/settings/connections/$"), timeout=20_000)
    expect(page.get_by_role("status").filter(has_text="QuickBooks Desktop")).to_contain_text(
        "QuickBooks Desktop is connected"
    )
    row = (
        page.get_by_role("table", name="Connected accounting software")
        .get_by_role("row")
        .filter(has_text="QuickBooks Desktop")
    )
    expect(row).to_contain_text("Active")
    with scopes_disabled():
        assert Connection.objects.get(account__slug="initech", provider="qbd").status == "active"

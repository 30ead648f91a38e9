"""A bookkeeper connects QuickBooks Online for a client through the sandbox's OAuth pages."""

import re

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from integrations.models import Connection
from tests.browser.fixtures import sandbox_login_shown, sign_in, sign_in_at_provider

pytestmark = pytest.mark.browser


def test_bookkeeper_connects_quickbooks_online_for_globex(page, demo_data):
    sign_in(page, "bookkeeper@ledger.test")
    page.goto("/a/globex/settings/connections/")
    expect(page.get_by_text("No accounting software is connected yet.")).to_be_visible()
    page.get_by_role("button", name="Connect", exact=True).click()
    page.get_by_role("button", name="Connect QuickBooks Online").click()

    expect(page.get_by_role("heading", name="Connect QuickBooks Online")).to_be_visible()
    expect(page.get_by_text("Follow the on-screen steps to complete the connection.")).to_be_visible()
    email, password = sandbox_login_shown(page)  # the sandbox's Intuit login meant for Globex
    assert email == "intuit@globex.test"
    page.get_by_role("button", name="Continue to QuickBooks Online").click()

    # The sandbox's Intuit sign-in, then its consent screen with that login's companies only.
    expect(page.get_by_role("heading", name="Sign in to Intuit")).to_be_visible()
    sign_in_at_provider(page, email, password)
    expect(page.get_by_label("Sandbox Company US")).to_have_count(0)  # Acme's company
    expect(
        page.get_by_role("heading", name="Dext Connect wants to access your QuickBooks Online data")
    ).to_be_visible()
    page.get_by_label("Globex Trading (QuickBooks Demo)").check()
    page.get_by_role("button", name="Allow access").click()

    expect(page).to_have_url(re.compile(r"/a/globex/settings/connections/$"))
    expect(
        page.get_by_text("QuickBooks Online is connected – Globex Trading (QuickBooks Demo).")
    ).to_be_visible()
    table = page.get_by_role("table", name="Connected accounting software")
    expect(table.get_by_text("QuickBooks Online")).to_be_visible()
    expect(table.get_by_text("bookkeeper@ledger.test")).to_be_visible()

    with scopes_disabled():
        conn = Connection.objects.get(account__slug="globex")
        assert (conn.provider, conn.status, conn.external_id) == ("qbo", "active", "9341453000000002")
        assert conn.connected_by.email == "bookkeeper@ledger.test"


def test_cancelling_on_the_consent_screen_says_so(page, demo_data):
    sign_in(page, "bookkeeper@ledger.test")
    page.goto("/a/globex/settings/connections/connect/qbo/")
    email, password = sandbox_login_shown(page)
    page.get_by_role("button", name="Continue to QuickBooks Online").click()
    sign_in_at_provider(page, email, password)
    page.get_by_role("button", name="Cancel").click()  # on Intuit's consent screen
    expect(page.get_by_text("You cancelled connecting QuickBooks Online.")).to_be_visible()
    with scopes_disabled():
        assert not Connection.objects.filter(account__slug="globex", status="active").exists()

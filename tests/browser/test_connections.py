"""Business settings > Connections in real Chromium, by the words on the screen: an Admin of Acme (Xero
connected by the demo seed) connects Bill.com through the sandbox's sign-in, sets both defaults, is
refused when disconnecting Xero first, then disconnects Bill.com and Xero in the right order."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from accounts.models import Account
from costs.impact import default_change_impact
from integrations.models import Connection
from sandbox.data import BILLCOM_USERS
from tests.browser.fixtures import sign_in

pytestmark = pytest.mark.browser

# The Bill.com sandbox user of Acme, as listed on /sandbox/ and on Acme's Bill.com sign-in page.
USERNAME, PASSWORD, ORGANISATION_ID, ORGANISATION = next(u for u in BILLCOM_USERS if "Acme" in u[3])


def _open_connections(page) -> None:
    page.goto("/a/acme/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Business settings").click()
    page.get_by_role("navigation", name="Business settings").get_by_role("link", name="Connections").click()
    expect(page.get_by_role("heading", name="Connections", exact=True)).to_be_visible()


def _billcom_row(software):
    # The Xero row offers "Disconnect Bill.com" too while Bill.com blocks it: take Bill.com's own row.
    return software.get_by_role("row").filter(
        has=software.page.get_by_role("cell", name="Bill.com", exact=True)
    )


def test_admin_connects_billcom_sets_defaults_and_disconnects_in_order(page, demo_data):
    sign_in(page, "admin@acme.test")
    _open_connections(page)
    software = page.get_by_role("table", name="Connected accounting software")
    expect(software.get_by_role("row").filter(has_text="Xero")).to_contain_text("Acme Ltd (Demo)")
    expect(software.get_by_role("row").filter(has_text="Xero")).to_contain_text("admin@acme.test")
    # One integration: no defaults to choose yet.
    expect(page.get_by_label("Default publishing integration")).to_have_count(0)

    # Accounting software > Connect > Connect next to Bill.com > the on-screen steps.
    page.get_by_role("button", name="Connect", exact=True).click()
    page.get_by_role("button", name="Connect Bill.com").click()
    expect(page.get_by_role("heading", name="Connect Bill.com")).to_be_visible()
    # While the sandbox is on, the form shows the sandbox sign-in meant for this account only.
    sandbox_sign_ins = page.get_by_label("Sandbox sign-ins")
    expect(sandbox_sign_ins).to_contain_text(f"{USERNAME} / {PASSWORD} / {ORGANISATION_ID}")
    expect(sandbox_sign_ins).not_to_contain_text("ap@globex.test")
    page.get_by_label("User name").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Organisation ID").fill(ORGANISATION_ID)
    page.get_by_role("button", name="Connect Bill.com").click()

    expect(page.get_by_role("status")).to_contain_text("Bill.com is connected")
    expect(_billcom_row(software)).to_contain_text(ORGANISATION)

    # Two integrations: the two dropdowns, with a preview before saving.
    publishing = page.get_by_label("Default publishing integration")
    expense_claims = page.get_by_label("Default expense claims integration")
    expect(publishing).to_have_value(
        page.locator("option", has_text="Xero (main)").first.get_attribute("value")
    )
    publishing.select_option(label="Bill.com")
    expect(page.locator("#defaults-preview")).to_contain_text("This change re-routes")
    expense_claims.select_option(label="Bill.com")
    with scopes_disabled():
        acme = Account.objects.get(slug="acme")
        billcom = Connection.objects.get(account=acme, provider="billcom")
        moved = default_change_impact(
            account=acme, publishing_id=billcom.pk, expense_claims_id=billcom.pk
        ).items
    assert moved > 0
    expect(page.locator("#defaults-preview")).to_contain_text(
        f"This change re-routes {moved} unpublished item{'s' if moved != 1 else ''}."
    )
    page.get_by_role("button", name="Save defaults").click()
    # The same number as the Preview.
    expect(page.get_by_role("status")).to_contain_text(
        f"Defaults saved. {moved} unpublished item{'s' if moved != 1 else ''} now "
        f"{'publish' if moved != 1 else 'publishes'} to Bill.com."
    )
    billcom_value = page.locator("#id_publishing option", has_text="Bill.com").get_attribute("value")
    expect(page.get_by_label("Default publishing integration")).to_have_value(billcom_value)
    expect(page.get_by_label("Default expense claims integration")).to_have_value(billcom_value)
    expect(page.get_by_role("region", name="Recent activity")).to_contain_text(
        "Changed the default expense claims integration"
    )

    # Xero first: unavailable, the row says why (tests/browser/test_disconnect_next_step.py follows it).
    xero_row = software.get_by_role("row").filter(has_text="Xero")
    expect(xero_row.get_by_role("button", name="Disconnect Xero")).to_be_disabled()
    expect(xero_row).to_contain_text("First disconnect Bill.com, then disconnect Xero.")

    # Bill.com, then Xero.
    _billcom_row(software).get_by_role("button", name="Disconnect Bill.com").click()
    expect(page.get_by_text("Default publishing integration falls back to Xero")).to_be_visible()
    expect(page.get_by_text("Published items keep the record of where they were published.")).to_be_visible()
    page.get_by_role("button", name="Disconnect Bill.com").click()
    expect(page.get_by_role("status")).to_contain_text("Bill.com is disconnected.")
    expect(_billcom_row(software)).to_have_count(0)
    expect(page.get_by_label("Default publishing integration")).to_have_count(0)

    # Reconnecting Bill.com gives it back the defaults that fell back, as the preview promised.
    page.get_by_role("button", name="Connect", exact=True).click()
    page.get_by_role("button", name="Connect Bill.com").click()
    page.get_by_label("User name").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Organisation ID").fill(ORGANISATION_ID)
    page.get_by_role("button", name="Connect Bill.com").click()
    expect(page.get_by_role("status")).to_contain_text("Bill.com is connected")
    # The confirmation itself says which defaults came back and how many items that moved.
    expect(page.get_by_role("status")).to_contain_text(
        "The Default publishing integration and Default expense claims integration are Bill.com again, "
        f"as before it was disconnected. {moved} unpublished item{'s' if moved != 1 else ''} now "
        f"{'publish' if moved != 1 else 'publishes'} to Bill.com."
    )
    expect(page.get_by_label("Default publishing integration")).to_have_value(billcom_value)
    expect(page.get_by_label("Default expense claims integration")).to_have_value(billcom_value)
    expect(page.get_by_role("region", name="Recent activity")).to_contain_text(
        "restored to Bill.com on reconnecting it"
    )
    _billcom_row(software).get_by_role("button", name="Disconnect Bill.com").click()
    page.get_by_role("button", name="Disconnect Bill.com").click()
    expect(page.get_by_role("status")).to_contain_text("Bill.com is disconnected.")

    page.get_by_role("button", name="Disconnect Xero").click()
    page.get_by_role("button", name="Disconnect Xero").click()
    expect(page.get_by_role("status")).to_contain_text("Xero is disconnected.")
    expect(page.get_by_text("No accounting software is connected yet.")).to_be_visible()

    # The activity log tells the story. (Seeing the refusal on the confirmation page is a GET and writes
    # nothing; a refused POST is logged, see tests/integrations/test_disconnect_pages.py.)
    page.get_by_role("navigation", name="Business settings").get_by_role("link", name="Activity").click()
    for line in (
        "Connected Bill.com",
        "Changed the default publishing integration",
        "Disconnected Bill.com",
        "Disconnected Xero",
    ):
        expect(page.get_by_role("cell", name=line).first).to_be_visible()

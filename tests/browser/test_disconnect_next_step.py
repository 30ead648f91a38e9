"""Dead ends become next steps (issue 12): with Bill.com connected beside Xero, Xero cannot be
disconnected. The Connections row and the refused confirmation both say why and lead straight to
Disconnect Bill.com; after it, Xero's Disconnect works. Acme's Admin, in real Chromium."""

from __future__ import annotations

import re

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from accounts.models import Account
from integrations import services
from integrations.models import Connection, ConnectionStatus
from sandbox.data import BILLCOM_USERS
from tests.browser.fixtures import sign_in

pytestmark = pytest.mark.browser

USERNAME, PASSWORD, ORGANISATION_ID, _ = next(u for u in BILLCOM_USERS if "Acme" in u[3])


@pytest.fixture
def acme_with_billcom(demo_data):
    """The demo's Acme (Xero, main) with Bill.com connected beside it, as the Connect form would."""
    with scopes_disabled():
        acme = Account.objects.get(slug="acme")
        xero = Connection.objects.get(account=acme, provider="xero")
        billcom = services.connect_billcom(
            account=acme,
            acting_user=acme.owner,
            username=USERNAME,
            password=PASSWORD,
            organisation_id=ORGANISATION_ID,
        )
    return acme, xero, billcom


def _others() -> list:
    with scopes_disabled():
        return sorted(Connection.objects.exclude(account__slug="acme").values_list("pk", "status"))


def _software(page):
    return page.get_by_role("table", name="Connected accounting software")


def test_the_refused_disconnect_page_leads_straight_to_the_right_disconnect(page, acme_with_billcom):
    _, xero, billcom = acme_with_billcom
    others_before = _others()
    sign_in(page, "admin@acme.test")
    # The refusal itself (a bookmarked or shared link to Xero's disconnect).
    page.goto(f"/a/acme/settings/connections/{xero.pk}/disconnect/")
    expect(page.get_by_role("alert")).to_have_text("First disconnect Bill.com, then disconnect Xero.")
    expect(page.get_by_role("button", name="Disconnect Xero")).to_have_count(0)
    page.get_by_role("link", name="Disconnect Bill.com").click()

    # Straight to Bill.com's confirmation, which says what it changes.
    expect(page).to_have_url(re.compile(rf"/connections/{billcom.pk}/disconnect/\??$"))
    expect(page.get_by_role("heading", name="Disconnect Bill.com")).to_be_visible()
    expect(page.get_by_text("Published items keep the record of where they were published.")).to_be_visible()
    page.get_by_role("button", name="Disconnect Bill.com").click()
    expect(page.get_by_role("status")).to_contain_text("Bill.com is disconnected.")

    # Now Xero's Disconnect is there, and works.
    xero_row = _software(page).get_by_role("row").filter(has_text="Xero")
    expect(xero_row).not_to_contain_text("First disconnect")
    xero_row.get_by_role("button", name="Disconnect Xero").click()
    page.get_by_role("button", name="Disconnect Xero").click()
    expect(page.get_by_role("status")).to_contain_text("Xero is disconnected.")
    with scopes_disabled():
        assert not Connection.objects.filter(account__slug="acme", status=ConnectionStatus.ACTIVE).exists()
    assert _others() == others_before  # the other accounts' connections are untouched


def test_the_xero_row_says_why_and_offers_disconnect_billcom_right_there(page, acme_with_billcom):
    _, xero, billcom = acme_with_billcom
    sign_in(page, "admin@acme.test")
    page.goto("/a/acme/settings/")  # Business settings opens on Connections
    expect(
        page.get_by_role("navigation", name="Business settings").get_by_role("link", name="Connections")
    ).to_have_attribute("aria-current", "page")
    xero_row = _software(page).get_by_role("row").filter(has_text="Xero")
    disconnect_xero = xero_row.get_by_role("button", name="Disconnect Xero")
    expect(disconnect_xero).to_be_disabled()
    expect(disconnect_xero).to_have_accessible_description("First disconnect Bill.com, then disconnect Xero.")
    xero_row.get_by_role("button", name="Disconnect Bill.com").click()
    expect(page).to_have_url(re.compile(rf"/connections/{billcom.pk}/disconnect/\??$"))
    expect(page.get_by_role("heading", name="Disconnect Bill.com")).to_be_visible()

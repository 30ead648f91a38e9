"""An Admin sets up QuickBooks Desktop and the sandbox's Web Connector connects it."""

import re

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from integrations.models import Connection
from tests.browser.fixtures import sign_in

pytestmark = pytest.mark.browser


def test_admin_connects_quickbooks_desktop_through_the_web_connector(page, demo_data):
    sign_in(page, "admin@initech.test")
    page.goto("/a/initech/settings/connections/")
    page.get_by_role("button", name="Connect", exact=True).click()
    page.get_by_role("button", name="Connect QuickBooks Desktop").click()
    page.get_by_role("button", name="Set up QuickBooks Desktop").click()

    expect(page.get_by_text("Waiting for the Web Connector")).to_be_visible()
    expect(page.get_by_text("Copy it now: it is shown only once.")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the Web Connector file").click()
    assert download.value.suggested_filename == "dext-connect-initech.qwc"

    page.get_by_role("button", name="Run the Web Connector").click()

    # Straight back to the set-up page with what happened; the company file is Initech's own.
    expect(page).to_have_url(re.compile(r"/a/initech/settings/connections/connect/qbd/$"))
    expect(page.get_by_role("status")).to_contain_text(
        "The Web Connector connected QuickBooks Desktop (Initech company file)."
    )
    expect(page.get_by_text("QuickBooks Desktop is connected (Initech company file)")).to_be_visible()
    expect(page.get_by_text("Copy it now")).to_have_count(0)  # the password was shown once
    page.reload()  # a reload is the set-up page again, not a blank 405
    expect(page.get_by_text("QuickBooks Desktop is connected (Initech company file)")).to_be_visible()

    # The activity log names the same company file.
    page.get_by_role("link", name="Back to Connections").click()
    expect(page.get_by_role("region", name="Recent activity")).to_contain_text(
        "QuickBooks Desktop reported its organisation: Initech company file"
    )

    # The sandbox page lists Initech's company file and the Web Connector's SOAP calls.
    page.goto("/sandbox/")
    expect(page.get_by_role("table", name="Organisations")).to_contain_text("Initech company file")
    expect(page.get_by_role("table", name="Requests received")).to_contain_text(
        "sent authenticate; our service answered: ticket issued"
    )
    assert page.goto("/sandbox/webconnector/run/").url.endswith("/sandbox/")
    with scopes_disabled():
        conn = Connection.objects.get(account__slug="initech")
        assert (conn.provider, conn.status) == ("qbd", "active")


def test_admin_cancels_a_set_up_the_web_connector_never_finished(page, demo_data):
    sign_in(page, "admin@initech.test")
    page.goto("/a/initech/settings/connections/connect/qbd/")
    page.get_by_role("button", name="Set up QuickBooks Desktop").click()
    expect(page.get_by_text("Waiting for the Web Connector")).to_be_visible()

    page.get_by_role("link", name="Back to Connections").click()
    table = page.get_by_role("table", name="Connected accounting software")
    row = table.get_by_role("row").filter(has_text="QuickBooks Desktop")
    expect(row).to_contain_text("Waiting to finish connecting")
    row.get_by_role("button", name="Cancel connecting QuickBooks Desktop").click()

    expect(page.get_by_role("status")).to_contain_text("Stopped connecting QuickBooks Desktop.")
    expect(page.get_by_text("No accounting software is connected yet.")).to_be_visible()
    expect(page.get_by_role("region", name="Recent activity")).to_contain_text(
        "Cancelled connecting QuickBooks Desktop"
    )
    expect(page.get_by_role("region", name="Recent activity")).to_contain_text(
        "Generated the QuickBooks Desktop Web Connector password"
    )
    with scopes_disabled():
        assert not Connection.objects.filter(account__slug="initech").exists()


def test_the_web_connector_refuses_another_clients_company_file(page, demo_data):
    sign_in(page, "admin@initech.test")
    page.goto("/a/initech/settings/connections/connect/qbd/")
    page.get_by_role("button", name="Set up QuickBooks Desktop").click()
    password = page.get_by_test_id("qbwc-password").inner_text()

    page.get_by_label("Company file open in QuickBooks").select_option(label="Another client's company file")
    page.get_by_role("button", name="Run the Web Connector").click()

    # Back on the set-up page, which says what went wrong and what to do; nothing was recorded.
    expect(page).to_have_url(re.compile(r"/a/initech/settings/connections/connect/qbd/$"))
    problem = page.get_by_test_id("qbwc-problem")
    expect(problem).to_contain_text("The Web Connector's last run stopped:")
    expect(problem).to_contain_text("is not the one Dext Connect was added to in the Web Connector")
    expect(problem).to_contain_text("Open that company file in QuickBooks and run the Web Connector again.")
    with scopes_disabled():
        conn = Connection.objects.get(account__slug="initech")
        assert (conn.external_id, conn.external_name) == ("", "")

    # With Initech's own company file open, the same password connects it and the problem is gone.
    page.get_by_label("Web Connector password").fill(password)
    page.get_by_role("button", name="Run the Web Connector").click()
    expect(page.get_by_text("QuickBooks Desktop is connected (Initech company file)")).to_be_visible()
    expect(page.get_by_test_id("qbwc-problem")).to_have_count(0)

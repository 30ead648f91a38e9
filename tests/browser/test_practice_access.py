"""The client sees which practice can open its account, and its Admin ends that access."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.fixtures import sign_in

pytestmark = pytest.mark.browser


def test_client_admin_ends_the_practices_access(page, demo_data):
    sign_in(page, "admin@acme.test")
    page.goto("/a/acme/settings/users/")
    expect(page.get_by_role("heading", name="Accountants and bookkeepers")).to_be_visible()
    practice = page.get_by_role("region", name="Ledger & Co")
    expect(
        practice.get_by_role("row", name=re.compile(r"partner@ledger\.test.*Practice admin"))
    ).to_be_visible()
    expect(
        practice.get_by_role("row", name=re.compile(r"bookkeeper@ledger\.test.*Bookkeeper"))
    ).to_be_visible()

    practice.get_by_role("button", name="End access for Ledger & Co…").click()
    expect(page.get_by_role("heading", name="End access for Ledger & Co")).to_be_visible()
    expect(
        page.get_by_text("bookkeeper@ledger.test (Bookkeeper) can no longer open Acme Ltd.")
    ).to_be_visible()
    page.get_by_role("button", name="End access for Ledger & Co").click()

    expect(page.get_by_text("Ledger & Co can no longer open Acme Ltd.")).to_be_visible()
    expect(page.get_by_text("No accountant or bookkeeping practice can open Acme Ltd.")).to_be_visible()
    page.get_by_role("link", name="Activity").click()
    expect(page.get_by_text("Ended access for Ledger & Co (practice)")).to_be_visible()

    # The bookkeeper is out of Acme, and Acme has left their switcher; Globex is untouched.
    page.context.clear_cookies()
    sign_in(page, "bookkeeper@ledger.test")
    assert page.goto("/a/acme/").status == 404
    page.goto("/switch/")
    results = page.get_by_role("list", name="Accounts")
    expect(results.get_by_role("link", name="Globex Inc")).to_be_visible()
    expect(results.get_by_role("link", name="Acme Ltd")).to_have_count(0)


def test_a_practice_user_is_not_offered_end_access(page, demo_data):
    sign_in(page, "partner@ledger.test")
    page.goto("/a/acme/settings/users/")
    expect(page.get_by_role("region", name="Ledger & Co")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("End access"))).to_have_count(0)
    expect(page.get_by_text("Only Admins of Acme Ltd can end a practice's access.")).to_be_visible()

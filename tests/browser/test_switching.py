"""Journeys in real Chromium, by the words on the screen."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.fixtures import sign_in

pytestmark = pytest.mark.browser


def test_bookkeeper_switches_from_acme_to_globex_and_never_sees_initech(page, demo_data):
    sign_in(page, "bookkeeper@ledger.test")
    page.goto("/switch/")
    results = page.get_by_role("list", name="Accounts")
    expect(results.get_by_role("link", name="Acme Ltd")).to_be_visible()
    expect(results.get_by_role("link", name="Initech")).to_have_count(0)
    results.get_by_role("link", name="Acme Ltd").click()
    expect(page.get_by_role("heading", name="Acme Ltd")).to_be_visible()

    # The top bar's switcher: a dropdown with search.
    page.get_by_role("button", name=re.compile("^Switch account")).click()
    page.get_by_label("Find an account").fill("glo")
    options = page.locator("#switcher-options").get_by_role("link")
    expect(options).to_have_count(1)
    options.get_by_text("Globex Inc").click()
    expect(page).to_have_url(re.compile(r"/a/globex/$"))
    expect(page.get_by_role("heading", name="Globex Inc")).to_be_visible()

    page.get_by_role("button", name=re.compile("^Switch account")).click()
    page.get_by_label("Find an account").fill("Initech")
    expect(page.locator("#switcher-options").get_by_text("No account matches")).to_be_visible()
    assert page.goto("/a/initech/").status == 404


def test_staff_sees_no_user_controls(page, demo_data):
    sign_in(page, "staff@acme.test")
    expect(page.get_by_role("heading", name="Acme Ltd")).to_be_visible()
    page.get_by_role("link", name="Business settings").first.click()
    page.get_by_role("link", name="Users").click()
    expect(page.get_by_text("admin@acme.test")).to_be_visible()
    expect(page.get_by_role("button", name="Send invitation")).to_have_count(0)
    expect(page.get_by_role("button", name="Remove")).to_have_count(0)
    expect(page.get_by_text("Only Admins can add, change or remove users.")).to_be_visible()


def test_admin_adds_a_user(page, demo_data):
    sign_in(page, "admin@acme.test")
    page.goto("/a/acme/settings/users/")
    page.get_by_label("E-mail").fill("newhire@acme.test")
    page.get_by_label("Role", exact=True).select_option("standard")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".message.success")).to_have_text(
        "We sent an invitation to newhire@acme.test. They join Acme Ltd when they accept it."
    )
    expect(page.get_by_role("row", name=re.compile("newhire@acme.test"))).to_contain_text("Invited")

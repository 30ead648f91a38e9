"""Xero through the sandbox in real Chromium: choosing the organisation, and reconnecting after the
access was revoked in Xero (the connection keeps its row and settings)."""

import io
import re

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from integrations.models import Connection
from tests.browser.fixtures import sandbox_login_shown, sign_in, sign_in_at_provider

pytestmark = pytest.mark.browser


def test_admin_connects_xero_and_chooses_the_organisation(page, demo_data):
    sign_in(page, "admin@globex.test")
    page.goto("/a/globex/settings/connections/")
    page.get_by_role("button", name="Connect", exact=True).click()
    page.get_by_role("button", name="Connect Xero").click()
    # While the sandbox plays Xero, the page shows the Xero login meant for Globex, and only that one.
    email, password = sandbox_login_shown(page)
    assert email == "xero@globex.test"
    expect(page.get_by_label("Sandbox sign-ins")).not_to_contain_text("xero@acme.test")
    page.get_by_role("button", name="Continue to Xero").click()

    # Xero's sign-in first, then the consent lists that login's organisations only.
    expect(page.get_by_role("heading", name="Sign in to Xero")).to_be_visible()
    sign_in_at_provider(page, email, password)
    expect(page.get_by_text("Signed in as xero@globex.test")).to_be_visible()
    expect(page.get_by_label("Acme Ltd (Demo)")).to_have_count(0)  # another tenant's organisation
    page.get_by_label("Globex Holdings (Demo)").check()  # both of this login's organisations shared
    page.get_by_role("button", name="Allow access").click()

    expect(page.get_by_role("heading", name="Choose the Xero organisation")).to_be_visible()
    page.get_by_label("Globex Holdings (Demo)").check()
    page.get_by_role("button", name="Connect this organisation").click()

    expect(page).to_have_url(re.compile(r"/a/globex/settings/connections/$"))
    expect(page.get_by_text("Xero is connected – Globex Holdings (Demo).")).to_be_visible()
    with scopes_disabled():
        conn = Connection.objects.get(account__slug="globex")
        assert (conn.provider, conn.status, conn.external_name) == (
            "xero",
            "active",
            "Globex Holdings (Demo)",
        )


def test_admin_reconnects_xero_after_its_access_was_revoked(page, demo_data):
    with scopes_disabled():
        before = Connection.objects.get(account__slug="acme", provider="xero")
    # In Xero, someone removes Dext Connect from the organisation's connected apps. The sandbox page
    # lists the organisations of the signed-in user's accounts only.
    sign_in(page, "admin@acme.test")
    page.goto("/sandbox/")
    expect(page.get_by_role("table", name="Bill.com users")).to_contain_text("accounts@acme.test")
    expect(page.get_by_role("table", name="Bill.com users")).not_to_contain_text("ap@globex.test")
    page.get_by_role("button", name="Revoke Dext Connect's access to Acme Ltd (Demo)").click()
    out = io.StringIO()
    call_command("refresh_tokens", "--force", stdout=out)
    assert "Reconnect Xero" in out.getvalue()

    page.goto("/a/acme/settings/connections/")
    table = page.get_by_role("table", name="Connected accounting software")
    expect(table.get_by_text("Needs reconnecting", exact=True)).to_be_visible()
    page.get_by_role("button", name="Reconnect Xero").click()
    email, password = sandbox_login_shown(page)
    page.get_by_role("button", name="Continue to Xero").click()
    sign_in_at_provider(page, email, password)
    page.get_by_role("button", name="Allow access").click()  # Acme Ltd (Demo), its only one, is ticked

    expect(page.get_by_text("Xero is connected – Acme Ltd (Demo).")).to_be_visible()
    expect(table.get_by_text("Needs reconnecting", exact=True)).to_have_count(0)
    expect(table.get_by_text("Active", exact=True)).to_be_visible()
    with scopes_disabled():
        after = Connection.objects.get(account__slug="acme", provider="xero")
    assert (after.pk, after.status, after.options) == (before.pk, "active", before.options)

"""Business settings > Connections > Payment accounts in real Chromium, by the words on the screen and
with the keyboard: an Admin of Globex (QuickBooks Online connected, its lists read: two Bank accounts,
one Credit Card) follows the link on the connection's row, chooses the account bank payments are paid
from, and stays on the page with the confirmation; on a phone (390 px) nothing scrolls sideways. Every
page visited is axe-checked (tests/browser/axe.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from accounts.models import Account
from integrations.models import Connection, ListEntry, ListSync, ListSyncState
from tests.browser.fixtures import sign_in
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.browser


def _overflow(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_an_admin_chooses_the_bank_account_with_the_keyboard(page, demo_data):
    with scopes_disabled():
        globex = Account.objects.get(slug="globex")
        qbo = ConnectionFactory(account=globex, provider="qbo", is_main=True, external_name="Globex Trading")
        ListSync.objects.create(
            account=globex, connection=qbo, state=ListSyncState.DONE,
            last_success_at=datetime(2026, 12, 2, 9, 14, tzinfo=UTC),
        )  # fmt: skip
        for external_id, name, detail in (("35", "Checking", "Bank"), ("36", "Savings", "Bank"),
                                          ("41", "Mastercard", "Credit Card")):  # fmt: skip
            ListEntry.objects.create(
                account=globex, connection=qbo, kind="account", external_id=external_id, name=name,
                detail=detail, for_costs=False, for_sales=False,
            )  # fmt: skip
    sign_in(page, "admin@globex.test")
    page.goto("/a/globex/settings/connections/")
    row = (
        page.get_by_role("table", name="Connected accounting software")
        .get_by_role("row")
        .filter(has_text="QuickBooks Online")
    )
    row.get_by_role("link", name="Payment accounts of QuickBooks Online").click()

    expect(page.get_by_role("heading", name="Payment accounts: QuickBooks Online")).to_be_visible()
    expect(page.get_by_text("Only one account: Mastercard, used automatically.")).to_be_visible()
    bank = page.get_by_label("Bank account for bank payments")
    expect(bank).to_have_value("")  # "Choose…"
    bank.focus()
    bank.select_option(label="Savings")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Save the account for bank payments")).to_be_focused()
    page.keyboard.press("Enter")

    expect(
        page.get_by_text("Bank payments are now recorded in QuickBooks Online as paid from Savings.")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Payment accounts: QuickBooks Online")).to_be_visible()
    with scopes_disabled():
        savings = ListEntry.objects.get(connection=qbo, external_id="36")
        assert Connection.objects.get(pk=qbo.pk).options["payment_accounts"]["cash"] == "36"
    expect(page.get_by_label("Bank account for bank payments")).to_have_value(str(savings.pk))

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert _overflow(page) <= 0

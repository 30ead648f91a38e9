"""A connection's lists on Business settings > Connections, in real Chromium: Refresh lists shows the read
waiting, then reading, then when it finished, without reloading the page; on a phone (390 px) the page
never scrolls sideways. The read is served by a provider registered for the test (Test Books, whose
pages the test sets), run by the task worker as `make run` runs it."""

from __future__ import annotations

import os
import re

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from accounts.models import Account
from integrations.models import ListEntry, ListSync
from tests.browser.fixtures import sign_in
from tests.integrations.lists_helpers import BooksLists, account_, books_connection, full

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("books")]


def _overflow(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")


def _run_the_worker() -> None:
    call_command(
        "db_worker",
        "--batch",
        "--no-startup-delay",
        "--interval",
        "0",
        "--no-reload",
        stdout=open(os.devnull, "w"),
    )


def test_refresh_lists_shows_its_progress_and_when_it_finished_without_a_reload(page, demo_data):
    with scopes_disabled():
        globex = Account.objects.get(slug="globex")
        connection = books_connection(globex, external_name="Globex Books")
    BooksLists.pages = {"account": full(account_("429", "General Expenses"), account_("461", "Printing"))}
    sign_in(page, "admin@globex.test")
    page.goto("/a/globex/settings/connections/")
    row = (
        page.get_by_role("table", name="Connected accounting software")
        .get_by_role("row")
        .filter(has_text="Test Books")
    )
    expect(row).to_contain_text("Not read yet")
    page.evaluate("() => { window.notReloaded = true; }")

    row.get_by_role("button", name="Refresh lists of Test Books").click()
    expect(row).to_contain_text("Waiting to be read")
    expect(row.get_by_role("button", name=re.compile("Refresh lists"))).to_have_count(0)

    # Hold the read half-way: the page, polling by itself, shows what has been read so far.
    BooksLists.on_page = lambda kind, n: page_seen_reading(kind, n)
    seen: list[str] = []

    def page_seen_reading(kind, n):
        if kind == "tax_rate" and not seen:
            expect(row).to_contain_text("Chart of accounts: 2 read", timeout=15_000)
            seen.append(row.inner_text())

    _run_the_worker()
    assert seen and "Reading the lists" in seen[0] and "Suppliers: waiting" in seen[0]
    expect(row).to_contain_text(re.compile(r"Lists last read \d{1,2} \w{3} \d{4} at \d{2}:\d{2}"))
    expect(row.get_by_role("button", name="Refresh lists of Test Books")).to_be_visible()
    assert page.evaluate("() => window.notReloaded") is True
    with scopes_disabled():
        assert ListEntry.objects.filter(connection=connection, kind="account").count() == 2


def test_the_connections_page_fits_a_phone(page, demo_data):
    with scopes_disabled():
        xero = Account.objects.get(slug="acme").connections.get(provider="xero")
        ListSync.objects.filter(connection=xero).update(
            state="failed",
            message="Could not read the tax rates from Xero: Xero is not answering (HTTP 503). Try again "
            "later. The lists read on 2 Dec 2026 at 09:14 are kept.",
        )
    sign_in(page, "admin@acme.test")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/a/acme/settings/connections/")
    expect(page.get_by_text("Could not read the tax rates from Xero")).to_be_visible()
    refresh = page.get_by_role("button", name="Refresh lists of Xero")
    expect(refresh).to_be_visible()
    expect(page.get_by_role("button", name="Disconnect Xero")).to_be_visible()
    assert _overflow(page) == 0
    box = refresh.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    refresh.click()
    expect(page.get_by_text("Waiting to be read")).to_be_visible()
    assert _overflow(page) == 0

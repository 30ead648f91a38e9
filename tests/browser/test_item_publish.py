"""Publishing from the Item details page, in real Chromium (issue 10): Acme's Admin publishes a Ready
bill; the page says "Publishing to Xero…" and, polling by itself, shows it Published with Xero's id and
a link, without a reload, while the bill arrives in the Xero sandbox. A bill Xero refuses shows a banner
at the top with Xero's own words and Retry; the Admin fixes the Category, saves (staying on the page),
selects Retry and watches it publish. The task worker runs as `make run` runs it (db_worker)."""

from __future__ import annotations

import os
import re

import pytest
import stamina
from django.core.management import call_command
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from accounts.models import Account
from costs import publishing
from costs.models import Item, ItemStatus
from tests.browser.fixtures import sign_in

pytestmark = pytest.mark.browser

OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture(autouse=True)
def _no_backoff_waits():
    with stamina.set_testing(True, attempts=publishing.IN_CALL_ATTEMPTS):
        yield


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


def _acme_ready_bill(exclude: tuple[int, ...] = ()) -> tuple[Item, object]:
    with scopes_disabled():
        acme = Account.objects.get(slug="acme")
        xero = acme.connections.get(provider="xero")
        item = (
            Item.objects.filter(
                account=acme, status=ItemStatus.READY, type="bill", category_entry__isnull=False
            )
            .exclude(pk__in=exclude)
            .order_by("pk")
            .first()
        )
        return item, xero


def _bills_in_xero(xero, number: str) -> int:
    from sandbox.models import SandboxBill

    return SandboxBill.objects.filter(provider="xero", org_id=xero.external_id, number=number).count()


def test_acme_admin_publishes_a_ready_item_from_its_page(page, demo_data):
    item, xero = _acme_ready_bill()
    sign_in(page, "admin@acme.test")
    page.goto(f"/a/acme/costs/{item.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Item details {item.reference}")
    state = page.locator("#item-state")
    expect(state).to_contain_text("Ready")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate(OVERFLOW) <= 0  # a phone: nothing scrolls sideways
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Publish", exact=True).click()
    expect(state).to_contain_text("Publishing to Xero…")
    expect(page.get_by_role("button", name="Cancel publishing")).to_be_visible()
    page.evaluate("() => { window.notReloaded = true; }")
    assert _bills_in_xero(xero, item.reference) == 0  # nothing is sent until the worker runs

    _run_the_worker()
    expect(state).to_have_attribute("data-item-state", "published", timeout=15_000)
    expect(state).to_contain_text("Published to Xero")
    with scopes_disabled():
        item.refresh_from_db()
    link = state.get_by_role("link", name=re.compile(re.escape(item.external_id)))
    expect(link).to_have_attribute("href", item.published_url)
    when = r"When\s*(now|an? (second|minute) ago|\d+\s(seconds|minutes) ago)"
    when += r" \(\d{1,2} \w{3} \d{4}, \d{2}:\d{2}\)"
    expect(state).to_contain_text(re.compile(when))
    # The fields became read-only values, in place.
    expect(page.locator("#item-form")).to_have_count(0)
    expect(page.locator("[data-readonly]")).to_contain_text(item.reference)
    assert page.evaluate("() => window.notReloaded") is True
    assert _bills_in_xero(xero, item.reference) == 1

    # On a phone the page never scrolls sideways (the long id wraps).
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(state).to_contain_text("Published to Xero")
    assert page.evaluate(OVERFLOW) <= 0


def test_a_refused_item_explains_itself_and_publishes_after_a_fix_and_retry(page, demo_data):
    from tests.integrations.publishing_helpers import our_entry

    item, xero = _acme_ready_bill()
    with scopes_disabled():
        # An account deleted in Xero since the last read of its lists: Xero refuses the bill.
        stale = our_entry(xero, "account", "General Expenses", code="999")
        Item.objects.filter(pk=item.pk).update(category_entry=stale, category=stale.name)
    sign_in(page, "admin@acme.test")
    page.goto(f"/a/acme/costs/{item.pk}/")
    page.get_by_role("button", name="Publish", exact=True).click()
    page.evaluate("() => { window.notReloaded = true; }")
    _run_the_worker()

    banner = page.get_by_role("alert").filter(has_text="Xero refused this item")
    expect(banner).to_be_visible(timeout=15_000)
    expect(banner).to_contain_text("Account code '999' is not a valid code for this document.")
    expect(banner).to_contain_text("What to do:")
    expect(banner.get_by_role("button", name="Retry")).to_be_visible()
    assert page.evaluate("() => window.notReloaded") is True
    assert _bills_in_xero(xero, item.reference) == 0

    # Fix the Category (now editable again, without a reload), save: the page stays, the banner too.
    category = page.get_by_role("combobox", name="Category")
    category.fill("429")
    page.get_by_role("listbox", name="Category").get_by_role("option").filter(
        has_text="429 · General Expenses"
    ).first.click()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Item details")
    expect(banner).to_be_visible()

    banner.get_by_role("button", name="Retry").click()
    state = page.locator("#item-state")
    expect(state).to_contain_text("Publishing to Xero…")
    _run_the_worker()
    expect(state).to_have_attribute("data-item-state", "published", timeout=15_000)
    expect(page.get_by_role("alert").filter(has_text="refused")).to_have_count(0)
    assert _bills_in_xero(xero, item.reference) == 1

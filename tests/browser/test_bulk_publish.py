"""Bulk Publish in real Chromium, the whole path (issue 10's "Done when"): Acme's Admin, in the demo's
world, connects Bill.com, sends some Ready bills to it with the bulk Integration change, selects ten
Ready bills split between Xero and Bill.com and selects Publish. Without a reload the page shows the
counts, then each row's result, as the task worker (`manage.py db_worker`, as `make run` runs it)
publishes them to the sandbox over HTTP; then `/sandbox/` lists each bill under the software its
effective integration named."""

from __future__ import annotations

import os
import re

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from accounts.models import Account
from costs.models import Item, ItemStatus, PublishAttempt
from sandbox.data import BILLCOM_USERS
from tests.browser.fixtures import sign_in

pytestmark = pytest.mark.browser

USERNAME, PASSWORD, ORGANISATION_ID, _ = next(u for u in BILLCOM_USERS if "Acme" in u[3])


def _run_the_worker() -> None:
    """What `make run`'s worker does until nothing is due (its --batch mode): the same tasks, the same
    code, against the sandbox served by live_server."""
    call_command(
        "db_worker",
        "--batch",
        "--no-startup-delay",
        "--interval",
        "0",
        "--no-reload",
        stdout=open(os.devnull, "w"),
    )


def _connect_billcom(page) -> None:
    page.goto("/a/acme/settings/connections/")
    page.get_by_role("button", name="Connect", exact=True).click()
    page.get_by_role("button", name="Connect Bill.com").click()
    page.get_by_label("User name").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Organisation ID").fill(ORGANISATION_ID)
    page.get_by_role("button", name="Connect Bill.com").click()
    expect(page.get_by_role("status")).to_contain_text("Bill.com is connected")


def _rows(page):
    return page.locator("table.inbox tbody tr")


def _reference(row) -> str:
    return row.locator("td.reference").inner_text().strip()


def test_admin_bulk_publishes_ten_items_split_between_xero_and_billcom(page, demo_data):
    sign_in(page, "admin@acme.test")
    _connect_billcom(page)
    _run_the_worker()  # reads Bill.com's lists, as after any connect

    # Ready bills only (filters apply on change; the tabs count per status).
    page.goto("/a/acme/costs/")
    page.get_by_label("Type").select_option(label="Bill / invoice")
    expect(page).to_have_url(re.compile("type=bill"))
    page.get_by_role("navigation", name="Status").get_by_role("link", name=re.compile(r"^Ready \d+")).click()
    expect(page).to_have_url(re.compile("status=ready"))
    rows = _rows(page)
    expect(rows.nth(9)).to_be_visible()

    # Five of them to Bill.com with the bulk Integration change.
    for n in range(5):
        rows.nth(n).get_by_role("checkbox").check()
    expect(page.locator("[data-selected-count]")).to_have_text("5 selected")
    page.get_by_label("New integration").select_option(label="Bill.com")
    page.get_by_role("button", name="Change integration").click()
    expect(page.get_by_role("status").first).to_contain_text("5 items now use Bill.com.")

    # Ten Ready bills, five to each: where each goes is what its row says.
    expected: dict[str, str] = {}
    for n in range(10):
        row = rows.nth(n)
        expect(row.locator("[data-status]")).to_have_text("Ready")
        target = row.locator("td.integration").inner_text().split("\n")[0].strip()
        expected[_reference(row)] = target
        row.get_by_role("checkbox").check()
    assert sorted(expected.values()) == ["Bill.com"] * 5 + ["Xero"] * 5
    expect(page.locator("[data-selected-count]")).to_have_text("10 selected")
    page.evaluate("() => { window.notReloaded = true; }")

    page.get_by_role("button", name="Publish", exact=True).click()
    progress = page.locator("#publish-progress")
    expect(progress.get_by_role("status")).to_have_text("10 queued · 0 published · 0 failed")
    for reference in expected:
        expect(page.locator("tr", has_text=reference).locator("[data-status]")).to_have_text("Publishing")
        expect(page.locator("tr", has_text=reference).get_by_role("checkbox")).to_have_count(0)

    _run_the_worker()  # the publish tasks, against the sandbox over HTTP

    expect(progress.get_by_role("status")).to_have_text("0 queued · 10 published · 0 failed — done.")
    for reference, target in expected.items():
        expect(
            progress.get_by_role("listitem").filter(has_text=f" {reference} → {target}: Published")
        ).to_have_count(1)
        expect(page.locator("tr", has_text=reference).locator("[data-status]")).to_have_text("Published")
    assert page.evaluate("() => window.notReloaded") is True
    with scopes_disabled():
        acme = Account.objects.get(slug="acme")
        published = Item.objects.filter(account=acme, reference__in=list(expected))
        assert {i.reference: i.published_to.label for i in published} == expected
        assert {i.status for i in published} == {ItemStatus.PUBLISHED}
        assert PublishAttempt.objects.filter(account=acme).count() == 10
        xero_org = acme.connections.get(provider="xero").external_id

    # The sandbox received each bill where its effective integration said.
    page.goto("/sandbox/")
    by_software = {"Xero": xero_org, "Bill.com": ORGANISATION_ID}
    for reference, target in expected.items():
        table = page.get_by_role("table", name=f"Bills received by {by_software[target]}")
        expect(table.get_by_role("row").filter(has_text=reference)).to_have_count(1)
        other = next(org for name, org in by_software.items() if name != target)
        expect(
            page.get_by_role("table", name=f"Bills received by {other}")
            .get_by_role("row")
            .filter(has_text=reference)
        ).to_have_count(0)

"""The demo (DEBUG on) shows the product's own error pages, with no console error: the staff 403
names the account's Admins, an unknown page is the branded 404, and the sandbox has a favicon."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.fixtures import sign_in

pytestmark = pytest.mark.browser


def _watch_console(page) -> list[str]:
    """Console errors and failed sub-resources (icons, styles, scripts). The error documents this test
    opens on purpose are left out: Chromium logs "Failed to load resource" for any 403 or 404 page."""
    problems: list[str] = []
    documents: set[str] = set()

    def on_response(response):
        if response.request.resource_type == "document":
            documents.add(response.url)
        elif response.status >= 400:
            problems.append(f"{response.status} {response.url}")

    def on_console(message):
        if message.type == "error" and message.location.get("url") not in documents:
            problems.append(message.text)

    page.on("response", on_response)
    page.on("console", on_console)
    return problems


def test_demo_error_pages_are_the_products(page, demo_data, settings):
    settings.DEBUG = True  # as `make run` serves the demo
    problems = _watch_console(page)
    sign_in(page, "staff@acme.test")

    response = page.goto("/a/acme/settings/activity/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="You can’t do that here")).to_be_visible()
    expect(page.get_by_text("Ask an Admin of Acme Ltd: admin@acme.test")).to_be_visible()
    expect(page.get_by_role("link", name="admin@acme.test")).to_have_attribute(
        "href", "mailto:admin@acme.test"
    )

    response = page.goto("/a/acme/no-such-page/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_text("Using the URLconf")).to_have_count(0)
    # Another account's page is the same 404, naming nothing of it.
    response = page.goto("/a/globex/costs/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_text("Globex")).to_have_count(0)

    page.goto("/sandbox/")
    page.wait_for_load_state("load")
    assert page.locator("link[rel=icon]").count() == 1
    page.goto("/favicon.ico")
    assert problems == []

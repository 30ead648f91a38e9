"""Browser-test fixtures: Debian's Chromium driven by Playwright for Python, against live_server.

`playwright install` cannot download here, so we launch the system Chromium by path. Without it the
browser tests skip with the reason, and CI (FAIL_ON_SKIP=1, which installs Chromium first) fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from django.core.management import call_command

from tests.browser.axe import CheckedBrowser, install_action_hooks

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def chromium_path() -> str | None:
    return (
        os.environ.get("CHROMIUM_PATH")
        or shutil.which("chromium")
        or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    )


@pytest.fixture(scope="session")
def _playwright_browser() -> Iterator:
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it.")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the test
    # itself would otherwise be refused as "async unsafe". Browser tests only.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        install_action_hooks()
        yield CheckedBrowser(browser)
        browser.close()


@pytest.fixture(autouse=True)
def _axe_every_page(request):
    """Fails a browser test whose pages have a serious or critical axe-core violation (tests/browser/
    axe.py). Autouse and set up before `page`, so it is torn down after every context has closed."""
    yield
    if "_playwright_browser" not in request.fixturenames:
        return
    watch = request.getfixturevalue("_playwright_browser").finish_test()
    if watch is not None:
        watch.assert_clean()


@pytest.fixture
def page(_playwright_browser, live_server):
    context = _playwright_browser.new_context(base_url=live_server.url)
    context.set_default_timeout(15_000)
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def demo_data(transactional_db, live_server, settings):
    """The README's demo data, served by live_server (the sandbox lives on the same server)."""
    settings.SITE_URL = live_server.url
    settings.SANDBOX_BASE_URL = f"{live_server.url}/sandbox"
    call_command("seed_demo", stdout=open(os.devnull, "w"))


def sign_in(page, email: str, password: str = "demo-pass-2026") -> None:
    page.goto("/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("domcontentloaded")


def sandbox_login_shown(page) -> tuple[str, str]:
    """The sandbox provider login a connect page shows for its account ("email / password")."""
    shown = page.get_by_label("Sandbox sign-ins").get_by_role("listitem").first.inner_text()
    email, password = (part.strip() for part in shown.split(" / "))
    return email, password


def sign_in_at_provider(page, email: str, password: str) -> None:
    """The sandbox provider's sign-in page (Xero's, Intuit's, ApprovalMax's), before its consent."""
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()

"""The walker: every page each of the six demo users can reach, at 390 px and 1280 px.

On every page: no sideways scroll (the document is never wider than the window), no console error,
and no serious or critical axe-core violation (the autouse axe hook of tests/browser/axe.py checks
each page before the next goto; the test asserts it checked every page it walked).

The pages are discovered, not listed: from the account switcher and each account's home, the walker
follows the links and GET forms (Connect, Disconnect…) of each page it reaches, staying inside the
product (no sign-out, no downloads, no other site). Pages of one shape (one item page of many, one
supplier rule of many) are visited once per account. The error pages are added: an unknown page
(404) for everyone and, for the Standard user, a page only Admins may open (403). The world is the
demo's (`seed_demo`), with Bill.com connected to Acme beside Xero through its sign-in form, so the
Costs inbox has its Integration column and Connections its refused disconnect and defaults.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from sandbox.data import BILLCOM_USERS
from tests.browser.fixtures import sign_in

pytestmark = pytest.mark.browser

USERS = (
    "admin@acme.test",
    "staff@acme.test",
    "admin@globex.test",
    "admin@initech.test",
    "partner@ledger.test",
    "bookkeeper@ledger.test",
)
# WALKER_USERS=staff@acme.test,… walks only those (to look into one user's pages); CI walks all six.
USERS = tuple(u for u in os.environ.get("WALKER_USERS", ",".join(USERS)).split(",") if u)
WIDTHS = (1280, 390)
# Never followed: signing out, files, the Django admin, the sandbox's provider APIs, the lists' JSON.
SKIP = re.compile(r"^/(logout/|admin/|connect/callback/|qbwc/)|\.qwc$|/choose/|/lists/$")
# Reached by the walk but also named, so a broken link cannot shrink the walk unnoticed.
EXPECTED = {
    "admin@acme.test": [
        "/a/acme/costs/",
        "/a/acme/costs/N/",
        "/a/acme/sales/",
        "/a/acme/sales/N/",
        "/a/acme/rules/",
        "/a/acme/rules/new/",
        "/a/acme/rules/N/",
        "/a/acme/settings/connections/",
        "/a/acme/settings/connections/connect/",
        "/a/acme/settings/connections/connect/approvalmax/",
        "/a/acme/settings/connections/N/disconnect/",
        "/a/acme/settings/users/",
        "/a/acme/settings/activity/",
        "/switch/",
        "/sent-mail/",
        "/password/change/",
    ],
    "staff@acme.test": ["/a/acme/costs/", "/a/acme/costs/N/", "/a/acme/settings/connections/"],
    "partner@ledger.test": [
        "/p/ledger/clients/",
        "/a/acme/costs/",
        "/a/globex/costs/",
        "/a/initech/costs/",
        "/a/*/settings/users/",
        "/a/*/settings/connections/",
        "/a/*/rules/",
    ],
    "bookkeeper@ledger.test": ["/p/ledger/clients/", "/a/acme/costs/", "/a/globex/sales/"],
}


def shape_of(path: str, practice: bool = False) -> str:
    """One page per shape: ids become N, sent mail's keys K. A practice user opens several clients'
    accounts: each one's home and inboxes are walked, the other pages in the first client reached."""
    path = re.sub(r"/\d+(?=/)", "/N", path)
    path = re.sub(r"^/sent-mail/[^/]+/$", "/sent-mail/K/", path)
    if practice and not re.fullmatch(r"/a/[^/]+/((costs|sales)/)?", path):
        path = re.sub(r"^/a/[^/]+/", "/a/*/", path)
    return path


@dataclass
class Walk:
    page: object
    width: int
    problems: list[str] = field(default_factory=list)
    documents: dict[str, int] = field(default_factory=dict)
    visited: set[str] = field(default_factory=set)

    def __post_init__(self):
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"{self.here()}: {exc}"))
        self.page.on("response", self._response)

    def here(self) -> str:
        return f"{urlsplit(self.page.url).path} at {self.width} px"

    def _response(self, response) -> None:
        if response.request.resource_type == "document":
            self.documents[response.url] = response.status
        elif response.status >= 400:
            self.problems.append(f"{self.here()}: {response.status} {response.url}")

    def _console(self, message) -> None:
        if message.type != "error":
            return
        # Chromium logs "Failed to load resource" for an error page the walker opens on purpose.
        if self.documents.get(message.location.get("url"), 200) >= 400:
            return
        self.problems.append(f"{self.here()}: console error: {message.text}")

    def visit(self, path: str, status: int = 200) -> None:
        self.visited.add(path)
        import sys
        import time

        t0 = time.monotonic()
        response = self.page.goto(path)
        print(f"{path} {time.monotonic() - t0:.2f}", file=sys.stderr)
        self.page.wait_for_load_state("load")
        assert response is not None and response.status == status, (
            f"{path} answered {response and response.status}, expected {status}"
        )
        self.check_here()

    def check_here(self) -> None:
        """The same checks for a page reached by a form (a confirmation step that changes nothing)."""
        self.page.wait_for_load_state("load")
        wide = self.page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        if wide[0] > wide[1]:
            self.problems.append(
                f"{self.here()}: the page is {wide[0]} px wide in a {wide[1]} px window "
                f"(widest: {self.page.evaluate(OVERFLOWING)})"
            )

    def links(self) -> list[str]:
        """Same-site paths of the page's links and of its GET forms (buttons such as Connect)."""
        found = self.page.evaluate(
            """() => [
              ...[...document.querySelectorAll('a[href]')].filter((a) => !a.hasAttribute('download'))
                 .map((a) => a.href),
              ...[...document.querySelectorAll('form')]
                 .filter((f) => (f.getAttribute('method') || 'get').toLowerCase() === 'get'
                                && f.getAttribute('action'))
                 .map((f) => f.action),
            ]"""
        )
        origin = urlsplit(self.page.url).netloc
        paths = []
        for url in found:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or parts.netloc != origin:
                continue
            if parts.query or SKIP.search(parts.path):
                continue
            paths.append(parts.path)
        return paths


# The elements sticking out of the window, to say where the page overflows.
OVERFLOWING = """() => {
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right > window.innerWidth + 1 && r.width > 0) {
      const inScroller = el.parentElement && el.parentElement.closest('.table-scroll');
      const name = el.tagName.toLowerCase() + (el.className ? '.' + el.className : '');
      if (!inScroller) out.push(`${name} (${Math.round(r.right)} px)`);
    }
  }
  return out.slice(0, 5).join(', ');
}"""


def in_product(path: str) -> bool:
    return path.startswith(("/a/", "/p/", "/switch/", "/sent-mail/", "/password/change/"))


def discover(walk: Walk, practice: bool) -> list[str]:
    """Every page reachable from the switcher and the accounts' homes, one per shape."""

    def shape(path: str) -> str:
        return shape_of(path, practice)

    seen: set[str] = set()
    order: list[str] = []
    queue = ["/switch/"]
    while queue:
        path = queue.pop(0)
        if shape(path) in seen:
            continue
        seen.add(shape(path))
        walk.visit(path)
        order.append(path)
        for link in walk.links():
            if in_product(link) and shape(link) not in seen:
                queue.append(link)
    return order


def connect_billcom_to_acme(page) -> None:
    username, password, organisation_id, _ = next(u for u in BILLCOM_USERS if "Acme" in u[3])
    page.goto("/a/acme/settings/connections/connect/billcom/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Organisation ID").fill(organisation_id)
    page.get_by_role("button", name="Connect Bill.com").click()
    expect(page.get_by_role("status")).to_contain_text("Bill.com is connected")


def build_acme(page) -> None:
    """Acme as its Admin makes it: Bill.com beside Xero, a supplier rule, an invitation (Sent mail)."""
    connect_billcom_to_acme(page)
    page.goto("/a/acme/rules/new/")
    page.wait_for_load_state("load")  # the type-ahead's script runs by then (deferred)
    page.get_by_role("combobox", name="Supplier").fill("Contoso")
    page.get_by_role("listbox", name="Supplier").get_by_role("option", name="Contoso Energy").click()
    page.get_by_label("Integration").select_option(label="Bill.com")
    page.get_by_role("button", name="Review rule").click()
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_role("status")).to_be_visible()
    page.goto("/a/acme/settings/users/")
    page.get_by_label("E-mail").fill("newhire@acme.test")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_contain_text("newhire@acme.test")


def confirmation_steps(walk: Walk) -> int:
    """Pages reached by a POST that changes nothing yet: deleting a supplier rule, reviewing one."""
    page = walk.page
    if "/a/acme/rules/" not in walk.visited:
        return 0
    walk.visit("/a/acme/rules/")
    if not page.get_by_role("button", name="Delete").count():
        return 0
    page.get_by_role("button", name="Delete").first.click()
    walk.check_here()
    expect(page.get_by_role("button", name="Delete rule")).to_be_visible()
    walk.visit("/a/acme/rules/")
    page.get_by_role("link", name="Edit").first.click()
    page.get_by_role("button", name="Review rule").click()
    walk.check_here()
    expect(page.get_by_role("button", name="Save rule")).to_be_visible()
    return 2


def test_every_page_as_every_user_at_390_and_1280_px(_playwright_browser, live_server, demo_data):
    problems: list[str] = []
    walked = 0
    for email in USERS:
        pages: list[str] = []
        for width in WIDTHS:
            context = _playwright_browser.new_context(
                base_url=live_server.url, viewport={"width": width, "height": 800}
            )
            context.set_default_timeout(15_000)
            walk = Walk(context.new_page(), width)
            sign_in(walk.page, email)
            if email == "admin@acme.test" and width == WIDTHS[0]:
                build_acme(walk.page)
            if not pages:
                practice = email.endswith("@ledger.test")
                pages = discover(walk, practice)
                shapes = {shape_of(p, practice) for p in pages}
                missing = [p for p in EXPECTED.get(email, []) if p not in shapes]
                assert not missing, f"{email} never reached {missing} (walked {sorted(shapes)})"
            else:
                for path in pages:
                    walk.visit(path)
            walked += confirmation_steps(walk)
            walk.visit("/a/no-such-account/costs/", status=404)
            if email == "staff@acme.test":
                walk.visit("/a/acme/settings/activity/", status=403)
            walked += len(pages) + 1
            context.close()
            problems += walk.problems
    assert walked > 15 * len(USERS), f"only {walked} pages walked"
    # The axe hook checked every page the walker opened (each goto checks the page it leaves).
    checked = {urlsplit(url).path for url in _playwright_browser.watch.checked}
    assert {"/a/acme/costs/", "/a/acme/settings/connections/", "/switch/"} <= checked
    assert "/a/no-such-account/costs/" in checked
    assert not problems, "\n".join(problems)

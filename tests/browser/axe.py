"""axe-core on every page the browser tests visit, so no test can forget to check.

Every page of every browser context the tests open is watched. Before any action on a page (goto,
reload, back, a click, fill, press, select, check… on the page or on any locator of it), the document
open in it is checked once with axe-core (axe-playwright-python ships its axe.min.js: nothing is
downloaded); the page a test ends on is checked again when its context closes. So every page a test
acts on, reaches by a link or a form, or ends on is checked, without the test saying so. A serious or
critical violation fails the test at teardown, naming the page, the rule and the elements.

(A route handler that checks the page being left cannot work: Playwright does not evaluate in a page
while one of its navigations waits on a route.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from axe_playwright_python.sync_playwright import Axe

FAILING_IMPACTS = ("serious", "critical")
_AXE = Axe()


def page_violations(page) -> list[dict]:
    """The serious and critical axe violations of the document open in `page` now."""
    results = _AXE.run(page)
    return [v for v in results.response["violations"] if v.get("impact") in FAILING_IMPACTS]


def describe(url: str, violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = ", ".join(
            " ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"])
            for n in v["nodes"][:5]
        )
        lines.append(f"{url}: {v['id']} ({v['impact']}): {v['help']} -> {targets}")
    return "\n".join(lines)


@dataclass
class AxeWatch:
    """Collects the violations of every page loaded in the contexts it watches."""

    found: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    def attach(self, context) -> None:
        context.on("page", self.watch_page)
        for pg in context.pages:
            self.watch_page(pg)

    def watch_page(self, page) -> None:
        page._impl_obj._axe_watch = self

    def check(self, page, *, again: bool = False) -> None:
        """Runs axe on the document open in `page` (http(s) documents only), once per document
        unless `again` (the page a test ends on may have changed in place since)."""
        url = page.url
        if not url.startswith(("http://", "https://")) or page.is_closed():
            return
        # Marked in the document itself, so a reload or a new visit to the same URL is checked again.
        try:
            page.wait_for_load_state("load")
            if not again and page.evaluate("() => window.__axeChecked === true"):
                return
            violations = page_violations(page)
            page.evaluate("() => { window.__axeChecked = true; }")
        except Exception as exc:  # the page went away under us (a script navigated it)
            if "Execution context was destroyed" in str(exc) or "closed" in str(exc):
                return
            raise
        self.checked.append(url)
        if violations:
            self.found.append(describe(url, violations))

    def assert_clean(self) -> None:
        if self.found:
            raise AssertionError(
                "axe-core found serious or critical accessibility violations:\n" + "\n".join(self.found)
            )


class CheckedContext:
    """A browser context whose pages are checked by axe; closing it checks the pages left open."""

    def __init__(self, context, watch: AxeWatch):
        self._context = context
        self._watch = watch

    def __getattr__(self, name):
        return getattr(self._context, name)

    def new_page(self):
        page = self._context.new_page()
        self._watch.watch_page(page)
        return page

    def close(self, **kwargs) -> None:
        for pg in self._context.pages:
            self._watch.check(pg, again=True)
        self._context.close(**kwargs)


class CheckedBrowser:
    """The session's Chromium; each test's contexts report to that test's AxeWatch."""

    def __init__(self, browser):
        self._browser = browser
        self.watch: AxeWatch | None = None
        self.open_contexts: list[CheckedContext] = []

    def __getattr__(self, name):
        return getattr(self._browser, name)

    def new_context(self, **kwargs) -> CheckedContext:
        if self.watch is None:
            self.watch = AxeWatch()
        context = self._browser.new_context(**kwargs)
        self.watch.attach(context)
        checked = CheckedContext(context, self.watch)
        self.open_contexts.append(checked)
        return checked

    def finish_test(self) -> AxeWatch | None:
        """Checks what is still open, closes it, and hands back this test's watch."""
        watch, self.watch = self.watch, None
        contexts, self.open_contexts = self.open_contexts, []
        for context in contexts:
            context.close()  # closing a closed context does nothing: no page is left to check
        return watch


PAGE_ACTIONS = (
    "goto",
    "reload",
    "go_back",
    "go_forward",
    "close",
    "click",
    "dblclick",
    "tap",
    "fill",
    "type",
    "press",
    "check",
    "uncheck",
    "set_checked",
    "select_option",
    "set_input_files",
)
LOCATOR_ACTIONS = (
    "click",
    "dblclick",
    "tap",
    "fill",
    "clear",
    "type",
    "press",
    "press_sequentially",
    "check",
    "uncheck",
    "set_checked",
    "select_option",
    "set_input_files",
    "dispatch_event",
)


def _checked_first(method, page_of):
    def action(self, *args, **kwargs):
        page = page_of(self)
        watch = getattr(page._impl_obj, "_axe_watch", None)
        if watch is not None:
            watch.check(page)
        return method(self, *args, **kwargs)

    action.__wrapped__ = method
    return action


def install_action_hooks() -> None:
    """Patches Playwright's sync Page and Locator actions once, so each checks its page first."""
    from playwright.sync_api import Locator, Page

    if getattr(Page, "_axe_hooks", False):
        return
    for name in PAGE_ACTIONS:
        setattr(Page, name, _checked_first(getattr(Page, name), lambda page: page))
    for name in LOCATOR_ACTIONS:
        setattr(Locator, name, _checked_first(getattr(Locator, name), lambda locator: locator.page))
    Page._axe_hooks = True

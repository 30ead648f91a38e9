"""The axe gate itself (tests/browser/axe.py): a page left by a link or a form, and the page a test
ends on, are all checked; a clean page passes."""

from __future__ import annotations

import pytest

from tests.browser.axe import AxeWatch, CheckedContext

pytestmark = pytest.mark.browser

CLEAN = (
    '<!doctype html><html lang="en"><head><title>Clean</title></head><body><main><h1>Clean</h1>'
    '<form action="/unlabelled" method="post"><label for="q">Search</label><input id="q" name="q">'
    '<button>Send</button></form><a href="/unnamed-button">Next</a></main></body></html>'
)
UNLABELLED = (
    '<!doctype html><html lang="en"><head><title>Bad</title></head><body><main><h1>Bad</h1>'
    '<input name="q"><a href="/clean">Back</a></main></body></html>'
)
UNNAMED_BUTTON = (
    '<!doctype html><html lang="en"><head><title>Bad</title></head><body><main><h1>Bad</h1>'
    "<button></button></main></body></html>"
)
PAGES = {"/clean": CLEAN, "/unlabelled": UNLABELLED, "/unnamed-button": UNNAMED_BUTTON}


@pytest.fixture
def watched(_playwright_browser):
    # The raw browser: this test's pages are meant to fail, so they must not reach the suite's gate.
    context = _playwright_browser._browser.new_context(base_url="http://axe.test")
    context.route(
        "http://axe.test/**",
        lambda route: route.fulfill(
            content_type="text/html", body=PAGES[route.request.url.removeprefix("http://axe.test")]
        ),
    )
    watch = AxeWatch()
    watch.attach(context)
    checked = CheckedContext(context, watch)
    yield checked, watch
    context.close()


def test_a_clean_page_passes(watched):
    context, watch = watched
    page = context.new_page()
    page.goto("/clean")
    context.close()
    assert watch.checked == ["http://axe.test/clean"]
    watch.assert_clean()


def test_a_page_left_by_a_form_submit_is_checked(watched):
    context, watch = watched
    page = context.new_page()
    page.goto("/clean")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url("**/unlabelled")
    # Acting on the bad page (following its link) checks it first.
    page.get_by_role("link", name="Back").click()
    page.wait_for_url("**/clean")
    assert watch.checked == ["http://axe.test/clean", "http://axe.test/unlabelled"]
    assert len(watch.found) == 1 and "/unlabelled: label (critical)" in watch.found[0]
    with pytest.raises(AssertionError, match="label"):
        watch.assert_clean()


def test_the_page_a_test_ends_on_is_checked_when_its_context_closes(watched):
    context, watch = watched
    page = context.new_page()
    page.goto("/clean")
    page.get_by_role("link", name="Next").click()
    page.wait_for_url("**/unnamed-button")
    assert watch.found == []
    context.close()
    assert "/unnamed-button: button-name (critical)" in "\n".join(watch.found)

"""Sign-in throttling in real Chromium: after ten wrong passwords the sign-in page says the login is
locked, and refuses the right password until the lockout ends."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.fixtures import sign_in

pytestmark = pytest.mark.browser


def test_ten_wrong_passwords_lock_the_sign_in_with_a_clear_message(page, demo_data):
    for _ in range(9):
        sign_in(page, "admin@acme.test", "not-my-password")
        expect(page.get_by_role("alert")).to_have_text(
            "That e-mail and password do not match an account. Check both and try again."
        )
    sign_in(page, "admin@acme.test", "not-my-password")
    locked = "Too many failed sign-ins. For your security, this sign-in is locked for 15 minutes."
    expect(page.get_by_role("alert")).to_contain_text(locked)

    sign_in(page, "admin@acme.test")  # the right password
    expect(page.get_by_role("alert")).to_contain_text(locked)
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

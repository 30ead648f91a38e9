"""The takeover of issue 7 replayed in real Chromium, the way the demo runs it: the invitation is read
on the Sent mail page (file outbox), the person sets their own password, and a second Admin who
invites the same address learns nothing."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.fixtures import sign_in

pytestmark = pytest.mark.browser

PASSWORD = "Amber-Lantern-Voyage-58"


@pytest.fixture
def demo_outbox(demo_data, settings, tmp_path):
    """The demo's e-mail set-up: a file outbox, read on the Sent mail page."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    settings.SENT_MAIL_OPEN = True
    return tmp_path


def _invite(page, account_slug: str, email: str) -> str:
    page.goto(f"/a/{account_slug}/settings/users/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Role", exact=True).select_option("admin")
    page.get_by_role("button", name="Send invitation").click()
    message = page.locator(".message.success")
    expect(message).to_be_visible()
    expect(page.get_by_role("row", name=re.compile(re.escape(email)))).to_contain_text("Invited")
    return message.inner_text()


def _open_invitation_from_sent_mail(page, account_name: str) -> None:
    page.goto("/sent-mail/")
    page.get_by_role("link", name=f"Invitation to join {account_name} on Dext Connect").click()
    expect(page.get_by_text("cfo@globex.test").first).to_be_visible()
    page.get_by_role("link", name=re.compile(r"invitations")).click()


def test_invite_accept_and_a_second_admin_learns_nothing(page, demo_outbox, _playwright_browser, live_server):
    # Acme's Admin invites cfo@globex.test: no password is shown, only that an invitation was sent.
    sign_in(page, "admin@acme.test")
    acme_words = _invite(page, "acme", "cfo@globex.test")
    assert acme_words == "We sent an invitation to cfo@globex.test. They join Acme Ltd when they accept it."
    page.get_by_role("button", name="Sign out").click()

    # The person reads the e-mail, opens the link, chooses a password and lands in Acme.
    _open_invitation_from_sent_mail(page, "Acme Ltd")
    expect(page.get_by_role("heading", name="Join Acme Ltd")).to_be_visible()
    page.get_by_label("Choose a password").fill(PASSWORD)
    page.get_by_label("Type the password again").fill(PASSWORD)
    page.get_by_role("button", name="Set password and join Acme Ltd").click()
    expect(page).to_have_url(re.compile(r"/a/acme/$"))
    expect(page.get_by_text("Welcome to Acme Ltd. You are signed in as cfo@globex.test.")).to_be_visible()

    # Globex's Admin, in another browser, invites the same address: the same words, nothing learnt.
    other = _playwright_browser.new_context(base_url=live_server.url)
    other.set_default_timeout(15_000)
    globex_admin = other.new_page()
    sign_in(globex_admin, "admin@globex.test")
    globex_words = _invite(globex_admin, "globex", "cfo@globex.test")
    assert globex_words == acme_words.replace("Acme Ltd", "Globex Inc")
    other.close()

    # Globex is not cfo's until they accept, signed in as themselves.
    assert page.goto("/a/globex/").status == 404
    _open_invitation_from_sent_mail(page, "Globex Inc")
    expect(page.get_by_role("heading", name="Join Globex Inc")).to_be_visible()
    expect(page.get_by_label("Choose a password")).to_have_count(0)
    page.get_by_role("button", name="Accept and join Globex Inc").click()
    expect(page).to_have_url(re.compile(r"/a/globex/$"))
    expect(page.get_by_text("You joined Globex Inc as Admin.")).to_be_visible()
    page.goto("/switch/")
    accounts = page.get_by_role("list", name="Accounts")
    expect(accounts.get_by_role("link")).to_have_count(2)
    expect(accounts.get_by_role("link", name="Globex Inc")).to_be_visible()

    # The password the person chose is the only one that opens the login.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "cfo@globex.test", PASSWORD)
    expect(page).to_have_url(re.compile(r"/a/(acme|globex)/$|/switch/$"))


def test_signed_in_as_someone_else_the_link_asks_to_sign_out(page, demo_outbox):
    sign_in(page, "admin@acme.test")
    _invite(page, "acme", "cfo@globex.test")
    _open_invitation_from_sent_mail(page, "Acme Ltd")
    expect(page.get_by_text("You are signed in as admin@acme.test.")).to_be_visible()
    page.get_by_role("main").get_by_role("button", name="Sign out").click()
    # Signed out, the same link now offers to choose a password.
    expect(page.get_by_label("Choose a password")).to_be_visible()

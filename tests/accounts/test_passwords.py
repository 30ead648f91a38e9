"""Password change (signed in) and password reset by e-mail (issue 7, part 2). Both end the user's
other sessions; the reset page never tells whether an address has a login."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client

from accounts.models import User
from tests.conftest import sign_in
from tests.factories import PASSWORD

NEW = "Velvet-Compass-Orbit-31"


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings):
    """The reset e-mail is a background task (accounts/tasks.py): run it as it is enqueued."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


RESET_LINK = re.compile(r"\S+/password/reset/[\w-]+/[\w-]+/")


def _signed_in(user: User) -> Client:
    """A real sign-in (the session records the password's hash), as a second browser would have."""
    c = Client()
    assert sign_in(c, user.email, PASSWORD)
    return c


def _is_signed_in(c: Client) -> bool:
    return c.get("/switch/").status_code == 200


def test_changing_the_password_ends_the_other_sessions_and_keeps_this_one(admin_user):
    here, elsewhere = _signed_in(admin_user), _signed_in(admin_user)
    assert _is_signed_in(elsewhere)
    r = here.post(
        "/password/change/",
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
        follow=True,
    )
    assert "Password changed" in r.content.decode()
    assert _is_signed_in(here)
    r = elsewhere.get("/switch/")
    assert r.status_code == 302 and r.url.startswith("/login/")
    assert sign_in(Client(), admin_user.email, NEW)
    assert not sign_in(Client(), admin_user.email, PASSWORD)


def test_change_needs_the_current_password_and_a_valid_new_one(admin_user):
    c = _signed_in(admin_user)
    r = c.post("/password/change/", {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW})
    assert r.status_code == 200 and "Your old password was entered incorrectly." in r.content.decode()
    r = c.post(
        "/password/change/",
        {"old_password": PASSWORD, "new_password1": "password", "new_password2": "password"},
    )
    assert r.status_code == 200 and "This password is too common." in r.content.decode()
    assert User.objects.get(pk=admin_user.pk).check_password(PASSWORD)


def test_change_password_is_for_signed_in_users_and_linked_from_the_menu(client, admin_user, tenant):
    r = client.get("/password/change/")
    assert r.status_code == 302 and r.url.startswith("/login/")
    body = _signed_in(admin_user).get(f"/a/{tenant.account.slug}/").content.decode()
    assert '<a href="/password/change/">Change password</a>' in body


def test_sign_in_page_offers_forgot_your_password(client):
    assert '<a href="/password/reset/">Forgot your password?</a>' in client.get("/login/").content.decode()


def test_reset_by_e_mail_sets_a_new_password_once_and_ends_every_session(admin_user, settings):
    settings.SITE_URL = "https://connect.example.com"
    still_signed_in = _signed_in(admin_user)
    visitor = Client()
    r = visitor.post("/password/reset/", {"email": admin_user.email.upper()})
    assert r.status_code == 302 and r.url == "/password/reset/sent/"
    assert [m.to for m in mail.outbox] == [[admin_user.email]]
    link = RESET_LINK.search(mail.outbox[0].body).group(0)
    assert link.startswith("https://connect.example.com/password/reset/")  # SITE_URL, not the Host header

    r = visitor.get(urlsplit(link).path)
    assert r.status_code == 302  # Django moves the token out of the URL into the session
    form_url = r.url
    assert "Choose a new password" in visitor.get(form_url).content.decode()
    r = visitor.post(form_url, {"new_password1": "12345678", "new_password2": "12345678"})
    assert "This password is too common." in r.content.decode()
    r = visitor.post(form_url, {"new_password1": NEW, "new_password2": NEW}, follow=True)
    assert "Your password is reset" in r.content.decode()

    assert User.objects.get(pk=admin_user.pk).check_password(NEW)
    assert not _is_signed_in(still_signed_in)
    assert not _is_signed_in(visitor)  # nobody is signed in by a reset
    # The link works once.
    again = Client().get(urlsplit(link).path, follow=True)
    assert "This link does not work" in again.content.decode()


def test_reset_says_the_same_for_an_address_without_a_login_and_sends_nothing(admin_user):
    def page(email: str) -> str:
        r = Client().post("/password/reset/", {"email": email}, follow=True)
        assert r.redirect_chain == [("/password/reset/sent/", 302)]
        return re.sub(r'"X-CSRFToken": "[^"]+"', "", r.content.decode())

    assert page("nobody@example.test") == page(admin_user.email)
    assert [m.to for m in mail.outbox] == [[admin_user.email]]


def test_a_reset_lifts_the_lockout_of_that_login(client, admin_user):
    # Ten failures from elsewhere lock the login (the lockout message says "…or reset your password").
    for i in range(10):
        Client().post(
            "/login/", {"username": admin_user.email, "password": "wrong"}, REMOTE_ADDR=f"198.51.100.{i + 1}"
        )
    assert not sign_in(Client(), admin_user.email, PASSWORD)
    Client().post("/password/reset/", {"email": admin_user.email})
    visitor = Client()
    form_url = visitor.get(urlsplit(RESET_LINK.search(mail.outbox[0].body).group(0)).path).url
    visitor.post(form_url, {"new_password1": NEW, "new_password2": NEW})
    assert sign_in(Client(), admin_user.email, NEW)


def test_the_reset_page_only_enqueues_whatever_the_address(settings, admin_user):
    """The request does the same work for an address with a login and one without: it enqueues the
    e-mail task (sending is slow, and only happens for one of the two), nothing more."""
    from unittest import mock

    from accounts.tasks import send_password_reset

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    with mock.patch.object(type(send_password_reset), "enqueue", autospec=True) as enqueue:
        for email in (admin_user.email, "nobody@example.test"):
            Client().post("/password/reset/", {"email": email})
    assert [c.kwargs for c in enqueue.call_args_list] == [
        {"email": admin_user.email},
        {"email": "nobody@example.test"},
    ]
    assert mail.outbox == []  # nothing sent in the request itself

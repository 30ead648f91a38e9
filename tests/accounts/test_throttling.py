"""Sign-in throttling on the sign-in page (django-axes): repeated failures for one login, or from one
address, lock out for the cool-off with a clear message; the right password is refused meanwhile."""

from __future__ import annotations

import html
import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import time_machine
from axes.helpers import get_client_ip_address
from axes.models import AccessAttempt
from django.test import RequestFactory
from django.utils import timezone

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "test-pass-2026"  # tests/factories.py
LOCKED = "Too many failed sign-ins. For your security, this sign-in is locked for 15 minutes."


def text(response) -> str:
    return html.unescape(response.content.decode())


def sign_in(client, email: str, password: str, ip: str = "192.0.2.10"):
    return client.post("/login/", {"username": email, "password": password}, REMOTE_ADDR=ip)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_defaults_lock_after_ten_failures_for_fifteen_minutes(settings):
    assert settings.AXES_FAILURE_LIMIT == 10
    assert settings.AXES_COOLOFF_TIME == timedelta(minutes=15)
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username", "ip_address"]


def test_thirty_wrong_passwords_lock_the_login_and_the_right_one_waits_for_the_cool_off(client, admin_user):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        # From thirty different addresses: only the login's own count can lock it.
        for i in range(30):
            response = sign_in(client, admin_user.email, "wrong-password", ip=f"198.51.100.{i + 1}")
            assert not signed_in(client)
        assert response.status_code == 429
        assert LOCKED in text(response)

        clock.shift(timedelta(minutes=14))
        response = sign_in(client, admin_user.email, PASSWORD, ip="203.0.113.50")
        assert response.status_code == 429
        assert LOCKED in text(response)
        assert "That e-mail and password do not match" not in text(response)
        assert not signed_in(client)

        # The lockout ends fifteen minutes after the failure that started it: retrying while locked
        # (the right password above) does not push it further away.
        clock.shift(timedelta(minutes=2))
        response = sign_in(client, admin_user.email, PASSWORD, ip="203.0.113.50")
        assert response.status_code == 302
        assert signed_in(client)


def test_the_tenth_failure_locks_and_nine_do_not(client, admin_user):
    for i in range(9):
        response = sign_in(client, admin_user.email, "wrong-password", ip=f"198.51.100.{i + 1}")
        assert response.status_code == 200
        assert "That e-mail and password do not match an account." in text(response)
    response = sign_in(client, admin_user.email, PASSWORD, ip="198.51.100.99")
    assert response.status_code == 302 and signed_in(client)

    client.logout()
    response = sign_in(client, admin_user.email, "wrong-password", ip="198.51.100.100")
    assert response.status_code == 429 and LOCKED in text(response)


def test_the_count_is_per_login_whatever_the_case_of_the_e_mail(client, admin_user):
    for i in range(10):
        email = admin_user.email.upper() if i % 2 else admin_user.email
        sign_in(client, email, "wrong-password", ip=f"198.51.100.{i + 1}")
    response = sign_in(client, admin_user.email, PASSWORD, ip="203.0.113.50")
    assert response.status_code == 429 and not signed_in(client)


def test_failures_from_one_address_lock_it_for_every_login(client, admin_user, staff_user):
    for i in range(10):
        sign_in(client, f"guess-{i}@example.test", "wrong-password", ip="203.0.113.7")

    response = sign_in(client, staff_user.email, PASSWORD, ip="203.0.113.7")
    assert response.status_code == 429 and LOCKED in text(response)
    assert not signed_in(client)

    # The same person from another address: their own login was never attacked.
    response = sign_in(client, staff_user.email, PASSWORD, ip="203.0.113.8")
    assert response.status_code == 302 and signed_in(client)


def test_a_lockout_is_logged(client, admin_user, caplog):
    caplog.set_level(logging.WARNING)
    for i in range(10):
        sign_in(client, admin_user.email, "wrong-password", ip=f"198.51.100.{i + 1}")
    sign_in(client, admin_user.email, PASSWORD, ip="203.0.113.50")

    attempts = AccessAttempt.objects.filter(username=admin_user.email)
    assert sum(a.failures_since_start for a in attempts) == 10  # the refused right password is not a guess
    locked = [r for r in caplog.records if r.name == "accounts.throttling"]
    assert len(locked) == 2  # the failure that started the lockout, and the attempt made during it
    assert all(admin_user.email in r.getMessage() and "sign-in page" in r.getMessage() for r in locked)
    assert "203.0.113.50" in locked[-1].getMessage()


def test_the_django_admin_sign_in_is_throttled_too(client, admin_user):
    for i in range(10):
        response = client.post(
            "/admin/login/?next=/admin/",
            {"username": admin_user.email, "password": "wrong-password"},
            REMOTE_ADDR=f"198.51.100.{i + 1}",
        )
    assert response.status_code == 429
    assert LOCKED in text(response)


def test_without_a_tls_proxy_a_forged_x_forwarded_for_is_ignored():
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="6.6.6.6", REMOTE_ADDR="203.0.113.9")
    assert get_client_ip_address(request) == "203.0.113.9"


def test_behind_the_tls_proxy_the_address_is_the_one_the_proxy_saw():
    """BEHIND_TLS_PROXY: the proxy appends the address it saw to X-Forwarded-For; entries to its left
    come from the client and may be forged, so they never choose the lockout bucket."""
    script = (
        "import django; django.setup();"
        "from django.test import RequestFactory;"
        "from axes.helpers import get_client_ip_address as ip;"
        "rf = RequestFactory();"
        "print(ip(rf.get('/', HTTP_X_FORWARDED_FOR='6.6.6.6, 203.0.113.9', REMOTE_ADDR='10.0.0.2')));"
        "print(ip(rf.get('/', HTTP_X_FORWARDED_FOR='203.0.113.9', REMOTE_ADDR='10.0.0.2')));"
        "print(ip(rf.get('/', REMOTE_ADDR='203.0.113.10')))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dext_connect.settings",
        "DEBUG": "false",
        "BEHIND_TLS_PROXY": "true",
        "SECRET_KEY": "x" * 50,
        "FIELD_ENCRYPTION_KEYS": "mRpz8Qy0s1lP3o4hX5q8bFv7Yt2wK9cJ6nD0aE3gH1I=",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["203.0.113.9", "203.0.113.9", "203.0.113.10"]


def test_one_test_s_failures_do_not_leak_into_the_next(client, admin_user):
    # Runs after the tests above have locked this same e-mail and addresses: each test starts clean.
    assert not AccessAttempt.objects.exists()
    response = sign_in(client, admin_user.email, PASSWORD, ip="198.51.100.1")
    assert response.status_code == 302


def test_an_odd_spelling_of_a_locked_login_does_not_get_around_the_lockout(client, user_factory):
    """PostgreSQL folds "ſ" (long s) to "s" and "ı" (dotless i) to "i" in case-insensitive matches,
    Python's lower() does not: sign-in matches the stored spelling exactly, so such a spelling is no
    way into the locked login under a count of its own."""
    user = user_factory(email="sis@example.test")
    for i in range(10):
        sign_in(client, user.email, "wrong-password", ip=f"198.51.100.{i + 1}")
    for spelling in ("ſis@example.test", "sıs@example.test", " SIS@example.test "):
        response = sign_in(client, spelling, PASSWORD, ip="203.0.113.60")
        assert not signed_in(client), spelling
    assert response.status_code == 429  # the upper-case spelling is the same login, and locked
    # An odd spelling is not the login at all, whoever's count it uses.
    fresh = user_factory(email="kiss@example.test")
    response = sign_in(client, "kıss@example.test", PASSWORD, ip="203.0.113.61")
    assert not signed_in(client) and response.status_code == 200
    assert sign_in(client, fresh.email.upper(), PASSWORD, ip="203.0.113.61").status_code == 302

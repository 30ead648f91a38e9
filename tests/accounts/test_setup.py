"""Sign-in, demo data, and production settings."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django_scopes import scopes_disabled

from accounts.demo import DEMO_LOGINS, DEMO_PASSWORD
from accounts.models import Account, ActivityEntry, Membership, Practice, PracticeMembership, User

ROOT = Path(__file__).resolve().parents[2]


def test_wrong_password_gets_a_clear_message(client, admin_user):
    r = client.post("/login/", {"username": admin_user.email, "password": "nope"})
    assert r.status_code == 200
    assert "That e-mail and password do not match an account." in r.content.decode()
    assert "_auth_user_id" not in client.session


def test_sign_in_with_email_any_case(client, admin_user):
    r = client.post("/login/", {"username": admin_user.email.upper(), "password": "test-pass-2026"})
    assert r.status_code == 302


def _counts():
    with scopes_disabled():
        return [
            m.objects.count()
            for m in (User, Account, Membership, Practice, PracticeMembership, ActivityEntry)
        ]


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_every_login_works():
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    first = _counts()
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    assert _counts() == first
    for email, _ in DEMO_LOGINS:
        # Through the sign-in page, as a person does (django-axes needs the request authenticate gets).
        person = Client()
        response = person.post("/login/", {"username": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302 and "_auth_user_id" in person.session, email
    assert {a.name for a in Account.objects.all()} >= {"Acme Ltd", "Globex Inc", "Initech"}
    bookkeeper = PracticeMembership.objects.get(user__email="bookkeeper@ledger.test")
    assert {a.name for a in bookkeeper.assigned_clients.all()} == {"Acme Ltd", "Globex Inc"}


def _check_deploy(**overrides: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "x" * 20 + "a-real-production-secret-key-0123456789",
        "ALLOWED_HOSTS": "connect.example.com",
        "SITE_URL": "https://connect.example.com",
        "FIELD_ENCRYPTION_KEYS": "mRpz8Qy0s1lP3o4hX5q8bFv7Yt2wK9cJ6nD0aE3gH1I=",
        "DATABASE_URL": "sqlite:///" + str(ROOT / "var" / "deploy-check.sqlite3"),
        **overrides,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests of this same run
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def test_check_deploy_passes_with_production_values():
    result = _check_deploy()
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_warns_when_the_sandbox_is_on_in_production():
    result = _check_deploy(SANDBOX_ENABLED="true")
    assert result.returncode != 0
    assert "sandbox.W001" in result.stderr and "SANDBOX_ENABLED=false" in result.stderr


@pytest.mark.parametrize(
    "debug, sandbox, warned", [(False, True, True), (False, False, False), (True, True, False)]
)
def test_the_sandbox_warning_is_only_for_production(settings, debug, sandbox, warned):
    from sandbox.checks import sandbox_off_in_production

    settings.DEBUG, settings.SANDBOX_ENABLED = debug, sandbox
    assert [w.id for w in sandbox_off_in_production(None)] == (["sandbox.W001"] if warned else [])

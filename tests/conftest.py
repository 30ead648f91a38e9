"""Shared fixtures. Every test has two tenants at hand: `account` and `other_account`."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from django.test import Client
from django_scopes import scopes_disabled

from accounts.models import Account, PracticeRole, Role, User
from tests import scoping
from tests.factories import (
    AccountFactory,
    MembershipFactory,
    PracticeFactory,
    PracticeMembershipFactory,
    UserFactory,
)

pytest_plugins = ["tests.browser.fixtures", "tests.integrations.lists_helpers"]


@dataclass
class Tenant:
    account: Account
    admin: User
    staff: User


def _tenant(name: str) -> Tenant:
    account = AccountFactory(name=name)
    staff = MembershipFactory(account=account, role=Role.STANDARD).user
    return Tenant(account=account, admin=account.owner, staff=staff)


@pytest.fixture
def tenant(db) -> Tenant:
    return _tenant("Acme Test Ltd")


@pytest.fixture
def other_tenant(db) -> Tenant:
    return _tenant("Other Corp")


@pytest.fixture
def account(tenant) -> Account:
    return tenant.account


@pytest.fixture
def other_account(other_tenant) -> Account:
    return other_tenant.account


@pytest.fixture
def admin_user(tenant) -> User:
    return tenant.admin


@pytest.fixture
def staff_user(tenant) -> User:
    return tenant.staff


@pytest.fixture
def practice_setup(tenant, other_tenant):
    """A practice whose clients are both tenants; its bookkeeper is assigned to `account` only."""
    practice = PracticeFactory(name="Books & Co")
    practice.clients.add(tenant.account, other_tenant.account)
    partner = PracticeMembershipFactory(practice=practice, role=PracticeRole.PRACTICE_ADMIN).user
    bk_membership = PracticeMembershipFactory(practice=practice, role=PracticeRole.BOOKKEEPER)
    bk_membership.assigned_clients.add(tenant.account)
    return practice, partner, bk_membership.user


def sign_in(client: Client, email: str, password: str) -> bool:
    """Sign in through the sign-in page, as a person does (django-axes needs the request that
    Client.login() does not give authenticate). True when it worked."""
    response = client.post("/login/", {"username": email, "password": password})
    return response.status_code == 302 and "_auth_user_id" in client.session


def client_for(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def admin_client_(admin_user) -> Client:
    return client_for(admin_user)


@pytest.fixture
def staff_client(staff_user) -> Client:
    return client_for(staff_user)


@pytest.fixture
def stranger_client(other_tenant) -> Client:
    """Signed in as the Admin of the other tenant."""
    return client_for(other_tenant.admin)


@pytest.fixture
def user_factory(db):
    return UserFactory


def _skipped(config) -> list:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    return reporter.stats.get("skipped", []) if reporter else []


def pytest_sessionfinish(session, exitstatus):
    # In CI nothing may be skipped: a skipped test is a test that did not run.
    if os.environ.get("FAIL_ON_SKIP") == "1" and _skipped(session.config) and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if os.environ.get("FAIL_ON_SKIP") == "1" and _skipped(config):
        terminalreporter.write_line(
            f"FAIL_ON_SKIP: {len(_skipped(config))} test(s) were skipped; CI fails on any skip.", red=True
        )


@pytest.fixture(autouse=True)
def _code_under_test_runs_in_production_scope(monkeypatch):
    """Requests through the test client, management commands and tasks run with scopes on and no
    account set, whatever scope the test body is in: a forgotten scope fails here as in production
    (tests/scoping.py says why and how)."""
    for owner, name, wrap in scoping.entry_points():
        monkeypatch.setattr(owner, name, wrap(getattr(owner, name)))


@pytest.fixture
def unscoped_test_body():
    """For suites whose bodies build and inspect data across tenants: the body runs in the named
    escape; the code it calls through the client, commands and tasks still runs scoped (above)."""
    with scopes_disabled():
        yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness buys nothing in tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_collection_modifyitems(config, items):
    """Tests marked postgres_only (real row locks under concurrency) run in the PostgreSQL pass of
    .ci/run, those marked redis_only in its Redis pass (TASKS_BACKEND=rq); elsewhere they are
    deselected, not skipped, so FAIL_ON_SKIP stays meaningful."""
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    on_redis = settings.TASKS["default"]["BACKEND"] == settings.TASKS_BACKENDS["rq"]
    keep, drop = [], []
    for item in items:
        wrong = (item.get_closest_marker("postgres_only") and not on_postgres) or (
            item.get_closest_marker("redis_only") and not on_redis
        )
        (drop if wrong else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(autouse=True)
def _documents_in_a_temporary_folder(settings, tmp_path_factory):
    """Items' documents (costs/documents.py) go to a folder of the test's own, never var/media."""
    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))

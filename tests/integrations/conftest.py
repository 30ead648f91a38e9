"""Fixtures for the integrations tests. Test bodies build data across tenants with factories; the code
under test enters its own scope (views through the middleware, services through @in_account_scope):
requests, commands and tasks run with scopes on whatever the body does (tests/scoping.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from accounts.models import Account
from integrations import catalog
from integrations.models import Connection
from tests.factories import ConnectionFactory


@pytest.fixture(autouse=True)
def _unscoped_test_bodies(unscoped_test_body):
    pass


@pytest.fixture(autouse=True)
def _limits_on_the_sandbox_clock(settings):
    """Providers' limits (integrations/ratelimit.py) count in the sandbox's time, so a test that moves
    the sandbox's clock on (clock.advance) moves our side's count and a 429's block with it."""
    if "sandbox" in settings.INSTALLED_APPS:
        settings.RATE_LIMIT_CLOCK = "sandbox.clock"


@pytest.fixture(autouse=True)
def _empty_redis_queue():
    """On the Redis task backend (CI's TASKS_BACKEND=rq pass) each test starts with an empty queue."""
    from tests.integrations.publishing_helpers import empty_queue

    empty_queue()
    yield
    empty_queue()


@pytest.fixture(autouse=True)
def _sandbox_logins_restored():
    """Logins a test made for itself (sandbox_helpers.login_for) go when it ends."""
    from sandbox import users

    saved = list(users.PROVIDER_USERS)
    yield
    users.PROVIDER_USERS[:] = saved


@pytest.fixture
def connect() -> Callable[..., Connection]:
    """`connect(account, "billcom")`: an active connection made by the account's owner."""

    def make(account: Account, provider: str, **fields) -> Connection:
        return ConnectionFactory(
            account=account, provider=provider, is_main=catalog.is_main(provider), **fields
        )

    return make


@pytest.fixture(autouse=True)
def _no_sandbox_fault_left():
    """A test that injected sandbox faults (sandbox/faults.py) leaves none behind, held or pending."""
    yield
    from django.conf import settings

    if "sandbox" in settings.INSTALLED_APPS:
        from sandbox import faults

        faults.release_all(list(faults.PENDING))
        faults.PENDING.clear()

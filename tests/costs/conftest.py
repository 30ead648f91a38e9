"""Fixtures for the costs tests: an account with Xero (main) and Bill.com (additional), and the same
for the other tenant, so every test has a second account whose data must stay out of the way."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django_scopes import scope

from accounts.models import Account
from costs.models import Item
from costs.routing import annotate_routes, effective_integration, load_facts
from integrations.models import Connection
from tests.factories import ConnectionFactory


@dataclass
class Setup:
    account: Account
    xero: Connection
    billcom: Connection


def _setup(account: Account) -> Setup:
    return Setup(
        account=account,
        xero=ConnectionFactory(account=account, provider="xero"),
        billcom=ConnectionFactory(account=account, provider="billcom", is_main=False),
    )


@pytest.fixture
def acme(account) -> Setup:
    return _setup(account)


@pytest.fixture
def other(other_account) -> Setup:
    return _setup(other_account)


@pytest.fixture(autouse=True)
def _unscoped_setup(unscoped_test_body):
    """Test bodies build data across tenants with factories; the code under test enters its own
    scope (views through the middleware, services through @in_account_scope): requests, commands and
    tasks run with scopes on whatever the body does (tests/scoping.py)."""


def both_routes(item: Item) -> tuple[int | None, str]:
    """The route of `item` from both forms of the rule, asserting that they agree."""
    account = item.account
    with scope(account=account):
        facts = load_facts(account)
        fresh = Item.objects.select_related("supplier__rule", "published_to").get(pk=item.pk)
        python = effective_integration(fresh, facts)
        row = annotate_routes(Item.objects.filter(pk=item.pk), facts).get()
    python_pair = (python.connection.pk if python.connection else None, python.code)
    assert python_pair == (row.route_id, row.route_code)
    return python_pair

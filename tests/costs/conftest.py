"""Fixtures for the costs tests: an account with Xero (main) and Bill.com (additional), and the same
for the other tenant, so every test has a second account whose data must stay out of the way."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django_scopes import scope

from accounts.models import Account
from costs.models import Item
from costs.routing import annotate_routes, effective_integration, load_facts
from integrations.models import Connection, ListEntry
from tests.factories import (
    AccountEntryFactory,
    ConnectionFactory,
    SupplierEntryFactory,
    TaxRateEntryFactory,
)


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


@dataclass
class Charts:
    """Some of Xero's and Bill.com's lists for one account: code 461 and the name "General Expenses" in
    both (different codes), names only one of them has, a sales-only account and archived entries."""

    stationery: ListEntry  # Xero 461 Printing & Stationery
    general: ListEntry  # Xero 429 General Expenses
    travel: ListEntry  # Xero 493 Travel - National (not in Bill.com)
    sales: ListEntry  # Xero 200 Sales: sales items only
    archived: ListEntry  # Xero 404 Bank Fees, archived in Xero
    vat: ListEntry  # Xero tax rate INPUT2 20% (VAT on Expenses)
    zero: ListEntry  # Xero tax rate ZERORATEDINPUT Zero Rated Expenses
    vat_income: ListEntry  # Xero tax rate OUTPUT2: sales only
    billcom_stationery: ListEntry  # Bill.com 461 Printing & Stationery
    billcom_general: ListEntry  # Bill.com 6000 General Expenses
    billcom_freight: ListEntry  # Bill.com 5100 Freight In (not in Xero)
    british_gas: ListEntry  # Xero contact
    billcom_british_gas: ListEntry  # Bill.com vendor


def charts(setup: Setup) -> Charts:
    xero, billcom = setup.xero, setup.billcom

    def account(connection, code, name, **kw):
        return AccountEntryFactory(connection=connection, code=code, name=name, **kw)

    def tax(connection, code, name, **kw):
        return TaxRateEntryFactory(connection=connection, code=code, name=name, **kw)

    return Charts(
        stationery=account(xero, "461", "Printing & Stationery"),
        general=account(xero, "429", "General Expenses"),
        travel=account(xero, "493", "Travel - National"),
        sales=account(xero, "200", "Sales", for_costs=False),
        archived=account(xero, "404", "Bank Fees", active=False),
        vat=tax(xero, "INPUT2", "20% (VAT on Expenses)", for_sales=False),
        zero=tax(xero, "ZERORATEDINPUT", "Zero Rated Expenses", for_sales=False),
        vat_income=tax(xero, "OUTPUT2", "20% (VAT on Income)", for_costs=False),
        billcom_stationery=account(billcom, "461", "Printing & Stationery"),
        billcom_general=account(billcom, "6000", "General Expenses"),
        billcom_freight=account(billcom, "5100", "Freight In"),
        british_gas=SupplierEntryFactory(connection=xero, name="British Gas"),
        billcom_british_gas=SupplierEntryFactory(connection=billcom, name="British Gas"),
    )


@pytest.fixture
def acme_lists(acme) -> Charts:
    return charts(acme)


@pytest.fixture
def other_lists(other) -> Charts:
    return charts(other)


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

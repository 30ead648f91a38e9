"""The type-ahead's searches: 20 matches at a time, by name or code, this account's only, never an
archived entry, a constant number of queries whatever the size of the list."""

from __future__ import annotations

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import (
    AccountEntryFactory,
    ItemFactory,
    SupplierEntryFactory,
    SupplierFactory,
    SupplierRuleFactory,
)

pytestmark = pytest.mark.django_db


def search(client, url: str, **params) -> tuple[list[str], str | None]:
    """(the options' labels, the offset of "Show 20 more" or None)."""
    body = html.unescape(client.get(url, params).content.decode())
    labels = re.findall(r'data-label="([^"]*)"', body)
    more = re.search(r'data-more="(\d+)"', body)
    return labels, more.group(1) if more else None


def entries_url(setup, connection, kind: str = "account") -> str:
    return f"/a/{setup.account.slug}/choose/{connection.pk}/{kind}/"


def test_twenty_at_a_time(acme, other, admin_client_):
    for n in range(45):
        AccountEntryFactory(connection=acme.xero, code=f"{100 + n}", name=f"Account {n:02d}")
    labels, more = search(admin_client_, entries_url(acme, acme.xero))
    assert len(labels) == 20 and labels[0] == "100 · Account 00" and more == "20"
    labels, more = search(admin_client_, entries_url(acme, acme.xero), offset=40)
    assert labels == [f"{140 + n} · Account {40 + n:02d}" for n in range(5)] and more is None


def test_found_by_name_or_code_prefix_matches_first(acme, other, acme_lists, other_lists, admin_client_):
    url = entries_url(acme, acme.xero)
    assert search(admin_client_, url, q="46")[0] == ["461 · Printing & Stationery"]
    assert search(admin_client_, url, q="stationery")[0] == ["461 · Printing & Stationery"]
    assert search(admin_client_, url, q="printing and")[0] == ["461 · Printing & Stationery"]  # normalised
    # "General Expenses" starts with "gen"; nothing else has it at all.
    assert search(admin_client_, url, q="gen")[0] == ["429 · General Expenses"]
    assert search(admin_client_, url, q="zzz")[0] == []
    assert "No matches" in admin_client_.get(url, {"q": "zzz"}).content.decode()


def test_archived_and_other_use_entries_are_never_offered(acme, other, acme_lists, admin_client_):
    labels, _ = search(admin_client_, entries_url(acme, acme.xero))
    assert "404 · Bank Fees" not in labels and "404 · Bank Fees (archived)" not in labels
    assert "200 · Sales" not in labels
    assert "200 · Sales" in search(admin_client_, entries_url(acme, acme.xero), use="sales")[0]


def test_another_accounts_list_is_404_and_never_shown(acme, other, acme_lists, other_lists, admin_client_):
    assert admin_client_.get(entries_url(acme, other.xero)).status_code == 404
    assert admin_client_.get(entries_url(acme, acme.xero, "nonsense")).status_code == 404
    # The other account's entries have the same names: only this account's ids come back.
    body = admin_client_.get(entries_url(acme, acme.xero), {"q": "stationery"}).content.decode()
    assert f'data-value="{acme_lists.stationery.pk}"' in body
    assert f'data-value="{other_lists.stationery.pk}"' not in body


def test_a_disconnected_connections_list_is_404(acme, other, acme_lists, admin_client_):
    type(acme.billcom).objects.filter(pk=acme.billcom.pk).update(status="disconnected")
    assert admin_client_.get(entries_url(acme, acme.billcom)).status_code == 404


def test_approvalmax_searches_the_main_softwares_list(acme, other, acme_lists, admin_client_):
    from tests.factories import ConnectionFactory

    approvalmax = ConnectionFactory(account=acme.account, provider="approvalmax", is_main=False)
    assert "461 · Printing & Stationery" in search(admin_client_, entries_url(acme, approvalmax), q="461")[0]


def test_a_standard_user_searches_too(acme, other, acme_lists, staff_client):
    assert staff_client.get(entries_url(acme, acme.xero)).status_code == 200


def test_suppliers_the_account_has_then_the_providers_it_has_not(
    acme, other, acme_lists, other_lists, admin_client_
):
    SupplierFactory(account=acme.account, name="British Gas")  # also a Xero contact: listed once
    SupplierFactory(account=acme.account, name="Brixton Hire")
    SupplierFactory(account=other.account, name="Bristol Foreign")
    SupplierEntryFactory(connection=acme.xero, name="Brick Co")
    url = f"/a/{acme.account.slug}/choose/suppliers/"
    body = html.unescape(admin_client_.get(url, {"q": "bri", "lists": acme.xero.pk}).content.decode())
    labels = re.findall(r'data-label="([^"]*)"', body)
    assert labels == ["British Gas", "Brixton Hire", "Brick Co"]
    assert "in Xero" in body and "Bristol Foreign" not in body
    # Another account's connection adds nothing.
    assert search(admin_client_, url, q="bri", lists=other.xero.pk)[0] == ["British Gas", "Brixton Hire"]


def test_suppliers_page_across_the_account_and_the_provider(acme, other, admin_client_):
    for n in range(15):
        SupplierFactory(account=acme.account, name=f"Own {n:02d}")
        SupplierEntryFactory(connection=acme.xero, name=f"Theirs {n:02d}")
    url = f"/a/{acme.account.slug}/choose/suppliers/"
    first, more = search(admin_client_, url, lists=acme.xero.pk)
    second, last = search(admin_client_, url, lists=acme.xero.pk, offset=more)
    assert first == [f"Own {n:02d}" for n in range(15)] + [f"Theirs {n:02d}" for n in range(5)]
    assert second == [f"Theirs {n:02d}" for n in range(5, 15)] and last is None


def test_customers_and_suppliers_without_a_rule(acme, other, admin_client_):
    customer = SupplierFactory(account=acme.account, name="Customer Co")
    ItemFactory(account=acme.account, supplier=customer, type="sales_invoice")
    SupplierRuleFactory(supplier__account=acme.account, supplier__name="Ruled Co")
    SupplierFactory(account=acme.account, name="Free Co")
    url = f"/a/{acme.account.slug}/choose/suppliers/"
    assert search(admin_client_, url, sales="1")[0] == ["Customer Co"]
    assert search(admin_client_, url, sales="0", without_rule="1")[0] == ["Free Co"]


def test_the_search_costs_the_same_queries_whatever_the_size(acme, other, admin_client_, settings):
    url = entries_url(acme, acme.xero, "supplier")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client_.get(url, {"q": "co"}).status_code == 200
        return len(queries)

    for n in range(25):
        SupplierEntryFactory(connection=acme.xero, name=f"Co {n:03d}")
    count()  # the first request of a session also reads and saves the session
    small = count()
    for n in range(25, 300):
        SupplierEntryFactory(connection=acme.xero, name=f"Co {n:03d}")
    assert count() == small

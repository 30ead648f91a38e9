"""A provider registered for the lists tests ("Test Books"), whose adapter serves the pages the test
sets: the service's side of a read (claiming, storing, failing, taking over) is tested without depending
on any real provider's adapter.

`BooksLists.pages[kind]` are the pages the next read of that kind yields; an exception in the list is
raised at that point (a provider error half-way). `BooksLists.calls` records each read_list call
(organisation, kind, since); `BooksLists.on_page(kind, n)` runs before page n is handed over (the
concurrency and take-over tests hook in there)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations import catalog
from integrations.providers import OAuthProvider, Organisation, TokenSet
from integrations.providers.lists import EntryData, ListPage


class BooksLists(OAuthProvider):
    key = "books"
    pages: dict[str, list] = {}
    calls: list[tuple[str, str, str]] = []
    on_page: Callable[[str, int], None] | None = None

    def authorization_url(self, *, redirect_uri: str, state: str, code_verifier: str) -> str:
        return f"https://books.example/authorize?state={state}"

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> TokenSet:
        return TokenSet("books-access", "books-refresh", timezone.now() + timedelta(hours=1))

    def organisations(self, *, tokens: TokenSet, callback: dict[str, str]) -> list[Organisation]:
        return [Organisation(id="books-org", name="Books Trading Ltd")]

    def refresh(self, *, refresh_token: str) -> TokenSet:
        return TokenSet("books-access-2", "books-refresh-2", timezone.now() + timedelta(hours=1))

    def read_list(self, caller, *, organisation: str, kind: str, since: str) -> Iterator[ListPage]:
        type(self).calls.append((organisation, kind, since))
        for n, page in enumerate(type(self).pages.get(kind, [ListPage(last=True, complete=True)])):
            if type(self).on_page is not None:
                type(self).on_page(kind, n)
            if isinstance(page, Exception):
                raise page
            yield page


BOOKS = catalog.ProviderInfo(
    key="books",
    label="Test Books",
    is_main=True,
    connect_kind="oauth",
    adapter=BooksLists,
    publishes={"bill": "bill", "sales_invoice": "invoice"},
    lists=("account", "tax_rate", "supplier"),
)


@pytest.fixture
def books():
    BooksLists.pages, BooksLists.calls, BooksLists.on_page = {}, [], None
    with catalog.registered(BOOKS) as info:
        yield info
    BooksLists.pages, BooksLists.calls, BooksLists.on_page = {}, [], None


def account_(code: str, name: str, **fields) -> EntryData:
    return EntryData(kind="account", external_id=f"acc-{code}", code=code, name=name, **fields)


def tax(code: str, name: str, **fields) -> EntryData:
    return EntryData(kind="tax_rate", external_id=code, code=code, name=name, **fields)


def supplier(n: int, name: str, **fields) -> EntryData:
    return EntryData(kind="supplier", external_id=f"sup-{n}", name=name, **fields)


def full(*entries: EntryData, cursor: str = "") -> list[ListPage]:
    """A complete read in pages of two entries."""
    chunks = [list(entries[i : i + 2]) for i in range(0, len(entries), 2)] or [[]]
    pages = [ListPage(entries=chunk) for chunk in chunks]
    pages[-1].last, pages[-1].complete, pages[-1].cursor = True, True, cursor
    return pages


def fresh_token_credentials() -> dict:
    return {"access_token": "books-access", "refresh_token": "books-refresh"}


def books_connection(account, **fields):
    """An active Test Books connection whose access token is valid for an hour (no refresh needed)."""
    from tests.factories import ConnectionFactory

    fields = {
        "credentials": fresh_token_credentials(),
        "access_expires_at": timezone.now() + timedelta(hours=1),
        **fields,
    }
    return ConnectionFactory(account=account, provider="books", is_main=True, **fields)

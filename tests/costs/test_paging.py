"""The inbox's pages (costs/paging.py): keyset links that visit every item once, in order, whatever
the sort; counts exact up to the cap and said to be estimated past it; the same statements whatever
the page size, the account's size or the page's depth; the supplier filter naming only the chosen one."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from costs import paging
from costs.models import Item
from costs.selectors import SORTS
from tests.costs.test_views import inbox_url, text
from tests.factories import ItemFactory, SupplierFactory

pytestmark = pytest.mark.django_db


def _items(account, n: int, **extra) -> list[Item]:
    # Few distinct dates, totals and statuses: every order has ties for the id to break.
    return [
        ItemFactory(
            account=account,
            date=date(2025, 1, 1) + timedelta(days=i % 4),
            total=Decimal(10 + i % 3),
            status=("ready", "to_review", "failed")[i % 3],
            type=("receipt", "bill", "expense_claim")[i % 3],
            reference=f"R-{i:03d}",
            **extra,
        )
        for i in range(n)
    ]


def _refs(body: str) -> list[str]:
    return re.findall(r'<td class="reference" data-label="Reference">(R-\d{3})</td>', body)


def _link(body: str, label: str) -> str | None:
    match = re.search(r'<a href="\?([^"]*)"[^>]*>' + re.escape(label), body)
    return unescape(match.group(1)) if match else None


@pytest.mark.parametrize("sort", ["-date", "date", "-total", "total", "status", "-type"])
def test_next_links_visit_every_item_once_in_order_and_previous_comes_back(acme, other, admin_client_, sort):
    _items(acme.account, 23)
    _items(other.account, 5)  # never on acme's pages, whatever the cursor
    assert paging.keyset_ready(Item, SORTS[sort])
    expected = [
        i.reference
        for i in Item.objects.filter(account=acme.account).order_by(*SORTS[sort]).only("reference")
    ]
    seen, pages, query = [], [], f"?per_page=10&sort={sort}"
    while query is not None:
        body = admin_client_.get(inbox_url(acme.account, query)).content.decode()
        pages.append((query, _refs(body)))
        seen += _refs(body)
        following = _link(body, "Next ›")
        if following is not None:
            assert "after=" in following  # a keyset cursor, not an OFFSET
        query = f"?{following}" if following is not None else None
    assert seen == expected
    assert [len(refs) for _, refs in pages] == [10, 10, 3]
    third = admin_client_.get(inbox_url(acme.account, pages[2][0])).content.decode()
    assert "Page 3 of 3" in text(admin_client_.get(inbox_url(acme.account, pages[2][0])))
    back = admin_client_.get(inbox_url(acme.account, "?" + _link(third, "‹ Previous"))).content.decode()
    assert _refs(back) == pages[1][1] and "Page 2 of 3" in back


def test_last_page_and_old_page_numbers(acme, other, admin_client_):
    _items(acme.account, 23)
    body = admin_client_.get(inbox_url(acme.account, "?per_page=10&page=last")).content.decode()
    assert "Page 3 of 3" in body and len(_refs(body)) == 3
    assert _refs(body) == [i.reference for i in Item.objects.filter(account=acme.account)][-3:]
    # A page number without a cursor (a link kept from before) still opens that page.
    body = admin_client_.get(inbox_url(acme.account, "?per_page=10&page=2")).content.decode()
    assert "Page 2 of 3" in body and len(_refs(body)) == 10


@pytest.mark.parametrize("cursor", ["garbage", "2025-13-01~1", "2025-01-01", "~", "2025-01-01~x", "9" * 400])
def test_a_malformed_cursor_opens_the_first_page(acme, other, admin_client_, cursor):
    _items(acme.account, 12)
    for name in ("after", "before"):
        response = admin_client_.get(inbox_url(acme.account, f"?per_page=10&{name}={cursor}"))
        assert response.status_code == 200
        assert len(_refs(response.content.decode())) == 10


def test_counts_are_exact_up_to_the_cap_and_estimated_past_it(acme, other, admin_client_, monkeypatch):
    _items(acme.account, 12)
    assert "12 items" in text(admin_client_.get(inbox_url(acme.account)))
    monkeypatch.setattr(paging, "COUNT_CAP", 5)
    body = text(admin_client_.get(inbox_url(acme.account, "?per_page=10")))
    if db_connection.vendor == "postgresql":
        # Past the cap: the planner's estimate, and the page says so; no page count is promised.
        assert re.search(r"About [\d,]+ items \(estimated", body)
        assert "Page 1" in body and "Page 1 of" not in body
    else:
        assert "12 items" in body and "Page 1 of 2" in body


def test_statements_do_not_depend_on_page_size_data_size_or_depth(acme, other, admin_client_, monkeypatch):
    monkeypatch.setattr(paging, "COUNT_CAP", 20)

    def statements(query: str) -> int:
        with CaptureQueriesContext(db_connection) as ctx:
            assert admin_client_.get(inbox_url(acme.account, query)).status_code == 200
        return len(ctx)

    _items(acme.account, 8)
    admin_client_.get(inbox_url(acme.account))  # the session's first write
    small = statements("?per_page=10")
    _items(acme.account, 40)  # past the count's cap
    assert statements("?per_page=10") == small
    assert statements("?per_page=100") == small
    body = admin_client_.get(inbox_url(acme.account, "?per_page=10")).content.decode()
    deep = _link(body, "Next ›")
    assert statements(f"?{deep}") == small
    assert statements("?per_page=10&page=last") == small
    assert statements(f"?per_page=10&integration={acme.billcom.pk}") == small


def test_the_supplier_filter_holds_only_the_chosen_supplier_and_searches_the_rest(acme, other, admin_client_):
    """The filter is the one type-ahead (templates/costs/_choose.html): the page never lists the
    account's suppliers, only names the chosen one; the search answers 20 at a time, this account's
    only."""
    chosen, unchosen = (
        SupplierFactory(account=acme.account, name="Chosen Ltd"),
        SupplierFactory(account=acme.account, name="Not Listed Ltd"),
    )
    foreign = SupplierFactory(account=other.account, name="Foreign Ltd")
    ItemFactory(account=acme.account, supplier=chosen, reference="R-001")
    ItemFactory(account=acme.account, supplier=unchosen, reference="R-002")
    body = admin_client_.get(inbox_url(acme.account)).content.decode()
    assert 'role="combobox"' in body and 'placeholder="All suppliers"' in body
    assert "Chosen Ltd" not in body.split("<table")[0] and "Not Listed Ltd" not in body.split("<table")[0]
    body = admin_client_.get(inbox_url(acme.account, f"?supplier={chosen.pk}")).content.decode()
    assert f'name="supplier" value="{chosen.pk}"' in body and 'value="Chosen Ltd"' in body
    assert _refs(body) == ["R-001"]
    url = re.search(r'id="filter-supplier"[^>]*data-url="([^"]+)"', body, re.S).group(1).replace("&amp;", "&")
    found = admin_client_.get(f"{url}{'&' if '?' in url else '?'}q=ltd").content.decode()
    assert "Chosen Ltd" in found and "Not Listed Ltd" in found and "Foreign Ltd" not in found
    # Another account's supplier is never named, and filters to nothing.
    body = admin_client_.get(inbox_url(acme.account, f"?supplier={foreign.pk}")).content.decode()
    assert "Foreign Ltd" not in body and _refs(body) == []

"""The inbox a bookkeeper lives in (issue 12 §2): text search over supplier, reference and amount,
filters with the search, a page size kept in the URL, counts per status on the tabs (one grouped
query; the other tenant's items never counted), the sort state, no checkbox on rows that cannot change,
money in its currency, cards markup. Two tenants throughout."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from costs.selectors import search_amount
from tests.costs.test_views import inbox_url, text
from tests.factories import ItemFactory, SupplierFactory

pytestmark = pytest.mark.django_db


def refs(response) -> set[str]:
    return set(
        re.findall(r'<td class="reference" data-label="Reference">([^<]+)</td>', response.content.decode())
    )


def sales_url(account, query: str = "") -> str:
    return f"/a/{account.slug}/sales/{query}"


@pytest.fixture
def shelf(acme, other):
    """Acme's items, and the other tenant's with the same names, references and totals."""
    made = {}
    for setup, prefix in ((acme, "A"), (other, "O")):
        gas = SupplierFactory(account=setup.account, name="British Gas")
        paper = SupplierFactory(account=setup.account, name="Penetrode Paper")
        made[prefix] = [
            ItemFactory(
                account=setup.account, supplier=gas, reference=f"{prefix}-GAS-1", total=Decimal("1608.31")
            ),
            ItemFactory(
                account=setup.account, supplier=paper, reference=f"{prefix}-INV-2", total=Decimal("99.00")
            ),
            ItemFactory(
                account=setup.account,
                supplier=paper,
                reference=f"{prefix}-1608",
                total=Decimal("12.00"),
                status="to_review",
            ),
        ]
    return made


# --- search -----------------------------------------------------------------------------------------


def test_search_finds_by_supplier_name_part_case_insensitively(acme, other, shelf, admin_client_):
    assert refs(admin_client_.get(inbox_url(acme.account, "?q=gas"))) == {"A-GAS-1"}
    assert refs(admin_client_.get(inbox_url(acme.account, "?q=PENETRODE"))) == {"A-INV-2", "A-1608"}


def test_search_finds_by_reference_part(acme, other, shelf, admin_client_):
    assert refs(admin_client_.get(inbox_url(acme.account, "?q=inv-2"))) == {"A-INV-2"}


def test_search_by_amount_matches_the_total_exactly(acme, other, shelf, admin_client_):
    # "1608.31" is the first item's total; "1608" is part of a reference, not a total.
    assert refs(admin_client_.get(inbox_url(acme.account, "?q=1608.31"))) == {"A-GAS-1"}
    assert refs(admin_client_.get(inbox_url(acme.account, "?q=%C2%A31%2C608.31"))) == {"A-GAS-1"}
    assert refs(admin_client_.get(inbox_url(acme.account, "?q=1608"))) == {"A-1608"}
    assert refs(admin_client_.get(inbox_url(acme.account, "?q=99"))) == {"A-INV-2"}
    assert refs(admin_client_.get(inbox_url(acme.account, "?q=1608.3"))) == set()


def test_search_never_finds_the_other_tenants_items(acme, other, shelf, admin_client_):
    for q in ("gas", "O-GAS", "1608.31", "Penetrode"):
        body = text(admin_client_.get(inbox_url(acme.account, f"?q={q}")))
        assert "O-GAS-1" not in body and "O-INV-2" not in body and "O-1608" not in body, q


def test_search_says_when_nothing_matches_and_keeps_the_words(acme, other, shelf, admin_client_):
    response = admin_client_.get(inbox_url(acme.account, "?q=zzz"))
    assert refs(response) == set()
    assert "No items match these filters." in text(response)
    assert 'name="q" value="zzz"' in response.content.decode()


@pytest.mark.parametrize(
    ("q", "amount"),
    [
        ("1608.31", Decimal("1608.31")),
        ("£1,608.31", Decimal("1608.31")),
        ("-£25.00", Decimal("-25.00")),
        ("GBP 12", Decimal("12")),
        ("INV-1010", None),
        ("abc123", None),
        ("12.345", None),
        ("1,60", None),
    ],
)
def test_what_reads_as_an_amount(q, amount):
    assert search_amount(q) == amount


def test_search_combines_with_the_filters_and_the_status_tab(acme, other, shelf, admin_client_):
    assert refs(admin_client_.get(inbox_url(acme.account, "?q=penetrode&status=to_review"))) == {"A-1608"}
    assert refs(admin_client_.get(inbox_url(acme.account, "?q=penetrode&type=receipt"))) == set()


def test_the_sales_inbox_searches_its_customers(acme, other, admin_client_):
    wingtip = SupplierFactory(account=acme.account, name="Wingtip Toys")
    ItemFactory(account=acme.account, type="sales_invoice", supplier=wingtip, reference="SI-1")
    ItemFactory(account=acme.account, type="bill", supplier=wingtip, reference="BILL-1")
    ItemFactory(account=other.account, type="sales_invoice", reference="SI-FOREIGN")
    assert refs(admin_client_.get(sales_url(acme.account, "?q=wingtip"))) == {"SI-1"}


# --- tabs --------------------------------------------------------------------------------------------


def tab_texts(response) -> list[str]:
    body = response.content.decode()
    nav = re.search(r'<nav class="status-tabs" aria-label="Status">.*?</nav>', body, re.S).group(0)
    return [
        re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", a))).strip()
        for a in re.findall(r"<a .*?</a>", nav, re.S)
    ]


def test_tabs_count_each_status_in_one_grouped_query_and_never_the_other_tenant(acme, other, admin_client_):
    for status, n in (("to_review", 2), ("ready", 3), ("failed", 1), ("archived", 1)):
        ItemFactory.create_batch(n, account=acme.account, status=status)
    ItemFactory.create_batch(4, account=acme.account, status="published", published_to=acme.xero)
    ItemFactory(account=acme.account, type="sales_invoice", status="ready")  # the sales inbox's
    # The other tenant has many more of everything: none of it may show.
    for status in ("to_review", "ready", "failed", "published", "publishing"):
        ItemFactory.create_batch(5, account=other.account, status=status)
    with CaptureQueriesContext(db_connection) as queries:
        response = admin_client_.get(inbox_url(acme.account))
    assert tab_texts(response) == [
        "All 10",
        "To review 2",
        "Ready 3",
        "Failed 1",
        "Published 4",
        "Archived 1",
    ]
    grouped = [
        q["sql"] for q in queries.captured_queries if "GROUP BY" in q["sql"] and "costs_item" in q["sql"]
    ]
    assert len(grouped) == 1
    # The current tab is marked; a tab keeps the other filters.
    body = admin_client_.get(inbox_url(acme.account, "?status=ready&type=bill&per_page=50")).content.decode()
    assert re.search(r'<a href="\?[^"]*status=ready[^"]*" aria-current="page">Ready', body)
    failed_link = unescape(re.search(r'<a href="\?([^"]*)"[^>]*>Failed', body).group(1))
    assert "type=bill" in failed_link and "per_page=50" in failed_link and "status=failed" in failed_link
    assert "status=ready" not in failed_link


def test_tab_counts_follow_the_search(acme, other, shelf, admin_client_):
    assert tab_texts(admin_client_.get(inbox_url(acme.account, "?q=penetrode")))[:3] == [
        "All 2",
        "To review 1",
        "Ready 1",
    ]


# --- page size, sort, checkboxes, money, cards ----------------------------------------------------------


def test_page_size_choice_is_kept_in_the_links(acme, other, admin_client_):
    ItemFactory.create_batch(60, account=acme.account)
    response = admin_client_.get(inbox_url(acme.account, "?per_page=50"))
    body = response.content.decode()
    assert '<option value="50" selected>50</option>' in body
    assert len(refs(response)) == 50
    following = unescape(re.search(r'<a href="\?([^"]*)" rel="next">', body).group(1))
    assert "per_page=50" in following
    assert len(refs(admin_client_.get(inbox_url(acme.account, f"?{following}")))) == 10
    sort_link = unescape(re.search(r'<a href="\?([^"]*)">Total', body).group(1))
    assert "per_page=50" in sort_link
    # Nonsense falls back to 25.
    assert len(refs(admin_client_.get(inbox_url(acme.account, "?per_page=lots")))) == 25


def test_the_sorted_column_says_so(acme, other, admin_client_):
    ItemFactory(account=acme.account)
    body = admin_client_.get(inbox_url(acme.account)).content.decode()
    assert re.search(
        r'<th aria-sort="descending"><a href="\?sort=date">Date '
        r'<span class="sort-arrow" aria-hidden="true">▼',
        body,
    )
    assert body.count("aria-sort=") == 1
    body = admin_client_.get(inbox_url(acme.account, "?sort=total")).content.decode()
    assert re.search(
        r'<th aria-sort="ascending" class="num"><a href="\?sort=-total">Total <span class="sort-arrow"', body
    )


def test_rows_that_cannot_change_have_no_checkbox(acme, other, admin_client_):
    can = {s: ItemFactory(account=acme.account, status=s) for s in ("to_review", "ready", "failed")}
    cannot = [
        ItemFactory(account=acme.account, status="published", published_to=acme.xero),
        ItemFactory(account=acme.account, status="publishing", published_to=acme.xero),
    ]
    archived = ItemFactory(account=acme.account, status="archived")
    body = admin_client_.get(inbox_url(acme.account)).content.decode()
    boxes = {int(pk) for pk in re.findall(r'name="items" value="(\d+)"', body)}
    assert boxes == {i.pk for i in can.values()}
    assert not {i.pk for i in cannot} & boxes
    body = admin_client_.get(inbox_url(acme.account, "?status=archived")).content.decode()
    assert f'value="{archived.pk}"' not in body


def test_money_in_its_currency_right_aligned_with_tax_in_the_same(acme, other, admin_client_):
    ItemFactory(account=acme.account, total=Decimal("1608.31"), tax=Decimal("268.05"), currency="GBP")
    ItemFactory(account=acme.account, total=Decimal("-25.50"), tax=Decimal("-4.25"), currency="USD")
    body = admin_client_.get(inbox_url(acme.account)).content.decode()
    assert '<td class="num" data-label="Total" data-primary>£1,608.31</td>' in body
    assert '<td class="num" data-label="Tax">£268.05</td>' in body
    assert '<td class="num" data-label="Total" data-primary>-US$25.50</td>' in body
    assert '<td class="num" data-label="Tax">-US$4.25</td>' in body


def test_rows_are_dense_and_cards_ready(acme, other, admin_client_):
    long_name = "The Extremely Long Supplier Name Trading Company Limited"
    ItemFactory(
        account=acme.account,
        supplier=SupplierFactory(account=acme.account, name=long_name),
        reference="A-B-C-1",
    )
    for url in (inbox_url(acme.account), sales_url(acme.account)):
        body = admin_client_.get(url).content.decode()
        assert '<table class="table inbox cards">' in body
        tbody = re.search(r"<tbody>(.*?)</tbody>", body, re.S).group(1)
        cells = re.findall(r"<td\b[^>]*>", tbody)
        assert cells and all("data-label=" in cell for cell in cells), url
    body = admin_client_.get(inbox_url(acme.account)).content.decode()
    assert f'title="{long_name}">{long_name}</a>' in body
    assert '<td class="reference" data-label="Reference">A-B-C-1</td>' in body
    assert 'href="/static/css/inbox.css"' in body and 'src="/static/js/inbox.js"' in body
    for label in ("Status", "Supplier", "Total", "Integration"):
        assert re.search(rf'data-label="{label}"[^>]*data-primary', body), label


def test_filters_apply_on_change(acme, other, admin_client_):
    body = admin_client_.get(inbox_url(acme.account)).content.decode()
    form = re.search(r'<form method="get"[^>]*>', body).group(0)
    assert "data-apply-on-change" in form and 'hx-select="#inbox-results"' in form
    assert ">Filter<" not in body  # no separate Filter click; Search submits without scripts


# --- query counts ------------------------------------------------------------------------------------


def _queries(client, url) -> int:
    client.get(url)  # warm the session
    with CaptureQueriesContext(db_connection) as ctx:
        client.get(url)
    return len(ctx)


def test_inbox_statements_do_not_depend_on_the_data(acme, other, admin_client_):
    ItemFactory.create_batch(10, account=acme.account)
    plain = _queries(admin_client_, inbox_url(acme.account, "?per_page=100"))
    searched = _queries(admin_client_, inbox_url(acme.account, "?per_page=100&q=inv"))
    sales = _queries(admin_client_, sales_url(acme.account, "?per_page=100"))
    ItemFactory.create_batch(90, account=acme.account, integration=acme.billcom)
    ItemFactory.create_batch(20, account=acme.account, type="sales_invoice")
    assert _queries(admin_client_, inbox_url(acme.account, "?per_page=100")) == plain
    assert _queries(admin_client_, inbox_url(acme.account, "?per_page=100&q=inv")) == searched
    assert _queries(admin_client_, sales_url(acme.account, "?per_page=100")) == sales
    # The search costs one statement more: the suppliers whose name matches.
    assert searched == plain + 1
    # Session, user, account, membership, practices (menu); the routing facts (3); the count (and on
    # PostgreSQL the planner's estimate too: costs/paging.count); the page; the tabs' counts (one
    # grouped query); whether the user has more than one account (the switcher is hidden otherwise);
    # the connections needing a reconnect (the banner). None per row.
    expected = 13 + (db_connection.vendor == "postgresql")
    assert plain == expected
    assert sales == expected

"""What `make bench` measures: pages through the whole Django stack, writes with their statements,
the SQL floor, and the plans. Times are wall-clock around a test-client request (middleware, tenancy,
view, templates); the query count comes from one more request captured on its own, so capturing never
slows the timed runs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from .dataset import World

PER_PAGE = 50  # the "same 50 rows"
DEEP_PAGE = 1000


@dataclass
class Figure:
    label: str
    samples: list[float]
    queries: int
    target: str = ""
    sql: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        if len(self.samples) < 2:
            return self.samples[0]
        return statistics.quantiles(self.samples, n=20, method="inclusive")[18]


def measure(
    label: str,
    call: Callable[[], object],
    *,
    repeat: int,
    target: str = "",
    undo: Callable[[], object] | None = None,
) -> Figure:
    """Time `call` `repeat` times (after one warm-up), then count its queries once. `undo` puts a
    write back between runs, untimed, so every run does the same work."""
    call()
    if undo:
        undo()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
        if undo:
            undo()
    with CaptureQueriesContext(connection) as ctx:
        call()
    if undo:
        undo()
    return Figure(label, samples, len(ctx), target, [q["sql"] for q in ctx.captured_queries])


class Browser:
    """A signed-in test client that fails loudly on anything but the expected answer."""

    def __init__(self, user) -> None:
        self.client = Client()
        self.client.force_login(user)

    def get(self, url: str, *, expect: str = "", htmx: bool = False) -> Callable[[], object]:
        headers = {"HX-Request": "true"} if htmx else {}

        def call():
            response = self.client.get(url, secure=True, headers=headers)
            _check(response, url, 200, expect)
            return response

        return call

    def post(self, url: str, data: dict, *, status: int = 200, expect: str = "", htmx: bool = False):
        headers = {"HX-Request": "true"} if htmx else {}

        def call():
            response = self.client.post(url, data, secure=True, headers=headers)
            _check(response, url, status, expect)
            return response

        return call

    @property
    def session_key(self) -> str:
        return self.client.cookies["sessionid"].value


def _check(response, url: str, status: int, expect: str) -> None:
    if response.status_code != status:
        raise AssertionError(f"{url}: {response.status_code}, expected {status}")
    if expect and expect not in response.content.decode():
        raise AssertionError(f"{url}: the page does not say {expect!r}")


def inbox_url(world: World, query: str = "") -> str:
    base = reverse("costs:inbox", args=[world.big.slug])
    return f"{base}?per_page={PER_PAGE}" + (f"&{query}" if query else "")


def deep_page_url(world: World, query: str = "", *, page: int = DEEP_PAGE) -> str:
    """The inbox at the position of page `page` (page 1,000: rows 49,951-50,000), as a user reaches
    it: by the "Next" link's keyset cursor (costs/paging.py), the last row of the page before it
    found here, untimed."""
    from urllib.parse import urlencode

    from django.http import QueryDict
    from django_scopes import scope

    from costs.paging import cursor_of
    from costs.routing import load_facts
    from costs.selectors import SORTS, InboxFilters, inbox_items

    filters = InboxFilters.from_query(QueryDict(query))
    with scope(account=world.big):
        facts = load_facts(world.big)
        items = inbox_items(account=world.big, facts=facts, filters=filters, sales=False, annotate=False)
        position = min((page - 1) * PER_PAGE, items.count() - 1) - 1
        row = items[position]
    cursor = urlencode({"after": cursor_of(row, SORTS[filters.sort]), "page": page})
    return inbox_url(world, "&".join(filter(None, [query, cursor])))


def last_page_url(world: World) -> str:
    return inbox_url(world, "page=last")


@dataclass(frozen=True)
class PageSpec:
    label: str
    url: str
    target: str = ""
    htmx: bool = False  # asked as the page's own JavaScript asks it (the switcher's type-ahead)


def pages(world: World) -> list[PageSpec]:
    """Every page measured, by GET."""
    big, n = world.big.slug, f"{world.size.big_items:,}"
    bill = f"integration={world.billcom.pk}"
    switch = reverse("accounts:switch")
    filtered = "p50 ≤ 100 ms"
    return [
        PageSpec(f"Costs inbox, first page ({n} items)", inbox_url(world), "p50 ≤ 30 ms, ≤ 3× floor"),
        PageSpec(f"Costs inbox, page {DEEP_PAGE:,}", deep_page_url(world), "≤ 1.5× first page"),
        PageSpec("Costs inbox, last page", last_page_url(world), "≤ 1.5× first page"),
        PageSpec("Costs inbox, filtered to Bill.com", inbox_url(world, bill), filtered),
        PageSpec(
            "Costs inbox, filtered to Bill.com, sorted by total",
            inbox_url(world, f"{bill}&sort=-total"),
            filtered,
        ),
        PageSpec(
            "Costs inbox, filtered to Xero (main)", inbox_url(world, f"integration={world.xero.pk}"), filtered
        ),
        PageSpec(
            "Costs inbox, filtered to Bill.com, page 500", deep_page_url(world, bill, page=500), filtered
        ),
        PageSpec(
            "Costs inbox, filtered by supplier (the most popular)",
            inbox_url(world, f"supplier={world.supplier.pk}"),
        ),
        PageSpec("Costs inbox, filtered by status (To review)", inbox_url(world, "status=to_review")),
        PageSpec("Costs inbox, sorted by total", inbox_url(world, "sort=-total")),
        PageSpec("Costs inbox, sorted by date, oldest first", inbox_url(world, "sort=date")),
        PageSpec(
            "Account home (the fixed cost of any page: session, tenancy, menu, base template)",
            reverse("accounts:account_home", args=[big]),
        ),
        PageSpec("Item details", reverse("costs:item_detail", args=[big, world.item.pk])),
        PageSpec("Supplier rules list", reverse("costs:rules", args=[big])),
        PageSpec(f"Switcher, listing {world.size.accounts:,} clients", switch, "p50 ≤ 30 ms"),
        PageSpec("Switcher, searching 'Client 0421' (full page)", f"{switch}?q=Client+0421", "p50 ≤ 30 ms"),
        PageSpec("Switcher, type-ahead 'Client 0421'", f"{switch}?q=Client+0421", "p50 ≤ 30 ms", htmx=True),
        PageSpec("Switcher, type-ahead 'bakery'", f"{switch}?q=bakery", "p50 ≤ 30 ms", htmx=True),
        PageSpec("Connections", reverse("integrations:connections", args=[big])),
        PageSpec(
            "Disconnect Bill.com preview", reverse("integrations:disconnect", args=[big, world.billcom.pk])
        ),
    ]


def page_figures(world: World, browser: Browser, repeat: int) -> list[Figure]:
    figures = [
        measure(p.label, browser.get(p.url, htmx=p.htmx), repeat=repeat, target=p.target)
        for p in pages(world)
    ]
    big = world.big.slug
    figures.append(
        measure(
            "Defaults preview (everything to Bill.com)",
            browser.post(
                reverse("integrations:defaults_preview", args=[big]),
                {"publishing": world.billcom.pk, "expense_claims": world.billcom.pk},
                htmx=True,
            ),
            repeat=repeat,
        )
    )
    figures.append(
        measure(
            "Rule preview (the most popular supplier's rule to Xero)",
            browser.post(
                reverse("costs:rule_edit", args=[big, world.rule.pk]),
                _rule_data(world, world.xero.pk),
                expect="re-route",
            ),
            repeat=repeat,
        )
    )
    return figures


def _rule_data(world: World, integration_id: int, **extra) -> dict:
    return {
        "supplier": world.supplier.pk,
        "category": world.rule.category,
        "tax_rate": world.rule.tax_rate,
        "payment_method": world.rule.payment_method,
        "integration": integration_id,
        **extra,
    }


def write_figures(world: World, browser: Browser, repeat: int) -> list[Figure]:
    """The three writes of the issue, each put back (untimed) after every run."""
    from costs.models import SupplierRule
    from integrations.models import Connection, IntegrationDefaults

    big = world.big.slug
    connections = reverse("integrations:connections", args=[big])

    def defaults_back():
        IntegrationDefaults.objects.filter(account=world.big).update(
            publishing=None, expense_claims=world.billcom
        )

    def rule_back():
        SupplierRule.objects.filter(pk=world.rule.pk).update(integration=world.billcom)

    def reconnect():
        Connection.objects.filter(pk=world.billcom.pk).update(
            status="active", disconnected_at=None, disconnected_by=None, options={}
        )
        defaults_back()

    from django_scopes import scopes_disabled

    with scopes_disabled():
        return [
            measure(
                "Changing a default (publishing → Bill.com), saved",
                browser.post(
                    connections,
                    {"publishing": world.billcom.pk, "expense_claims": world.billcom.pk, "action": "save"},
                    status=302,
                ),
                repeat=repeat,
                undo=defaults_back,
                target="≤ 50 ms, constant statements",
            ),
            measure(
                "Saving a rule (the most popular supplier's, to Xero)",
                browser.post(
                    reverse("costs:rule_edit", args=[big, world.rule.pk]),
                    _rule_data(world, world.xero.pk, confirm="1"),
                    status=302,
                ),
                repeat=repeat,
                undo=rule_back,
                target="≤ 50 ms, constant statements",
            ),
            measure(
                "Disconnecting Bill.com",
                browser.post(
                    reverse("integrations:disconnect", args=[big, world.billcom.pk]), {}, status=302
                ),
                repeat=repeat,
                undo=reconnect,
                target="≤ 50 ms, constant statements",
            ),
        ]


# --- the floor: the first page's rows and their effective integration, one hand-written query ------

FLOOR_SQL = """
SELECT i.id, i.status, i.date, s.name, i.reference, i.category, i.total, i.currency, i.tax, u.email,
       i.type,
       CASE WHEN i.status = 'published' THEN i.published_to_id
            WHEN i.type = 'sales_invoice' THEN {main}
            WHEN i.integration_id IN ({live}) THEN i.integration_id
            WHEN r.integration_id IN ({live}) THEN r.integration_id
            WHEN i.type = 'expense_claim' THEN {claims}
            ELSE {publishing} END AS route_id
  FROM costs_item i
  LEFT JOIN costs_supplier s ON s.id = i.supplier_id
  LEFT JOIN costs_supplierrule r ON r.supplier_id = i.supplier_id
  LEFT JOIN accounts_user u ON u.id = i.owner_id
 WHERE i.account_id = {account}
   AND i.type IN ('receipt', 'bill', 'credit_note', 'expense_claim')
   AND i.status <> 'archived'
 ORDER BY i.date DESC, i.id DESC
 LIMIT {limit}
"""


def floor_sql(world: World) -> str:
    from costs.routing import load_facts

    facts = load_facts(world.big)
    main = facts.main_id
    return FLOOR_SQL.format(
        main=main,
        live=", ".join(str(pk) for pk in facts.live),
        claims=facts.expense_claims_id or main,
        publishing=facts.publishing_id or main,
        account=world.big.pk,
        limit=PER_PAGE,
    )


def floor(world: World, repeat: int) -> Figure:
    """The same rows as the first page, fetched through the database driver itself (psycopg, or
    sqlite3) on a connection of its own: no ORM, no template."""
    sql = floor_sql(world)
    raw = _raw_connection()
    try:
        cursor = raw.cursor()

        def call():
            cursor.execute(sql)
            rows = cursor.fetchall()
            assert len(rows) == min(PER_PAGE, rows_expected(world)), len(rows)

        figure = measure("Floor: the first page's rows by one hand-written query", call, repeat=repeat)
    finally:
        raw.close()
    figure.queries = 1
    figure.sql = [sql]
    return figure


def rows_expected(world: World) -> int:
    from costs.models import COST_TYPES, Item

    return (
        Item.objects.filter(account=world.big, type__in=COST_TYPES)
        .exclude(status="archived")[:PER_PAGE]
        .count()
    )


def _raw_connection():
    params = connection.get_connection_params()
    if connection.vendor == "postgresql":
        import psycopg

        params.pop("cursor_factory", None)
        params.pop("context", None)
        return psycopg.connect(**params, autocommit=True)
    import sqlite3

    return sqlite3.connect(params["database"])


def explain(sql: str) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of a captured query (PostgreSQL), or SQLite's query plan."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            return "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def item_queries(figure: Figure) -> list[str]:
    """The captured queries of a page that read items (its count and its rows; not the planner's
    estimate, which is an EXPLAIN itself)."""
    return [
        sql
        for sql in figure.sql
        if not sql.lstrip().upper().startswith("EXPLAIN") and '"costs_item"' in sql.split(" WHERE ")[0]
    ]

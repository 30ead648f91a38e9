"""`make bench`, lists section: the item page and the type-ahead's searches with 2,000 accounts and
20,000 suppliers in one connection (issue 9), on whichever database tests/bench.py runs on.

Called by tests/bench.py once its data is built (the big client, Xero and Bill.com connected). Adds, once,
to that client's Xero: 2,000 accounts (codes 1000-2999), 12 tax rates and 20,000 contacts; to its Bill.com
2,000 accounts (half the codes Xero has); links 40 of its suppliers. Then requests each page REPEAT times
through the whole stack and reports median, p95, the query count and the size of the answer (a page
that listed a whole list would show it here). Figures, never assertions.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time

from django.db import connection, reset_queries
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

REPEAT = 30  # at least 15 (issue 13's rule): 30 gives a p95 that is not just the worst run
ACCOUNTS = 2_000
SUPPLIERS = 20_000
TAX_RATES = 12

WORDS = ["Acme", "British", "Northern", "Global", "City", "Royal", "Green", "Blue", "First", "United"]
TRADES = ["Gas", "Supplies", "Print", "Freight", "Foods", "Hire", "Electrical", "Timber", "Travel", "Office"]


def _supplier_name(n: int) -> str:
    return f"{WORDS[n % 10]} {TRADES[(n // 10) % 10]} {n:05d} Ltd"


def build(big) -> dict:
    from costs.models import Item, Supplier, SupplierLink
    from integrations.lists import normalise
    from integrations.models import Connection, ListEntry

    with scopes_disabled():
        xero = Connection.objects.get(account=big, provider="xero")
        billcom = Connection.objects.get(account=big, provider="billcom")
        if not ListEntry.objects.filter(connection=xero, kind="supplier").exists():

            def entry(conn, kind, n, code, name, **kw):
                return ListEntry(
                    account=big,
                    connection=conn,
                    kind=kind,
                    external_id=f"{kind}-{n}",
                    code=code,
                    name=name,
                    match_name=normalise(name),
                    **kw,
                )

            rows = [
                entry(xero, "account", n, str(1000 + n), f"{TRADES[n % 10]} expenses {n:04d}")
                for n in range(ACCOUNTS)
            ]
            rows += [
                entry(xero, "tax_rate", n, f"TAX{n}", f"{n * 2}% (VAT on Expenses)", for_sales=False)
                for n in range(TAX_RATES)
            ]
            rows += [entry(xero, "supplier", n, "", _supplier_name(n)) for n in range(SUPPLIERS)]
            rows += [
                entry(billcom, "account", n, str(1000 + 2 * n), f"{TRADES[n % 10]} expenses {2 * n:04d}")
                for n in range(ACCOUNTS)
            ]
            ListEntry.objects.bulk_create(rows, batch_size=2000)
            # Link the big client's suppliers to contacts (as a read would), and choose entries on items.
            contacts = list(ListEntry.objects.filter(connection=xero, kind="supplier").order_by("pk")[:100])
            SupplierLink.objects.bulk_create(
                SupplierLink(account=big, supplier=s, connection=xero, entry=c, matched_by="exact")
                for s, c in zip(Supplier.objects.filter(account=big).order_by("pk"), contacts, strict=False)
            )
        category = ListEntry.objects.filter(connection=xero, kind="account", code="1460").get()
        tax_rate = ListEntry.objects.filter(connection=xero, kind="tax_rate").order_by("pk").first()
        item = (
            Item.objects.filter(account=big, type="bill", status="ready", integration__isnull=True)
            .exclude(supplier__rule__isnull=False)
            .order_by("pk")
            .first()
        )
        Item.objects.filter(pk=item.pk).update(
            category_entry=category, category=category.name, tax_rate_entry=tax_rate, tax_rate=tax_rate.name
        )
        rule = big.supplier_rules.order_by("pk").first()
    # Fresh planner statistics for the rows just added (tests/bench.py analysed before they existed).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"xero": xero, "billcom": billcom, "item": item, "rule": rule, "category": category}


def timed(client: Client, url: str) -> tuple[float, float, int, int]:
    """(median ms, p95 ms, queries, KB) over REPEAT requests, after one warm-up."""
    client.get(url)
    samples, queries, size = [], 0, 0
    for _ in range(REPEAT):
        reset_queries()
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        queries = len(connection.queries)
        size = len(response.content)
        assert response.status_code == 200, (url, response.status_code)
    p95 = statistics.quantiles(samples, n=20, method="inclusive")[18]
    return statistics.median(samples), p95, queries, size // 1024


def measure(client: Client, big) -> list[str]:
    """The table rows of this section."""
    world = build(big)
    slug = big.slug
    xero, billcom, item = world["xero"], world["billcom"], world["item"]

    def choose(conn, kind: str, **params) -> str:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return reverse("costs:choose_entries", args=[slug, conn.pk, kind]) + (f"?{query}" if query else "")

    suppliers = reverse("costs:choose_suppliers", args=[slug])
    item_url = reverse("costs:item_detail", args=[slug, item.pk])
    pages = [
        ("Item page (Category, Tax rate, Supplier from Xero's lists)", item_url),
        (
            "Item page's answer to Integration → Bill.com (carried over)",
            reverse("costs:item_lists", args=[slug, item.pk])
            + f"?integration={billcom.pk}&category_entry={world['category'].pk}&supplier={item.supplier_id}",
        ),
        (
            "Supplier rule page (Category, Tax rate, links in 2 connections)",
            reverse("costs:rule_edit", args=[slug, world["rule"].pk]),
        ),
        (f"Search {ACCOUNTS:,} accounts, first 20", choose(xero, "account", use="costs")),
        (f"Search {ACCOUNTS:,} accounts, code '14'", choose(xero, "account", use="costs", q="14")),
        (f"Search {ACCOUNTS:,} accounts, name 'travel'", choose(xero, "account", use="costs", q="travel")),
        (
            f"Search {ACCOUNTS:,} accounts, page 50 (offset 980)",
            choose(xero, "account", use="costs", offset=980),
        ),
        (f"Search {SUPPLIERS:,} contacts, first 20", choose(xero, "supplier")),
        (f"Search {SUPPLIERS:,} contacts, 'gas'", choose(xero, "supplier", q="gas")),
        (f"Search {SUPPLIERS:,} contacts, 'zzz' (no match)", choose(xero, "supplier", q="zzz")),
        (f"Search {SUPPLIERS:,} contacts, page 500 (offset 9,980)", choose(xero, "supplier", offset=9980)),
        (
            f"Supplier field: the client's suppliers then {SUPPLIERS:,} contacts, 'gas'",
            f"{suppliers}?sales=0&lists={xero.pk}&q=gas",
        ),
    ]
    rows = []
    for label, url in pages:
        median, p95, queries, kb = timed(client, url)
        rows.append(f"| {label} | {median:.1f} | {p95:.1f} | {queries} | {kb} |")
        print(f"{label:<78} median {median:7.1f} ms  p95 {p95:7.1f} ms  {queries} queries  {kb} KB")
    return rows


def _provenance(vendor: str) -> str:
    """The commit, the command and how busy the machine was: figures mean little without them."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    command = "make bench" + (" BENCH_DATABASE_URL=postgres://…" if vendor == "postgresql" else "")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"Commit {commit}, `{command}`; load average {load} when it started."


def section(vendor: str, rows: list[str], machine: str) -> tuple[str, str]:
    """(the section's name, its text) for docs/benchmarks.md."""
    name = f"Lists: item page and type-ahead, {vendor}"
    text = (
        f"## {name}\n\n"
        f"{machine} {_provenance(vendor)} Data: the big client's Xero has {ACCOUNTS:,} accounts, "
        f"{TAX_RATES} tax rates and "
        f"{SUPPLIERS:,} contacts; its Bill.com {ACCOUNTS:,} accounts. Each page is requested {REPEAT} times "
        "after a warm-up (test client, whole stack, signed in as a practice admin); p95 is the 95th "
        "percentile of those runs. KB: the size of the answer — the pages never hold a whole list, the "
        "searches answer 20 entries at a time.\n\n"
        "| page | median ms | p95 ms | queries | KB |\n| --- | --- | --- | --- | --- |\n"
        + "\n".join(rows)
        + "\n\nThe first page of a list is read in index order (listentry_choose_idx, listentry_code_idx). A "
        "search with text reads every entry of that list (name contains, code starts with, normalised "
        "name contains): that is what 'gas' and 'zzz' cost on 20,000 contacts; a trigram index (pg_trgm, "
        "issue 13) would serve them. Deep pages use OFFSET: people type rather than page 500 times.\n"
    )
    return name, text

"""`make bench`: how fast the pages bookkeepers live in are, at the sizes PRODUCT.md names.

Builds (once, then reuses) a practice with 500 clients and one client with 100,000 cost items in a
separate database (var/bench.sqlite3, or BENCH_DATABASE_URL), then times real requests through the
whole Django stack (middleware, tenancy, templates) with the test client, and writes the figures to
docs/benchmarks.md. Figures, not assertions: tests never time anything.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dext_connect.settings")
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}"
)
os.environ.setdefault("DEBUG", "true")
os.environ["ALLOWED_HOSTS"] = "testserver"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django_scopes import scopes_disabled  # noqa: E402

CLIENTS = 500
ITEMS = int(os.environ.get("BENCH_ITEMS", "100000"))
REPEAT = 15


def build() -> dict:
    from accounts.models import Account, Membership, Practice, PracticeMembership, PracticeRole, Role, User

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with scopes_disabled():
        partner = User.objects.filter(email="partner@bench.test").first()
        if partner is None:
            partner = User.objects.create_user("partner@bench.test", "bench")
            owner = User.objects.create_user("owner@bench.test", "bench")
            practice = Practice.objects.create(name="Bench Practice", slug="bench-practice")
            PracticeMembership.objects.create(
                practice=practice, user=partner, role=PracticeRole.PRACTICE_ADMIN
            )
            accounts = Account.objects.bulk_create(
                Account(name=f"Client {i:03d} Ltd", slug=f"client-{i:03d}", owner=owner)
                for i in range(CLIENTS)
            )
            Membership.objects.bulk_create(
                Membership(account=a, user=owner, role=Role.ADMIN) for a in accounts
            )
            practice.clients.add(*accounts)
        big = Account.objects.get(slug="client-000")
        build_items(account=big, owner=big.owner, items=ITEMS)
        from integrations.models import Connection

        billcom = Connection.objects.get(account=big, provider="billcom").pk
    # Fresh planner statistics, as autovacuum (PostgreSQL) or a deploy's ANALYZE would give.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"partner": partner, "big": big, "billcom": billcom}


def build_items(*, account, owner, items: int) -> None:
    """Xero + Bill.com connected, 40 suppliers (a quarter with a rule to Bill.com), `items` items of
    every type and status, some set to Bill.com on the item. Built once; reused by later runs."""
    import random
    from datetime import date, timedelta
    from decimal import Decimal

    from costs.models import COST_TYPES, Item, ItemStatus, ItemType, Supplier, SupplierRule
    from integrations.models import Connection, IntegrationDefaults

    if Item.objects.filter(account=account).count() >= items:
        return
    rng = random.Random(42)
    xero, _ = Connection.objects.get_or_create(
        account=account, provider="xero", defaults={"status": "active", "external_name": "Bench"}
    )
    billcom, _ = Connection.objects.get_or_create(
        account=account, provider="billcom", defaults={"status": "active", "external_name": "Bench"}
    )
    IntegrationDefaults.objects.get_or_create(account=account, defaults={"expense_claims": billcom})
    suppliers = [
        Supplier.objects.get_or_create(account=account, name=f"Supplier {i:02d}")[0] for i in range(40)
    ]
    for supplier in suppliers[:10]:
        SupplierRule.objects.get_or_create(
            account=account, supplier=supplier, defaults={"integration": billcom, "category": "Stock"}
        )
    types = [*COST_TYPES, ItemType.SALES_INVOICE]
    statuses = [s for s in ItemStatus if s != ItemStatus.PUBLISHED]
    start = date(2024, 1, 1)
    batch = []
    for n in range(items - Item.objects.filter(account=account).count()):
        published = rng.random() < 0.3
        batch.append(
            Item(
                account=account,
                type=rng.choice(types),
                status=ItemStatus.PUBLISHED if published else rng.choice(statuses),
                date=start + timedelta(days=rng.randrange(700)),
                supplier=rng.choice(suppliers),
                reference=f"INV-{n:06d}",
                category="Stock",
                total=Decimal(rng.randrange(100, 500000)) / 100,
                tax=Decimal(rng.randrange(0, 50000)) / 100,
                owner=owner,
                integration=billcom if rng.random() < 0.05 else None,
                published_to=xero if published else None,
            )
        )
        if len(batch) == 5000:
            Item.objects.bulk_create(batch)
            batch = []
    Item.objects.bulk_create(batch)


def timed(client: Client, url: str) -> tuple[float, float, int]:
    client.get(url)  # warm up
    samples, queries = [], 0
    for _ in range(REPEAT):
        reset_queries()
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        queries = len(connection.queries)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(samples), max(samples), queries


HEADER = (
    "# Benchmarks\n\n"
    "`make bench` measures on SQLite; `make bench BENCH_DATABASE_URL=postgres://…` on PostgreSQL. Each run "
    "rewrites its own database's section. Data: a practice with 500 clients; one client with "
    "100,000 items, Xero and Bill.com connected, 40 suppliers (10 with a rule to Bill.com).\n"
)


def _merge(existing: str, vendor: str, section: str) -> str:
    """Replace this database's section, keep the others."""
    sections = {}
    for chunk in existing.split("\n## ")[1:]:
        name = chunk.split("\n", 1)[0].strip()
        sections[name] = "## " + chunk.rstrip() + "\n"
    sections[vendor] = section
    return HEADER + "\n" + "\n".join(sections[k] for k in sorted(sections))


def main() -> None:
    call_command("migrate", verbosity=0)
    world = build()
    settings.DEBUG = True  # count queries
    client = Client()
    client.force_login(world["partner"])
    big = world["big"].slug
    pages = [
        ("Account switcher, 500 clients", "/switch/"),
        ("Account switcher, search 'Client 42'", "/switch/?q=Client+42"),
        ("Account home (tenancy middleware)", f"/a/{big}/"),
    ]
    try:
        from django.urls import reverse

        pages += [
            (f"Costs inbox, {ITEMS:,} items, first page", reverse("costs:inbox", args=[big])),
            (
                f"Costs inbox, {ITEMS:,} items, Bill.com only, sorted by total",
                reverse("costs:inbox", args=[big]) + f"?integration={world['billcom']}&sort=-total",
            ),
            (f"Connections page, {ITEMS:,} items", reverse("integrations:connections", args=[big])),
            (
                f"Disconnect Bill.com preview, {ITEMS:,} items",
                reverse("integrations:disconnect", args=[big, world["billcom"]]),
            ),
            (f"Supplier rules, {ITEMS:,} items", reverse("costs:rules", args=[big])),
        ]
    except Exception:  # noqa: BLE001 - a section not built yet is simply not measured
        pass
    rows = []
    for label, url in pages:
        median, worst, queries = timed(client, url)
        rows.append(f"| {label} | {median:.1f} | {worst:.1f} | {queries} |")
        print(f"{label:<70} median {median:7.1f} ms  max {worst:7.1f} ms  {queries} queries")
    vendor = connection.vendor
    out = ROOT / "docs" / "benchmarks.md"
    out.parent.mkdir(exist_ok=True)
    machine = (
        f"Written by `make bench` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}."
    )
    section = (
        f"## {vendor}\n\n{machine} "
        f"Each page is requested {REPEAT} times through the whole Django stack (test client, signed in "
        "as a practice admin).\n\n"
        "| page | median ms | max ms | queries |\n| --- | --- | --- | --- |\n" + "\n".join(rows) + "\n"
    )
    text = _merge(out.read_text() if out.exists() else "", vendor, section)
    # The lists' pages and searches (issue 9): their own section, their own data (tests/bench_lists.py).
    from tests import bench_lists

    name, lists_section = bench_lists.section(vendor, bench_lists.measure(client, world["big"]), machine)
    out.write_text(_merge(text, name, lists_section))
    print(f"Wrote {out}")


if __name__ == "__main__":
    main()

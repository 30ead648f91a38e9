"""The benchmark's data: a practice whose clients are Business accounts, one of them big.

At production size (issue 13): 5,000 Business accounts, all clients of one practice (the switcher's
5,000 clients); 1,000 of them hold the 1,000,000 items. The big one has 200,000 items, Xero (main)
and Bill.com connected, 5,000 suppliers of which 1,000 have a rule, item-level overrides, and
supplier popularity skewed as in real books (a few suppliers take most items). The 999 others have
Xero (a quarter also Bill.com), 20 suppliers and about 800 items each.

Items are generated in Python from a seeded random source (the same data every time) and written
with COPY on PostgreSQL (executemany on SQLite): a few minutes at production size. The rest goes
through bulk_create. Built once; a later run finds the marker (the practice's name) and reuses it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django_scopes import scopes_disabled

DATASET_VERSION = 1
PRACTICE_SLUG = "bench-practice"


@dataclass(frozen=True)
class Size:
    name: str
    accounts: int  # Business accounts, all clients of the practice
    with_items: int  # how many of them hold items (the big one included)
    items: int  # items in total
    big_items: int  # the big account's
    suppliers: int  # the big account's
    rules: int  # the big account's suppliers with a rule
    other_suppliers: int = 20  # each other account with items


SIZES = {
    "production": Size("production", 5000, 1000, 1_000_000, 200_000, 5000, 1000),
    "small": Size("small", 1000, 100, 60_000, 20_000, 1000, 200),
    "tiny": Size("tiny", 8, 3, 400, 300, 25, 5),
}


@dataclass
class World:
    """What the measurements need, found again by name on a reused dataset."""

    size: Size
    partner: object  # the practice admin the pages are opened as
    big: object  # the big account
    xero: object
    billcom: object
    supplier: object  # the most popular supplier (it has a rule to Bill.com)
    rule: object  # its rule
    item: object  # one of its unpublished items


def marker(size: Size) -> str:
    return f"Bench practice ({size.name}, dataset v{DATASET_VERSION})"


def ensure(size: Size) -> World:
    """The dataset of `size` in the current database: reused when its marker is there, else built.
    Refuses a database holding anything else (the benchmark never empties one that is not its own)."""
    from django.core.management import call_command

    from accounts.models import Account, Practice

    with scopes_disabled():
        practice = Practice.objects.filter(slug=PRACTICE_SLUG).first()
        if practice is None or practice.name != marker(size):
            if practice is None and Account.objects.exists():
                raise SystemExit(
                    "This database holds accounts that are not the benchmark's: give the benchmark a "
                    "database of its own (BENCH_DATABASE_URL)."
                )
            if practice is not None:
                call_command("flush", interactive=False, verbosity=0)
            build(size)
    analyze()
    return world(size)


def analyze() -> None:
    """Fresh planner statistics and visibility map, as autovacuum would leave them (PostgreSQL), or
    as a deploy's ANALYZE would (SQLite)."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def world(size: Size) -> World:
    from accounts.models import Account, User
    from costs.models import COST_TYPES, Item, ItemStatus, SupplierRule
    from integrations.models import Connection

    with scopes_disabled():
        big = Account.objects.get(slug=_slug(0))
        rule = (
            SupplierRule.objects.filter(account=big, supplier__name=_supplier_name(0))
            .select_related("supplier")
            .get()
        )
        return World(
            size=size,
            partner=User.objects.get(email="partner@bench.test"),
            big=big,
            xero=Connection.objects.get(account=big, provider="xero"),
            billcom=Connection.objects.get(account=big, provider="billcom"),
            supplier=rule.supplier,
            rule=rule,
            item=Item.objects.filter(
                account=big, supplier=rule.supplier, status=ItemStatus.READY, type__in=COST_TYPES
            )
            .order_by("-date", "-id")
            .first(),
        )


def _slug(n: int) -> str:
    return f"client-{n:05d}"


def _supplier_name(n: int) -> str:
    return f"Supplier {n:05d} Ltd"


@transaction.atomic
def build(size: Size) -> None:
    from django.contrib.auth.hashers import make_password

    from accounts.models import (
        Account,
        ActivityEntry,
        Membership,
        Practice,
        PracticeMembership,
        PracticeRole,
        Role,
        User,
    )
    from costs.models import Supplier, SupplierRule
    from integrations.models import Connection, ConnectionStatus, IntegrationDefaults

    rng = random.Random(42)
    password = make_password(None)  # nobody signs in with a password: the bench uses sessions
    with scopes_disabled():
        owner = User.objects.create(email="owner@bench.test", password=password)
        partner = User.objects.create(email="partner@bench.test", password=password)
        practice = Practice.objects.create(name=marker(size), slug=PRACTICE_SLUG)
        PracticeMembership.objects.create(practice=practice, user=partner, role=PracticeRole.PRACTICE_ADMIN)
        accounts = Account.objects.bulk_create(
            Account(name=f"Client {n:05d} {_trade(n)}", slug=_slug(n), owner=owner)
            for n in range(size.accounts)
        )
        Membership.objects.bulk_create(Membership(account=a, user=owner, role=Role.ADMIN) for a in accounts)
        Practice.clients.through.objects.bulk_create(
            Practice.clients.through(practice_id=practice.pk, account_id=a.pk) for a in accounts
        )
        holders = accounts[: size.with_items]
        connections = []
        for n, account in enumerate(holders):
            providers = ["xero", "billcom"] if n == 0 or n % 4 == 0 else ["xero"]
            connections += [
                Connection(
                    account=account,
                    provider=provider,
                    is_main=provider == "xero",
                    status=ConnectionStatus.ACTIVE,
                    external_id=f"bench-{provider}-{n}",
                    external_name=account.name,
                )
                for provider in providers
            ]
        Connection.objects.bulk_create(connections, batch_size=2000)
        by_account: dict[int, dict[str, Connection]] = {}
        for c in connections:
            by_account.setdefault(c.account_id, {})[c.provider] = c
        big = holders[0]
        xero, billcom = by_account[big.pk]["xero"], by_account[big.pk]["billcom"]
        # Expense claims go to Bill.com by default; everything else to the main software.
        IntegrationDefaults.objects.create(account=big, expense_claims=billcom)

        suppliers = {
            account.pk: Supplier.objects.bulk_create(
                (
                    Supplier(account=account, name=_supplier_name(i))
                    for i in range(size.suppliers if account is big else size.other_suppliers)
                ),
                batch_size=5000,
            )
            for account in holders
        }
        # Every fifth supplier has a rule (the most popular one among them): 2 in 5 of them to
        # Bill.com, 1 in 5 to Xero, the rest set only a category and a payment method.
        targets = [billcom, billcom, xero, None, None]
        SupplierRule.objects.bulk_create(
            SupplierRule(
                account=big,
                supplier=supplier,
                integration=targets[(i // 5) % 5],
                category="Stock" if i % 2 else "",
                payment_method="card" if targets[(i // 5) % 5] is None else "",
            )
            for i, supplier in enumerate(suppliers[big.pk][: size.rules * 5])
            if i % 5 == 0
        )
        ActivityEntry.objects.bulk_create(
            ActivityEntry(
                account=big,
                actor=owner,
                action="item.updated",
                summary=f"Edited item {n}",
                created_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n),
            )
            for n in range(min(size.big_items // 20, 10_000))
        )
        _write_items(size, rng, holders, suppliers, by_account, owner)


def _trade(n: int) -> str:
    return ("Ltd", "Bakery", "Consulting", "Plumbing", "Studio", "Partners", "Trading", "Cafe")[n % 8]


# What the items look like: most history is published, the open work is a minority.
TYPES = [("receipt", 30), ("bill", 40), ("credit_note", 5), ("expense_claim", 15), ("sales_invoice", 10)]
STATUSES = [
    ("published", 55),
    ("archived", 5),
    ("to_review", 20),
    ("ready", 14),
    ("failed", 5),
    ("publishing", 1),
]


def _picker(weights: list[tuple[str, int]], rng: random.Random):
    values = [v for v, _ in weights]
    cum, total = [], 0
    for _, w in weights:
        total += w
        cum.append(total)

    def pick() -> str:
        return rng.choices(values, cum_weights=cum)[0]

    return pick


def _write_items(size, rng, holders, suppliers, by_account, owner) -> None:
    big = holders[0]
    others = holders[1:]
    counts = {big.pk: size.big_items}
    rest = size.items - size.big_items
    for n, account in enumerate(others):
        counts[account.pk] = rest // len(others) + (1 if n < rest % len(others) else 0)
    rows = (
        row
        for account in holders
        for row in _item_rows(
            account=account,
            count=counts[account.pk],
            suppliers=[s.pk for s in suppliers[account.pk]],
            links=by_account[account.pk],
            owner_id=owner.pk,
            rng=rng,
        )
    )
    copy_items(rows)


ITEM_COLUMNS = (
    "account_id",
    "type",
    "status",
    "date",
    "supplier_id",
    "reference",
    "category",
    "tax",
    "tax_rate",
    "total",
    "currency",
    "description",
    "owner_id",
    "paid",
    "payment_method",
    "integration_id",
    "published_to_id",
    "published_at",
    "external_id",
    "published_url",
    "publish_error",
    "created_at",
    "updated_at",
)


def _item_rows(*, account, count, suppliers, links, owner_id, rng) -> Iterator[tuple]:
    pick_type, pick_status = _picker(TYPES, rng), _picker(STATUSES, rng)
    xero, billcom = links["xero"].pk, links.get("billcom")
    billcom = billcom.pk if billcom else None
    start = date(2023, 1, 1)
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    n_suppliers = len(suppliers)
    for n in range(count):
        kind, status = pick_type(), pick_status()
        # Popularity: the cube of a uniform draw, so supplier 0 gets ~6% of a big account's items,
        # the top 1% of suppliers ~22% and the top fifth ~58%.
        u = rng.random()
        supplier = suppliers[int(n_suppliers * u * u * u)] if rng.random() > 0.02 else None
        override = None
        if billcom and kind != "sales_invoice" and rng.random() < 0.03:
            override = billcom if rng.random() < 0.7 else xero
        published = status == "published"
        yield (
            account.pk,
            kind,
            status,
            start + timedelta(days=rng.randrange(1100)),
            supplier,
            f"INV-{n:07d}",
            "Stock" if rng.random() < 0.7 else "",
            Decimal(rng.randrange(0, 50000)) / 100,
            "",
            Decimal(rng.randrange(100, 500000)) / 100,
            "GBP",
            "",
            owner_id,
            False,
            "",
            override,
            (billcom if billcom and rng.random() < 0.15 else xero) if published else None,
            stamp if published else None,
            f"EXT-{n}" if published else "",
            "",
            "",
            stamp,
            stamp,
        )


def copy_items(rows: Iterator[tuple]) -> None:
    """Write item rows: COPY on PostgreSQL, executemany in batches elsewhere."""
    columns = ", ".join(f'"{c}"' for c in ITEM_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            while hasattr(raw, "cursor") and not hasattr(raw, "copy"):
                raw = raw.cursor
            with raw.copy(f"COPY costs_item ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        sql = f"INSERT INTO costs_item ({columns}) VALUES ({', '.join(['%s'] * len(ITEM_COLUMNS))})"
        batch = []
        for row in rows:
            batch.append(tuple(_sqlite_value(v) for v in row))
            if len(batch) == 5000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


def _sqlite_value(value):
    # What Django's own SQLite adapters store: naive UTC datetimes, ISO dates, decimals as text.
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value

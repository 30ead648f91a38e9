"""Demo data for the costs app (called by `manage.py seed_demo` inside scopes_disabled, after the
integrations' seed). Deterministic, and idempotent: an account that already has items is left alone.

Acme Ltd: about 60 cost items across 8 suppliers (5 expense claims, a few credit notes, every status)
and 10 sales invoices. Published items record Acme's Xero connection as `published_to`; without it
(no sandbox) they are left Ready instead, since they cannot have been published anywhere.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction

from accounts.models import Account, Membership
from integrations.models import Connection

from .models import Item, ItemStatus, ItemType, PaymentMethod, Supplier

ACME_SUPPLIERS = [
    ("Acme Supplies", "Office supplies"),
    ("Northwind Traders", "Stock"),
    ("Contoso Energy", "Utilities"),
    ("Fabrikam Print", "Printing"),
    ("Tailspin Travel", "Travel"),
    ("Litware Software", "Software"),
    ("Adventure Works Catering", "Meals and entertainment"),
    ("Proseware Telecom", "Telephone and internet"),
]
ACME_CUSTOMERS = ["Blue Yonder Airlines", "Coho Winery", "Wingtip Toys", "Lucerne Publishing"]
OTHER_SUPPLIERS = {
    "globex": [("Hooli Cloud", "Software"), ("Vandelay Industries", "Stock"), ("Soylent Foods", "Meals")],
    "initech": [("Chotchkie's", "Meals"), ("Penetrode Paper", "Office supplies")],
}
STATUS_CYCLE = [
    ItemStatus.TO_REVIEW,
    ItemStatus.READY,
    ItemStatus.READY,
    ItemStatus.PUBLISHED,
    ItemStatus.TO_REVIEW,
    ItemStatus.FAILED,
    ItemStatus.READY,
    ItemStatus.PUBLISHED,
    ItemStatus.PUBLISHING,
]
TODAY = date(2026, 11, 20)
PREFIX = {ItemType.EXPENSE_CLAIM: "EC", ItemType.CREDIT_NOTE: "CN"}


def _published_at(status: str, day: date) -> datetime | None:
    if status != ItemStatus.PUBLISHED:
        return None
    return datetime.combine(day + timedelta(days=2), time(10, 0), tzinfo=UTC)


def _supplier(account: Account, name: str) -> Supplier:
    supplier, _ = Supplier.objects.get_or_create(account=account, name=name)
    return supplier


def _make_items(
    account: Account,
    *,
    suppliers: list[tuple[Supplier, str]],
    customers: list[Supplier],
    costs: int,
    claims: int,
    credit_notes: int,
    sales: int,
    seed: int,
) -> None:
    rng = random.Random(seed)  # same data on every machine
    owners = list(
        Membership.objects.filter(account=account).order_by("user__email").values_list("user_id", flat=True)
    )
    xero = Connection.objects.filter(account=account, provider="xero").first()
    items: list[Item] = []

    def status_for(n: int) -> str:
        status = STATUS_CYCLE[n % len(STATUS_CYCLE)]
        return ItemStatus.READY if status == ItemStatus.PUBLISHED and xero is None else status

    kinds = (
        [ItemType.EXPENSE_CLAIM] * claims
        + [ItemType.CREDIT_NOTE] * credit_notes
        + [
            rng.choice([ItemType.BILL, ItemType.BILL, ItemType.RECEIPT])
            for _ in range(costs - claims - credit_notes)
        ]
    )
    for n, kind in enumerate(kinds):
        supplier, category = suppliers[n % len(suppliers)]
        total = Decimal(rng.randrange(1200, 250000)) / 100
        if kind == ItemType.CREDIT_NOTE:
            total = -total / 4
        status = status_for(n)
        day = TODAY - timedelta(days=rng.randrange(0, 90))
        items.append(
            Item(
                account=account,
                type=kind,
                status=status,
                date=day,
                due_date=day + timedelta(days=30) if kind == ItemType.BILL else None,
                supplier=supplier,
                reference=f"{PREFIX.get(kind, 'INV')}-{1000 + n}",
                category=category,
                total=total.quantize(Decimal("0.01")),
                tax=(total / 6).quantize(Decimal("0.01")),
                currency="GBP",
                description=f"{category} from {supplier.name}",
                owner_id=owners[n % len(owners)] if owners else None,
                paid=kind in (ItemType.RECEIPT, ItemType.EXPENSE_CLAIM),
                payment_method=PaymentMethod.CARD if kind == ItemType.RECEIPT else PaymentMethod.NONE,
                published_to=xero if status == ItemStatus.PUBLISHED else None,
                published_at=_published_at(status, day),
                publish_error="Xero: the account code 429 is not valid."
                if status == ItemStatus.FAILED
                else "",
            )
        )
    for n in range(sales):
        customer = customers[n % len(customers)]
        total = (Decimal(rng.randrange(50000, 900000)) / 100).quantize(Decimal("0.01"))
        status = status_for(n + 1)
        day = TODAY - timedelta(days=rng.randrange(0, 60))
        items.append(
            Item(
                account=account,
                type=ItemType.SALES_INVOICE,
                status=status,
                date=day,
                due_date=day + timedelta(days=14),
                supplier=customer,
                reference=f"SI-{2000 + n}",
                category="Sales",
                total=total,
                tax=(total / 6).quantize(Decimal("0.01")),
                description=f"Invoice to {customer.name}",
                owner_id=owners[0] if owners else None,
                published_to=xero if status == ItemStatus.PUBLISHED else None,
                published_at=_published_at(status, day),
            )
        )
    Item.objects.bulk_create(items)


@transaction.atomic
def seed(accounts: dict[str, Account]) -> None:
    plans = {
        # slug: (cost items, expense claims, credit notes, sales invoices)
        "acme": (60, 5, 3, 10),
        "globex": (6, 1, 1, 2),
        "initech": (5, 1, 0, 1),
    }
    for index, (slug, (costs, claims, credit_notes, sales)) in enumerate(plans.items()):
        account = accounts.get(slug)
        if account is None or Item.objects.filter(account=account).exists():
            continue
        names = ACME_SUPPLIERS if slug == "acme" else OTHER_SUPPLIERS[slug]
        customers = ACME_CUSTOMERS if slug == "acme" else [f"{account.name} customer"]
        _make_items(
            account,
            suppliers=[(_supplier(account, name), category) for name, category in names],
            customers=[_supplier(account, name) for name in customers],
            costs=costs,
            claims=claims,
            credit_notes=credit_notes,
            sales=sales,
            seed=index + 1,
        )

"""Demo data for the costs app (called by `manage.py seed_demo` inside scopes_disabled, after the
integrations' seed). Deterministic, and idempotent: an account that already has items is left alone.

Acme Ltd: about 60 cost items across 8 suppliers (5 expense claims, a few credit notes, every status)
and 10 sales invoices. Published items record Acme's Xero connection as `published_to`; without it
(no sandbox) they are left Ready instead, since they cannot have been published anywhere. None is seeded
Publishing: an item is in flight only while a worker has its publish attempt. Their Category and Tax
rate name accounts and VAT rates of Acme's Xero organisation: where the sandbox seeded its lists,
the items still open (not published) get those entries and the suppliers their Xero contacts, as after
a read of the lists.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction

from accounts.models import Account, Membership
from integrations.lists import kinds_of
from integrations.models import Connection, ListSync, ListSyncState

from . import documents, linking, samples
from .models import Document, Item, ItemStatus, ItemType, PaymentMethod, Supplier

# (supplier, Category, Tax rate): names from the UK Xero chart of accounts and VAT rates that Acme's Xero
# organisation keeps (sandbox/listdata.py), so the demo's items match its lists (costs/linking.py).
ACME_SUPPLIERS = [
    ("Acme Supplies", "General Expenses", "20% (VAT on Expenses)"),
    ("Northwind Traders", "Cost of Goods Sold", "20% (VAT on Expenses)"),
    ("Contoso Energy", "Light, Power, Heating", "5% (VAT on Expenses)"),
    ("Fabrikam Print", "Printing & Stationery", "20% (VAT on Expenses)"),
    ("Tailspin Travel", "Travel - National", "Zero Rated Expenses"),
    ("Litware Software", "IT Software and Consumables", "20% (VAT on Expenses)"),
    ("Adventure Works Catering", "Entertainment-100% business", "20% (VAT on Expenses)"),
    ("Proseware Telecom", "Telephone & Internet", "20% (VAT on Expenses)"),
]
ACME_SALES = ("Sales", "20% (VAT on Income)")
# The VAT in a total that includes it, by rate name ("20% (VAT on Expenses)" -> 20/120 of the total).
RATES = {
    "20% (VAT on Expenses)": 20,
    "5% (VAT on Expenses)": 5,
    "Zero Rated Expenses": 0,
    "20% (VAT on Income)": 20,
}
ACME_CUSTOMERS = ["Blue Yonder Airlines", "Coho Winery", "Wingtip Toys", "Lucerne Publishing"]
OTHER_SUPPLIERS = {
    "globex": [
        ("Hooli Cloud", "Software", ""),
        ("Vandelay Industries", "Stock", ""),
        ("Soylent Foods", "Meals", ""),
    ],
    "initech": [("Chotchkie's", "Meals", ""), ("Penetrode Paper", "Office supplies", "")],
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


def _tax(total: Decimal, tax_rate: str) -> Decimal:
    rate = RATES.get(tax_rate, 20)
    return (total * rate / (100 + rate)).quantize(Decimal("0.01"))


def _supplier(account: Account, name: str) -> Supplier:
    supplier, _ = Supplier.objects.get_or_create(account=account, name=name)
    return supplier


def _make_items(
    account: Account,
    *,
    suppliers: list[tuple[Supplier, str, str]],
    customers: list[Supplier],
    sales_values: tuple[str, str],
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
        # An item is only ever Publishing while a worker has its publish attempt: the demo seeds none in
        # flight (it would block a disconnect until a worker ran); without Xero nothing was published.
        if status == ItemStatus.PUBLISHING or (status == ItemStatus.PUBLISHED and xero is None):
            return ItemStatus.READY
        return status

    kinds = (
        [ItemType.EXPENSE_CLAIM] * claims
        + [ItemType.CREDIT_NOTE] * credit_notes
        + [
            rng.choice([ItemType.BILL, ItemType.BILL, ItemType.RECEIPT])
            for _ in range(costs - claims - credit_notes)
        ]
    )
    for n, kind in enumerate(kinds):
        supplier, category, tax_rate = suppliers[n % len(suppliers)]
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
                tax_rate=tax_rate,
                total=total.quantize(Decimal("0.01")),
                tax=_tax(total, tax_rate),
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
                category=sales_values[0],
                tax_rate=sales_values[1],
                total=total,
                tax=_tax(total, sales_values[1]),
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
        if account is None:
            continue
        if Item.objects.filter(account=account).exists():
            _give_documents(account)
            continue
        names = ACME_SUPPLIERS if slug == "acme" else OTHER_SUPPLIERS[slug]
        customers = ACME_CUSTOMERS if slug == "acme" else [f"{account.name} customer"]
        _make_items(
            account,
            suppliers=[(_supplier(account, name), category, tax_rate) for name, category, tax_rate in names],
            customers=[_supplier(account, name) for name in customers],
            sales_values=ACME_SALES if slug == "acme" else ("Sales", ""),
            costs=costs,
            claims=claims,
            credit_notes=credit_notes,
            sales=sales,
            seed=index + 1,
        )
        _as_after_a_read(account)
        _give_documents(account)


# Which of an account's seeded items get a document (the newest of each type, as the inbox lists them
# first), so the inbox shows thumbnails and the item page its viewer.
DEMO_DOCUMENTS = {
    ItemType.BILL: 3,
    ItemType.RECEIPT: 2,
    ItemType.CREDIT_NOTE: 1,
    ItemType.EXPENSE_CLAIM: 1,
    ItemType.SALES_INVOICE: 1,
}


def _give_documents(account: Account) -> None:
    """A generated document for those items: a PDF invoice with a text layer (two pages for some), or
    a receipt's photo for receipts. Its thumbnail is drawn at once (no worker needed for the demo).
    Idempotent: the same items every time, and an item with a document is left alone."""
    chosen = []
    for kind, count in DEMO_DOCUMENTS.items():
        chosen += list(
            Item.objects.filter(account=account, type=kind, reference__regex=r"^(INV|EC|CN|SI)-[0-9]+$")
            .order_by("-date", "-id")
            .values_list("pk", flat=True)[:count]
        )
    for item in Item.objects.filter(pk__in=chosen, document__isnull=True).select_related("supplier"):
        name = item.supplier.name if item.supplier else account.name
        if item.type == ItemType.RECEIPT:
            data, filename = samples.image("JPEG", text=f"{name} {item.reference}"), f"{item.reference}.jpg"
        else:
            data = samples.invoice_pdf(
                supplier=name,
                reference=item.reference,
                date=item.date.strftime("%d/%m/%Y"),
                total=f"{item.total:.2f}",
                tax=f"{item.tax:.2f}",
                extra_pages=1 if item.pk % 3 == 0 else 0,
            )
            filename = f"{item.reference}.pdf"
        checked = documents.check_file(data, name=filename)
        document = Document(
            account=account,
            item=item,
            original_name=filename,
            content_type=checked.content_type,
            size=len(data),
            pages=checked.pages,
            text=checked.text,
            uploaded_by=item.owner,
        )
        document.file.save(filename, documents.ContentFile(data), save=False)
        document.save()
        documents.make_thumbnail(account=account, document_id=document.pk)


def _as_after_a_read(account: Account) -> None:
    """Connections whose lists the demo seeded as read (sandbox/demo.py): what follows a read follows
    here too, now that the suppliers and items exist — suppliers linked, old text matched."""
    for sync in ListSync.objects.filter(account=account, state=ListSyncState.DONE).select_related(
        "connection"
    ):
        linking.on_lists_read(
            sender=ListSync, account=account, connection=sync.connection, kinds=kinds_of(sync.connection)
        )

"""Reads that more than one view needs. All run inside the account's scope."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404

from accounts.models import Account, Membership, User

from .ids import parse_id
from .models import COST_TYPES, SALES_TYPES, Item, ItemStatus, Supplier, SupplierRule
from .routing import RoutingFacts, annotate_routes, routes_to

SORTS: dict[str, tuple[str, ...]] = {
    "date": ("date", "id"),
    "-date": ("-date", "-id"),
    "supplier": ("supplier__name", "-date", "-id"),
    "-supplier": ("-supplier__name", "-date", "-id"),
    "total": ("total", "-id"),
    "-total": ("-total", "-id"),
    "status": ("status", "-date", "-id"),
    "-status": ("-status", "-date", "-id"),
    "type": ("type", "-date", "-id"),
    "-type": ("-type", "-date", "-id"),
}
DEFAULT_SORT = "-date"


def get_item_for_account(*, account: Account, id: int, sales: bool) -> Item:
    """The item `id` of `account` in the cost inbox (sales=False) or the sales inbox; else 404."""
    types = SALES_TYPES if sales else COST_TYPES
    if parse_id(id) is None:
        raise Http404("No such item.")
    item = (
        Item.objects.filter(account=account, pk=id, type__in=types)
        .select_related(
            "supplier__rule",
            "owner",
            "published_to",
            "integration",
            "category_entry__connection",
            "tax_rate_entry__connection",
        )
        .first()
    )
    if item is None:
        raise Http404("No such item.")
    return item


def get_rule_for_account(*, account: Account, id: int) -> SupplierRule:
    """The supplier rule `id` of `account`; else 404."""
    rule = (
        SupplierRule.objects.filter(account=account, pk=parse_id(id) or 0)
        .select_related("supplier", "integration")
        .first()
    )
    if rule is None:
        raise Http404("No such supplier rule.")
    return rule


@dataclass(frozen=True)
class InboxFilters:
    status: str = ""
    type: str = ""
    supplier: int | None = None
    integration: str = ""  # a connection id, or "none"
    sort: str = DEFAULT_SORT

    @classmethod
    def from_query(cls, query, *, sales: bool = False) -> InboxFilters:
        def pick(name: str, allowed) -> str:
            value = query.get(name, "")
            return value if value in allowed else ""

        supplier = query.get("supplier", "")
        integration = query.get("integration", "")
        types = SALES_TYPES if sales else COST_TYPES
        return cls(
            status=pick("status", ItemStatus.values),
            type=pick("type", [str(t) for t in types]),
            supplier=parse_id(supplier),
            integration="none" if integration == "none" else str(parse_id(integration) or ""),
            sort=query.get("sort") if query.get("sort") in SORTS else DEFAULT_SORT,
        )

    @property
    def active(self) -> bool:
        return bool(self.status or self.type or self.supplier or self.integration)


def inbox_items(
    *, account: Account, facts: RoutingFacts, filters: InboxFilters, sales: bool, annotate: bool = True
) -> QuerySet[Item]:
    """The inbox rows with their effective integration computed in SQL: filter and sort included,
    the page is one query whatever its size. `annotate=False`: the same rows bare, for counting (the
    route's joins would only slow the COUNT down)."""
    items = Item.objects.filter(account=account, type__in=SALES_TYPES if sales else COST_TYPES)
    if annotate:
        items = (
            annotate_routes(items, facts)
            # The document too (its thumbnail in the row): no query per row.
            .select_related("supplier", "owner", "published_to", "document")
            # What the rows never show: no password hash, no credentials decrypted per row, no text.
            .defer(
                "description",
                "publish_error",
                "owner__password",
                "published_to__credentials",
                "document__text",
                "document__suggested",
            )
        )
    if filters.status:
        items = items.filter(status=filters.status)
    else:
        # Archived items leave the inbox; the Status filter still finds them.
        items = items.exclude(status=ItemStatus.ARCHIVED)
    if filters.type:
        items = items.filter(type=filters.type)
    if filters.supplier:
        items = items.filter(supplier_id=filters.supplier)
    if filters.integration:
        # The rule's filter form: branches the indexes serve, not a scan evaluating the CASE.
        target = None if filters.integration == "none" else int(filters.integration)
        items = items.filter(routes_to(facts, target))
    return items.order_by(*SORTS[filters.sort])


def has_unrouted_items(*, account: Account, facts: RoutingFacts, sales: bool = False) -> bool:
    """Whether any item of the inbox (archived ones aside) has no accounting software to go to: only
    then does the Integration filter offer "No accounting software". One query."""
    items = Item.objects.filter(account=account, type__in=SALES_TYPES if sales else COST_TYPES)
    items = items.exclude(status=ItemStatus.ARCHIVED)
    return items.filter(routes_to(facts, None)).exists()


def suppliers(account: Account, *, sales: bool | None = None) -> QuerySet[Supplier]:
    """The account's suppliers (sales=False: those of cost items, or with no items yet), its
    customers (sales=True), or both (None). One model holds both, as PRODUCT.md's items do."""
    queryset = Supplier.objects.filter(account=account)
    if sales is not None:
        queryset = queryset.filter(_of_kind(sales))
    return queryset.order_by("name")


def _of_kind(sales: bool):
    # The account in each probe too, so that item_supplier_type_idx answers it in one step.
    mine = {"account": OuterRef("account"), "supplier": OuterRef("pk")}
    of_costs = Exists(Item.objects.filter(**mine, type__in=COST_TYPES))
    of_sales = Exists(Item.objects.filter(**mine, type__in=SALES_TYPES))
    return of_sales if sales else of_costs | ~of_sales


def members(account: Account) -> QuerySet[User]:
    return User.objects.filter(pk__in=Membership.objects.filter(account=account).values("user_id")).order_by(
        "email"
    )


def cost_type_choices() -> list[tuple[str, str]]:
    return [(t.value, t.label) for t in COST_TYPES]

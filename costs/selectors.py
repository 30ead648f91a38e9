"""Reads that more than one view needs. All run inside the account's scope."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
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
    q: str = ""  # text search over supplier, reference and amount (search_condition)

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
            q=" ".join(str(query.get("q", "")).split())[:SEARCH_MAX],
        )

    @property
    def active(self) -> bool:
        return bool(self.status or self.type or self.supplier or self.integration or self.q)


# --- the inbox's text search ----------------------------------------------------------------------

SEARCH_MAX = 100
# Suppliers whose name matches are looked up first (one query over the account's suppliers, served
# by the trigram index on PostgreSQL) and the items then found by supplier_id through
# item_supplier_type_idx; a search matching more suppliers than this falls back to a subquery.
SEARCH_SUPPLIERS_MAX = 500
_CODES = "GBP|USD|EUR|AUD|CAD|NZD|ZAR|CHF|SEK|NOK|DKK|JPY|SGD|HKD"
_AMOUNT = re.compile(
    rf"(?P<sign>-)?\s*(?:(?:{_CODES})\s+|US\$|[£$€¥])?\s*(?P<sign2>-)?"
    rf"(?P<whole>\d{{1,3}}(?:,\d{{3}})+|\d+)(?P<cents>\.\d{{1,2}})?(?:\s*(?:{_CODES}|€))?",
    re.IGNORECASE,
)


def search_amount(q: str) -> Decimal | None:
    """The amount `q` names ("1608.31", "£1,608.31", "-£25.00", "GBP 12"), or None when it is not
    a number (then no item is found by its total)."""
    match = _AMOUNT.fullmatch(q.strip())
    if match is None:
        return None
    sign = "-" if match["sign"] or match["sign2"] else ""
    try:
        return Decimal(sign + match["whole"].replace(",", "") + (match["cents"] or ""))
    except InvalidOperation:
        return None


def search_condition(*, account: Account, q: str) -> Q | None:
    """The items `q` finds: its supplier's name contains it, or its reference does, or (when q reads as
    a number) its total is exactly that amount. Each branch is one an index serves: on PostgreSQL the
    trigram indexes on UPPER(costs_supplier.name) and UPPER(costs_item.reference) (what `icontains`
    compares; migration 0009), item_supplier_type_idx for the suppliers found, item_account_total_idx
    for the amount. None when there is nothing to search for."""
    if not q:
        return None
    condition = Q(reference__icontains=q)
    names = Supplier.objects.filter(account=account, name__icontains=q).values_list("pk", flat=True)
    found = list(names[: SEARCH_SUPPLIERS_MAX + 1])
    if len(found) > SEARCH_SUPPLIERS_MAX:
        condition |= Q(supplier_id__in=names)
    elif found:
        condition |= Q(supplier_id__in=found)
    amount = search_amount(q)
    if amount is not None:
        condition |= Q(total=amount)
    return condition


def inbox_items(
    *,
    account: Account,
    facts: RoutingFacts,
    filters: InboxFilters,
    sales: bool,
    annotate: bool = True,
    search: Q | None = None,
) -> QuerySet[Item]:
    """The inbox rows with their effective integration computed in SQL: filter and sort included,
    the page is one query whatever its size. `annotate=False`: the same rows bare, for counting (the
    route's joins would only slow the COUNT down). `search`: search_condition(filters.q), computed
    once by the caller for the page, its count and the tabs' counts."""
    items = _filtered(
        Item.objects.filter(account=account, type__in=SALES_TYPES if sales else COST_TYPES),
        facts=facts,
        filters=filters,
        search=search,
    )
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
    return items.order_by(*SORTS[filters.sort])


def _filtered(items: QuerySet[Item], *, facts: RoutingFacts, filters: InboxFilters, search: Q | None):
    """Every filter but the status (the tabs count across statuses with the others applied)."""
    if filters.type:
        items = items.filter(type=filters.type)
    if filters.supplier:
        items = items.filter(supplier_id=filters.supplier)
    if filters.integration:
        # The rule's filter form: branches the indexes serve, not a scan evaluating the CASE.
        target = None if filters.integration == "none" else int(filters.integration)
        items = items.filter(routes_to(facts, target))
    if search is not None:
        items = items.filter(search)
    return items


# The inbox's tabs, in Dext's order; "All" is every status but Archived.
TAB_STATUSES = (
    ItemStatus.TO_REVIEW,
    ItemStatus.READY,
    ItemStatus.PUBLISHING,
    ItemStatus.FAILED,
    ItemStatus.PUBLISHED,
    ItemStatus.ARCHIVED,
)


def status_counts(
    *, account: Account, facts: RoutingFacts, filters: InboxFilters, sales: bool, search: Q | None = None
) -> dict[str, int]:
    """How many items of the inbox each status has, with the other filters (type, supplier,
    integration, search) applied: one grouped query over item_inbox_idx (account, type, status),
    whatever the number of tabs. "" holds the count of every status but Archived."""
    items = _filtered(
        Item.objects.filter(account=account, type__in=SALES_TYPES if sales else COST_TYPES),
        facts=facts,
        filters=filters,
        search=search,
    )
    rows = items.order_by().values_list("status").annotate(n=Count("pk"))
    counts = {str(status): 0 for status in TAB_STATUSES}
    counts.update({status: n for status, n in rows})
    counts[""] = sum(n for status, n in counts.items() if status != ItemStatus.ARCHIVED)
    return counts


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

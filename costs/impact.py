"""What a change to the account's integrations would re-route, shown before the user confirms.

"Before" and "after" are both the SQL form of the one rule (costs/routing.py), evaluated with the facts
as they are and with hypothetical facts (another default, a connection gone). One grouped query
counts the moves, whatever the number of items.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from accounts.models import Account
from accounts.tenancy import in_account_scope
from integrations.models import Connection

from .models import NOT_CHANGEABLE_STATUSES, Item, ItemType, SupplierRule
from .routing import RoutingFacts, annotate_routes, default_target, falls_to_defaults, load_facts, routes_to

NO_SOFTWARE = "No accounting software"


@dataclass
class Impact:
    items: int = 0  # unpublished items whose effective integration changes
    moves: list[tuple[str, str, int]] = field(default_factory=list)  # (from label, to label, count)
    rules: list[str] = field(default_factory=list)  # suppliers whose rule routes elsewhere / goes inactive
    defaults: list[str] = field(default_factory=list)  # defaults that fall back to the main software

    @property
    def changes_anything(self) -> bool:
        return bool(self.items or self.rules or self.defaults)


def unpublished_items(account: Account) -> QuerySet[Item]:
    """Items whose route can still change: the changeable ones (models.is_changeable). Published,
    being published (frozen while in flight) and archived items are left out of every preview and
    count."""
    return Item.objects.filter(account=account).exclude(status__in=NOT_CHANGEABLE_STATUSES)


def _label(facts: RoutingFacts, connection_id: int | None) -> str:
    connection = facts.live.get(connection_id) if connection_id else None
    return connection.label if connection is not None else NO_SOFTWARE


def compare(
    queryset: QuerySet[Item], before: RoutingFacts, after: RoutingFacts, *, unpublished: bool = False
) -> Impact:
    """Count how the items of `queryset` move from `before` to `after` — one grouped query.
    `unpublished=True`: `queryset` holds no published item (routing then skips that step)."""
    rows = (
        annotate_routes(
            annotate_routes(
                queryset, before, id_name="before_id", code_name="before_code", unpublished=unpublished
            ),
            after,
            id_name="after_id",
            code_name="after_code",
            unpublished=unpublished,
        )
        .order_by()
        .values("before_id", "after_id")
        .annotate(n=Count("*"))
    )
    moved = {
        (row["before_id"], row["after_id"]): row["n"] for row in rows if row["before_id"] != row["after_id"]
    }
    return _impact(before, after, moved)


@in_account_scope
def default_change_impact(
    *, account: Account, publishing_id: int | None, expense_claims_id: int | None
) -> Impact:
    """Changing the two defaults (None = main software): how many unpublished items re-route.
    Supplier rules do not depend on the defaults, so `rules` stays empty."""
    before = load_facts(account)
    after = before.with_defaults(publishing_id=publishing_id, expense_claims_id=expense_claims_id)
    # Only the items the defaults decide can move, and those go where the default of their kind
    # sends them (routing.default_target), before and after: one count per type over those items
    # (an index holds what decides it), not the rule evaluated twice on every unpublished item.
    rows = (
        unpublished_items(account)
        .filter(falls_to_defaults(before, unpublished=True))
        .order_by()
        .values("type")
        .annotate(n=Count("*"))  # not the id: item_open_route_idx alone answers it
    )
    moved: dict[tuple[int | None, int | None], int] = {}
    for row in rows:
        claim = row["type"] == ItemType.EXPENSE_CLAIM
        move = (default_target(before, claim=claim), default_target(after, claim=claim))
        if move[0] != move[1]:
            moved[move] = moved.get(move, 0) + row["n"]
    return _impact(before, after, moved)


def _impact(before: RoutingFacts, after: RoutingFacts, moved: dict) -> Impact:
    impact = Impact()
    for (from_id, to_id), n in moved.items():
        impact.items += n
        impact.moves.append((_label(before, from_id), _label(after, to_id), n))
    impact.moves.sort(key=lambda move: (-move[2], move[0], move[1]))
    return impact


@in_account_scope
def disconnect_impact(*, account: Account, connection: Connection) -> Impact:
    """Disconnecting `connection`: the items that re-route, the rules that become inactive and the
    defaults that fall back to the main software."""
    before = load_facts(account)
    after = before.without(connection.pk)
    # Only the items that go to `connection` now can move (the rule's other steps do not depend on
    # it): counted through routes_to's index-friendly branches, not over every unpublished item.
    movable = routes_to(before, connection.pk, unpublished=True)
    impact = compare(unpublished_items(account).filter(movable), before, after, unpublished=True)
    impact.rules = list(
        SupplierRule.objects.filter(account=account, integration_id=connection.pk)
        .order_by("supplier__name")
        .values_list("supplier__name", flat=True)
    )
    impact.defaults = [
        label
        for label, pk in (
            ("Default publishing integration", before.publishing_id),
            ("Default expense claims integration", before.expense_claims_id),
        )
        if pk == connection.pk
    ]
    return impact


@in_account_scope
def rule_change_impact(
    *, account: Account, supplier_id: int, integration_id: int | None, facts: RoutingFacts | None = None
) -> Impact:
    """Saving (or, with None, removing the integration of) the rule of `supplier_id`: how many of
    that supplier's unpublished items re-route. `facts`: the account's, when the caller has them."""
    before = facts if facts is not None and facts.account_id == account.pk else load_facts(account)
    after = before.with_rule(supplier_id=supplier_id, integration_id=integration_id)
    return compare(
        unpublished_items(account).filter(supplier_id=supplier_id), before, after, unpublished=True
    )


# The fields a supplier rule fills in on its supplier's items (sales items included: the rule's
# Integration is the only part that never applies to them, and routing sees to that).
RULE_VALUE_FIELDS = ("category", "tax_rate", "payment_method")
RULE_VALUE_LABELS = {"category": "category", "tax_rate": "tax rate", "payment_method": "payment method"}
# Category and Tax rate are chosen from lists (costs/lists.py): the entry, with its name in the text field.
ENTRY_FIELDS = {"category": "category_entry", "tax_rate": "tax_rate_entry"}


def blank(name: str) -> Q:
    """Items whose `name` (a RULE_VALUE_FIELDS field) is blank: no text and, for Category and Tax
    rate, no entry either."""
    condition = Q(**{name: ""})
    if name in ENTRY_FIELDS:
        condition &= Q(**{f"{ENTRY_FIELDS[name]}__isnull": True})
    return condition


def rule_values(rule_or_data) -> dict[str, str]:
    """The non-blank values a rule (or the rule form's cleaned data) fills in."""
    get = rule_or_data.get if isinstance(rule_or_data, dict) else lambda name: getattr(rule_or_data, name)
    return {name: get(name) for name in RULE_VALUE_FIELDS if get(name)}


def items_missing_rule_values(
    *, account: Account, supplier_id: int, values: dict[str, str]
) -> QuerySet[Item]:
    """The supplier's unpublished, non-archived items with at least one blank field the rule fills in.
    Items being published are left alone: what they publish has already gone out."""
    if not values:
        return Item.objects.none()
    missing = Q()
    for name in values:
        missing |= blank(name)
    items = unpublished_items(account)
    return items.filter(supplier_id=supplier_id).filter(missing)


@in_account_scope
def rule_values_impact(*, account: Account, supplier_id: int, values: dict[str, str]) -> int:
    """Saving a rule with `values`: how many of the supplier's unpublished items get them."""
    return items_missing_rule_values(account=account, supplier_id=supplier_id, values=values).count()

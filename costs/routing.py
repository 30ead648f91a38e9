"""The effective-integration rule: where an item will publish, and why. This module is its only home.

Precedence (PRODUCT.md, "Effective integration"):
  published item        -> frozen to `published_to`
  item being published  -> frozen to `published_to`, its open publish attempt's connection (issue 10:
                           a default change, a rule or a disconnect can no longer move it)
  sales item            -> the main software (item, rule and default never apply)
  integration on item   -> if live
  supplier rule         -> if live
  default               -> expense-claims default for expense claims, publishing default otherwise; if live
  otherwise             -> the main software (None when no main software is connected)

The rule exists in two forms that must always agree (tests/costs/test_routing_agreement.py):
  (a) `effective_integration(item)` for one item, with the reason in words;
  (b) `annotate_routes(queryset, facts)`, the same precedence as one SQL CASE, for the inbox, its
      filter and its counts — no Python per item.
Both read the account-level inputs (which connections are live, the main one, the two defaults) from
one `RoutingFacts`. The defaults come resolved from integrations.selectors.effective_defaults, the one
home of "a default that is not live falls back to the main software"; the SQL form embeds the
resulting ids as parameters. What a user may set an item to is `allowed_connections` (services ask it).
The impact previews (costs/impact.py) evaluate (b) with hypothetical facts — a
connection gone, other defaults — so "what would change" uses the very same rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from django.db.models import BigIntegerField, Case, CharField, F, Q, QuerySet, Value, When
from django_scopes import scope

from accounts.models import Account
from integrations.models import Connection
from integrations.selectors import effective_defaults, live_connections

from .models import (
    FROZEN_ROUTE_STATUSES,
    SALES_TYPES,
    Item,
    ItemStatus,
    ItemType,
    SupplierRule,
    is_changeable,
)

# Reason codes: what the SQL form yields; REASON_TEXT turns them into the words on the screen.
PUBLISHED = "published"
PUBLISHING = "publishing"
SALES = "sales"
ITEM = "item"
RULE = "rule"
DEFAULT_EXPENSE_CLAIMS = "default_expense_claims"
DEFAULT_PUBLISHING = "default_publishing"
MAIN = "main"

REASON_TEXT = {
    PUBLISHED: "Published — kept where it was published",
    PUBLISHING: "Being published — kept where it is being published",
    # Short: every sales row's reason; each sales page states the rule once (_sales_rule.html).
    SALES: "Sales item: always the main accounting software",
    ITEM: "Set on this item",
    RULE: "Supplier rule: {supplier}",
    DEFAULT_EXPENSE_CLAIMS: "Default expense claims integration",
    DEFAULT_PUBLISHING: "Default publishing integration",
    MAIN: "Main accounting software",
}


@dataclass(frozen=True)
class RoutingFacts:
    """The account-level inputs of the rule, read in two queries whatever the number of items."""

    account_id: int
    live: dict[int, Connection] = field(default_factory=dict)  # live connections by id
    main_id: int | None = None
    # Where each default sends items when that is not the main software: the connection id from
    # integrations.selectors.effective_defaults (the one home of "a default that is not live falls
    # back to the main software"), or None when the default resolves to the main software. The rule
    # below never checks a default's liveness itself.
    publishing_id: int | None = None
    expense_claims_id: int | None = None
    # A hypothetical supplier rule (supplier id, integration id or None) used by the rule preview:
    # it replaces whatever rule that supplier has in the database.
    rule_override: tuple[int, int | None] | None = None

    def without(self, connection_id: int) -> RoutingFacts:
        """The same account after `connection_id` is disconnected: a default that sent items there
        now sends them to the main software, as effective_defaults would answer afterwards."""

        def drop(pk: int | None) -> int | None:
            return None if pk == connection_id else pk

        live = {pk: c for pk, c in self.live.items() if pk != connection_id}
        return replace(
            self,
            live=live,
            main_id=drop(self.main_id),
            publishing_id=drop(self.publishing_id),
            expense_claims_id=drop(self.expense_claims_id),
        )

    def with_defaults(self, *, publishing_id: int | None, expense_claims_id: int | None) -> RoutingFacts:
        """The same account with other defaults, as chosen on the Connections page (its dropdowns
        offer only live connections; None is the main software)."""
        return replace(
            self, publishing_id=self._target(publishing_id), expense_claims_id=self._target(expense_claims_id)
        )

    def _target(self, connection_id: int | None) -> int | None:
        """A default's connection as the rule stores it: None for the main software. Only this
        account's live connections are ever routed to (a foreign or stale id never is)."""
        return connection_id if connection_id in self.live and connection_id != self.main_id else None

    def with_rule(self, *, supplier_id: int, integration_id: int | None) -> RoutingFacts:
        return replace(self, rule_override=(supplier_id, integration_id))

    def is_live(self, connection_id: int | None) -> bool:
        return connection_id is not None and connection_id in self.live

    @property
    def main(self) -> Connection | None:
        return self.live.get(self.main_id) if self.main_id else None

    @property
    def ordered(self) -> list[Connection]:
        """The live connections as the dropdowns list them: the main software first."""
        return sorted(self.live.values(), key=lambda c: (not c.is_main, c.label))

    @property
    def has_additional(self) -> bool:
        """integrations.selectors.has_additional, answered from facts already loaded (no query):
        while it holds, the Integration column and field appear."""
        return any(not c.is_main for c in self.live.values())


def load_facts(account: Account) -> RoutingFacts:
    # Enter the account's scope here so `effective_integration(item)` works from any caller (a
    # template tag, a task, a shell) and can only ever read this account's connections.
    with scope(account=account):
        live = {c.pk: c for c in live_connections(account)}
        publishing, expense_claims = effective_defaults(account)
    main_id = next((pk for pk, c in live.items() if c.is_main), None)
    facts = RoutingFacts(account_id=account.pk, live=live, main_id=main_id)
    return facts.with_defaults(
        publishing_id=publishing.pk if publishing else None,
        expense_claims_id=expense_claims.pk if expense_claims else None,
    )


@dataclass(frozen=True)
class Route:
    connection: Connection | None  # None: no accounting software to publish to
    code: str
    supplier_name: str = ""

    @property
    def reason(self) -> str:
        return REASON_TEXT[self.code].format(supplier=self.supplier_name)

    @property
    def label(self) -> str:
        return self.connection.label if self.connection is not None else "No accounting software"


# --- (a) one item, in Python --------------------------------------------------------------------


def _rule_integration_id(item: Item, facts: RoutingFacts) -> int | None:
    if item.supplier_id is None:
        return None
    if facts.rule_override is not None and facts.rule_override[0] == item.supplier_id:
        return facts.rule_override[1]
    try:
        return item.supplier.rule.integration_id
    except SupplierRule.DoesNotExist:
        return None


def route_id_and_code(item: Item, facts: RoutingFacts) -> tuple[int | None, str]:
    """The rule itself, on one item: (connection id, reason code)."""
    if item.status == ItemStatus.PUBLISHED:
        return item.published_to_id, PUBLISHED
    if item.status == ItemStatus.PUBLISHING:
        return item.published_to_id, PUBLISHING
    if item.type in SALES_TYPES:
        return facts.main_id, SALES
    if facts.is_live(item.integration_id):
        return item.integration_id, ITEM
    rule_integration_id = _rule_integration_id(item, facts)
    if facts.is_live(rule_integration_id):
        return rule_integration_id, RULE
    if item.type == ItemType.EXPENSE_CLAIM:
        if facts.expense_claims_id is not None:
            return facts.expense_claims_id, DEFAULT_EXPENSE_CLAIMS
    elif facts.publishing_id is not None:
        return facts.publishing_id, DEFAULT_PUBLISHING
    return facts.main_id, MAIN


def default_target(facts: RoutingFacts, *, claim: bool) -> int | None:
    """Where the last steps send an item neither its own setting nor a live rule decides: the
    default of its kind, else the main software (route_id_and_code's last steps, for a count by kind)."""
    target = facts.expense_claims_id if claim else facts.publishing_id
    return target if target is not None else facts.main_id


def effective_integration(item: Item, facts: RoutingFacts | None = None) -> Route:
    facts = facts if facts is not None else load_facts(item.account)
    connection_id, code = route_id_and_code(item, facts)
    if code in (PUBLISHED, PUBLISHING):
        connection = item.published_to
    else:
        connection = facts.live.get(connection_id) if connection_id else None
    supplier_name = item.supplier.name if code == RULE else ""
    return Route(connection=connection, code=code, supplier_name=supplier_name)


# A supplier id no row has (ids start at 1): the probe item of `rule_route` stands for "an item of
# the rule's supplier" without reading any supplier.
_RULE_PROBE = 0


def rule_route(facts: RoutingFacts, *, integration_id: int | None) -> Route:
    """Where the items of a supplier rule with Integration `integration_id` publish, by the rule above:
    asked for a bill of that supplier with no integration of its own, so the rule's Integration when it
    is live, else the default publishing integration, else the main software. The supplier rule page
    offers the Category and Tax rate of that software's lists (costs/lists.py); an item of the
    supplier that goes elsewhere (an expense claim sent by its own default, an item's override) gets
    the rule's values carried over when they are filled in."""
    probe = Item(type=ItemType.BILL, status=ItemStatus.READY, supplier_id=_RULE_PROBE)
    connection_id, code = route_id_and_code(
        probe, facts.with_rule(supplier_id=_RULE_PROBE, integration_id=integration_id)
    )
    connection = facts.live.get(connection_id) if connection_id else None
    return Route(connection=connection, code=code)


# --- (b) many items, in SQL ---------------------------------------------------------------------


def _route_cases(facts: RoutingFacts, *, unpublished: bool = False) -> tuple[Case, Case]:
    """The same precedence as `route_id_and_code`, as two CASE expressions (id, reason code).
    `unpublished`: the caller's rows are never published nor being published (changeable items only),
    so the frozen steps are left out (and the status column need not be read: the previews count
    from an index that has no status)."""
    live_ids = list(facts.live)
    steps: list[tuple[Q, object, str]] = (
        []
        if unpublished
        else [
            (Q(status=ItemStatus.PUBLISHED), F("published_to_id"), PUBLISHED),
            (Q(status=ItemStatus.PUBLISHING), F("published_to_id"), PUBLISHING),
        ]
    )
    steps.append((Q(type__in=SALES_TYPES), Value(facts.main_id), SALES))
    if live_ids:  # with nothing live no override can apply (and `IN ()` is not valid SQL)
        steps.append((Q(integration_id__in=live_ids), F("integration_id"), ITEM))
        stored_rule = Q(supplier__rule__integration_id__in=live_ids)
        if facts.rule_override is not None:
            supplier_id, integration_id = facts.rule_override
            if facts.is_live(integration_id):
                steps.append((Q(supplier_id=supplier_id), Value(integration_id), RULE))
            stored_rule &= ~Q(supplier_id=supplier_id)
        steps.append((stored_rule, F("supplier__rule__integration_id"), RULE))
    is_claim = Q(type=ItemType.EXPENSE_CLAIM)
    if facts.expense_claims_id is not None:
        steps.append((is_claim, Value(facts.expense_claims_id), DEFAULT_EXPENSE_CLAIMS))
    if facts.publishing_id is not None:
        steps.append((~is_claim, Value(facts.publishing_id), DEFAULT_PUBLISHING))
    route_id = Case(
        *(When(cond, then=target) for cond, target, _ in steps),
        default=Value(facts.main_id),
        output_field=BigIntegerField(),
    )
    reason = Case(
        *(When(cond, then=Value(code)) for cond, _, code in steps),
        default=Value(MAIN),
        output_field=CharField(),
    )
    return route_id, reason


def annotate_routes(
    queryset: QuerySet[Item],
    facts: RoutingFacts,
    *,
    id_name: str = "route_id",
    code_name: str = "route_code",
    unpublished: bool = False,
) -> QuerySet[Item]:
    """Annotate each item with its effective integration id and reason code, computed in SQL.
    `unpublished=True` only for a queryset that holds no published item (see `_route_cases`)."""
    route_id, reason = _route_cases(facts, unpublished=unpublished)
    # The facts describe one account: never let them route another account's items.
    return queryset.filter(account_id=facts.account_id).annotate(**{id_name: route_id, code_name: reason})


def routes_to(facts: RoutingFacts, connection_id: int | None, *, unpublished: bool = False) -> Q:
    """The items whose effective integration is `connection_id` (None: no accounting software):
    the same precedence as `_route_cases`, written as a union (OR) of branches that each name a
    column an index serves, so the planner can estimate and use them — a filter on the CASE itself
    is opaque to it and costs a scan of the whole account. The branches:
      published to X                                  (published_to)
      a sales item, X the main software               (type)
      set on the item to X, X live                    (integration)
      a supplier rule to X, X live, no live override  (supplier: the rule's suppliers, one subquery)
      a default to X, neither override nor rule       (type)
      the main software X, nothing else applies       (type)
    Kept equal to `annotate_routes(...).filter(route_id=X)` by tests/costs/test_routing_agreement.py.
    `unpublished=True` only for a queryset that holds no published item: the first branch goes."""
    branches, not_published = [], Q()
    if not unpublished:
        published = Q(status__in=FROZEN_ROUTE_STATUSES)
        went_there = Q(published_to_id=connection_id) if connection_id else Q(published_to__isnull=True)
        branches.append(published & went_there)
        not_published = ~published
    open_cost = not_published & ~Q(type__in=SALES_TYPES)
    if facts.main_id == connection_id:
        branches.append(not_published & Q(type__in=SALES_TYPES))
    live_ids = list(facts.live)
    if connection_id in facts.live:
        branches.append(open_cost & Q(integration_id=connection_id))
        branches.append(open_cost & ~Q(integration_id__in=live_ids) & _rule_to(facts, [connection_id]))
    undecided = falls_to_defaults(facts, unpublished=unpublished)
    is_claim = Q(type=ItemType.EXPENSE_CLAIM)
    if connection_id is not None and facts.expense_claims_id == connection_id:
        branches.append(undecided & is_claim)
    if connection_id is not None and facts.publishing_id == connection_id:
        branches.append(undecided & ~is_claim)
    if facts.main_id == connection_id:
        falls_through = [is_claim] if facts.expense_claims_id is None else []
        falls_through += [~is_claim] if facts.publishing_id is None else []
        if falls_through:
            branches.append(undecided & _any(falls_through))
    return Q(account_id=facts.account_id) & _any(branches)


def falls_to_defaults(facts: RoutingFacts, *, unpublished: bool = False) -> Q:
    """The items the defaults decide (or the main software after them): not published, not sales,
    neither a live integration set on the item nor a live supplier rule. Only these move when a
    default changes (costs/impact.py). `unpublished=True`: the queryset holds no published item."""
    undecided = (
        ~Q(type__in=SALES_TYPES)
        if unpublished
        else ~Q(status__in=FROZEN_ROUTE_STATUSES) & ~Q(type__in=SALES_TYPES)
    )
    live_ids = list(facts.live)
    if live_ids:
        undecided &= ~Q(integration_id__in=live_ids) & ~_rule_to(facts, live_ids)
    return Q(account_id=facts.account_id) & undecided


def _any(conditions: list[Q]) -> Q:
    if not conditions:
        return Q(pk__in=[])  # nothing routes there
    combined = conditions[0]
    for condition in conditions[1:]:
        combined |= condition
    return combined


def _rule_to(facts: RoutingFacts, connection_ids: list[int]) -> Q:
    """Items whose supplier's rule (as `facts` see it: stored, or the hypothetical one of the rule
    preview) names one of `connection_ids`. The stored rules are one subquery on the account's rules
    (a few thousand rows at most), not a join per item."""
    with scope(account=facts.account_id):
        stored = SupplierRule.objects.filter(account_id=facts.account_id, integration_id__in=connection_ids)
    condition = Q(supplier_id__in=stored.values("supplier_id"))
    if facts.rule_override is not None:
        supplier_id, integration_id = facts.rule_override
        condition = Q(supplier_id__in=stored.exclude(supplier_id=supplier_id).values("supplier_id"))
        if integration_id in connection_ids:
            condition |= Q(supplier_id=supplier_id)
    return condition


def route_from_row(item: Item, facts: RoutingFacts) -> Route:
    """The Route of an item that came out of `annotate_routes` (no query; the rule ran in SQL).
    For published items `published_to` should be select_related by the caller."""
    if item.route_code in (PUBLISHED, PUBLISHING):
        connection = item.published_to if item.published_to_id else None
    else:
        connection = facts.live.get(item.route_id) if item.route_id else None
    supplier_name = item.supplier.name if item.route_code == RULE and item.supplier_id else ""
    return Route(connection=connection, code=item.route_code, supplier_name=supplier_name)


# --- what an item may be set to -----------------------------------------------------------------


def allowed_connections(item: Item, facts: RoutingFacts) -> list[Connection]:
    """The live connections this item may be routed to: any for a cost item, only the main software
    for a sales item, none for an item that is not changeable (models.is_changeable: published,
    being published, archived)."""
    if not is_changeable(item):
        return []
    if item.type in SALES_TYPES:
        return [facts.main] if facts.main is not None else []
    return facts.ordered

"""Every write to items and supplier rules: keyword-only, `acting_user`, one transaction, an activity row.

Which integration a user may pick is decided by routing.allowed_connections; `validate_integration_choice`
(used by the item page, the bulk action and the supplier rules alike) asks it and puts a refusal into
words. Ids from a request are parsed by costs.ids.parse_id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.activity import record
from accounts.errors import DomainError
from accounts.models import Account, User
from accounts.tenancy import in_account_scope
from integrations.models import Connection
from integrations.services import and_join

from .ids import parse_id
from .impact import RULE_VALUE_LABELS, items_missing_rule_values, rule_change_impact, rule_values
from .models import COST_TYPES, RULE_USES_DEFAULTS, SALES_TYPES, Item, ItemStatus, Supplier, SupplierRule
from .routing import ROUTE_LOCKED, RoutingFacts, allowed_connections, load_facts

USE_RULE_OR_DEFAULT = "Use rule/default"
CHOOSE_CONNECTED = "Choose one of the integrations connected to this account."
NOT_IN_INBOX = "Some of the selected items are not in this inbox any more. Nothing changed."
SET_ONE_VALUE = "Set at least one value: category, tax rate, payment method or integration."
RULE_GONE = "That supplier rule does not exist any more."


def already_has_a_rule(supplier: Supplier) -> str:
    return f"{supplier.name} already has a rule — edit it instead."


def item_name(item: Item) -> str:
    return f"{item.get_type_display()} {item.reference}" if item.reference else f"Item #{item.pk}"


def validate_integration_choice(
    *, facts: RoutingFacts, connection_id: int | None, item: Item | None = None
) -> Connection | None:
    """The one check of an integration picked by a user, for `item` or (item=None) a supplier rule.
    None means "Use rule/default". What may be picked is routing.allowed_connections (the one home of
    "sales: main only" and "published or publishing: locked"); this only turns a refusal into words
    that say what to do. Raises DomainError (code "published" or "publishing" when the item's route is
    locked, whatever was picked)."""
    if item is not None:
        allowed = allowed_connections(item, facts)
        frozen = not allowed and item.status in ROUTE_LOCKED
    else:
        allowed, frozen = facts.ordered, False  # a rule may name any live connection
    if connection_id is None and not frozen:
        return None
    connection = next((c for c in allowed if c.pk == connection_id), None)
    if connection is not None:
        return connection
    raise _refusal(facts=facts, connection_id=connection_id, item=item, frozen=frozen)


def _refusal(
    *, facts: RoutingFacts, connection_id: int | None, item: Item | None, frozen: bool
) -> DomainError:
    """Why `connection_id` is not among the connections allowed for `item`, in words."""
    if frozen and item.status == ItemStatus.PUBLISHING:
        return DomainError(
            f"{item_name(item)} is being published: where it publishes cannot change now.",
            code="publishing",
        )
    if frozen:
        return DomainError(
            f"{item_name(item)} is already published: where it publishes can no longer change.",
            code="published",
        )
    connection = facts.live.get(connection_id) if connection_id is not None else None
    if connection is None:
        # Only this account's connections are visible in the scope: a foreign id reads as unknown.
        known = None
        if parse_id(connection_id) is not None:
            known = Connection.objects.filter(account_id=facts.account_id, pk=connection_id).first()
        if known is not None:
            return DomainError(
                f"{known.label} is not connected any more. Reconnect it on the Connections page, or "
                f"choose one of the connected integrations.",
                code="not_live",
            )
        return DomainError(CHOOSE_CONNECTED, code="unknown")
    # Live, yet not allowed for this item: allowed_connections offers sales items the main software
    # alone, so that is the reason to give.
    if item is None or item.type not in SALES_TYPES:
        return DomainError(CHOOSE_CONNECTED, code="not_allowed")
    main = facts.main.label if facts.main else "your main accounting software"
    return DomainError(
        f"Sales items can only be published to your main accounting software ({main}), "
        f"not to {connection.label}.",
        code="sales_main_only",
    )


def _setting_label(connection_id: int | None, facts: RoutingFacts) -> str:
    if connection_id is None:
        return USE_RULE_OR_DEFAULT
    connection = facts.live.get(connection_id)
    return connection.label if connection else f"Connection #{connection_id}"


def _stored_id(item: Item, connection: Connection | None) -> int | None:
    # A sales item always goes to the main software: storing its choice would only go stale.
    return None if item.type in SALES_TYPES or connection is None else connection.pk


@in_account_scope
def set_item_integration(
    *, account: Account, acting_user: User, item_id: int, connection_id: int | None
) -> Item:
    with transaction.atomic():
        item = Item.objects.select_for_update().get(account=account, pk=item_id)
        facts = load_facts(account)
        connection = validate_integration_choice(facts=facts, connection_id=connection_id, item=item)
        _apply_integration(
            account=account, acting_user=acting_user, item=item, connection=connection, facts=facts
        )
        return item


def _apply_integration(
    *, account: Account, acting_user: User, item: Item, connection: Connection | None, facts: RoutingFacts
) -> bool:
    new_id = _stored_id(item, connection)
    if item.integration_id == new_id:
        return False
    before = _setting_label(item.integration_id, facts)
    item.integration_id = new_id
    item.save(update_fields=["integration", "updated_at"])
    record(
        account=account,
        actor=acting_user,
        action="item.integration_changed",
        summary=f"Changed the integration of {item_name(item)}",
        before=before,
        after=_setting_label(new_id, facts),
    )
    return True


@in_account_scope
def bulk_set_integration(
    *, account: Account, acting_user: User, item_ids: Iterable[int | str], connection_id: int | None
) -> int:
    """Set the integration of many cost items: all or nothing. Returns how many were selected.
    `item_ids` may come straight from the request: a malformed id refuses the whole change."""
    parsed = [parse_id(pk) for pk in item_ids]
    if not parsed:
        raise DomainError("Select at least one item first.", code="empty")
    if None in parsed:
        raise DomainError(NOT_IN_INBOX, code="unknown_item")
    ids = sorted(set(parsed))
    with transaction.atomic():
        items = list(
            Item.objects.select_for_update()
            .filter(account=account, pk__in=ids, type__in=COST_TYPES)
            .order_by("pk")
        )
        if len(items) != len(ids):
            raise DomainError(NOT_IN_INBOX, code="unknown_item")
        facts = load_facts(account)
        blocked: dict[str, list[str]] = {"published": [], "publishing": []}
        connection = None
        for item in items:
            try:
                connection = validate_integration_choice(facts=facts, connection_id=connection_id, item=item)
            except DomainError as error:
                if error.code not in blocked:
                    raise  # the choice itself is wrong, whatever the items
                blocked[error.code].append(item_name(item))
        if any(blocked.values()):
            raise _bulk_blocked(blocked)
        new_id = connection.pk if connection else None
        changed = [item for item in items if item.integration_id != new_id]
        # From: the setting the changed items had — one, or "Mixed: …" when they differed.
        previous = sorted({_setting_label(item.integration_id, facts) for item in changed})
        before = previous[0] if len(previous) == 1 else "Mixed: " + ", ".join(previous)
        Item.objects.filter(pk__in=[i.pk for i in changed]).update(
            integration_id=new_id, updated_at=timezone.now()
        )
        if changed:
            record(
                account=account,
                actor=acting_user,
                action="item.integration_changed",
                summary=f"Changed the integration of {len(changed)} item{'s' if len(changed) != 1 else ''}: "
                + and_join([item_name(i) for i in changed[:10]])
                + ("…" if len(changed) > 10 else ""),
                before=before,
                after=_setting_label(new_id, facts),
            )
        return len(items)


def _bulk_blocked(blocked: dict[str, list[str]]) -> DomainError:
    """All or nothing: which selected items stopped the change, and what to do about it."""
    wording = {"published": "already published", "publishing": "being published"}
    parts = [
        f"{and_join(names)} {'is' if len(names) == 1 else 'are'} {wording[code]}"
        for code, names in blocked.items()
        if names
    ]
    one = sum(len(names) for names in blocked.values()) == 1
    return DomainError(
        f"Nothing changed: {'; '.join(parts)}. Unselect {'it' if one else 'them'} and try again.",
        code="published" if blocked["published"] else "publishing",
    )


ITEM_FIELDS = (
    "type",
    "date",
    "due_date",
    "supplier",
    "reference",
    "category",
    "tax",
    "tax_rate",
    "total",
    "currency",
    "description",
    "owner",
    "paid",
    "payment_method",
)


@in_account_scope
def update_item(
    *,
    account: Account,
    acting_user: User,
    item_id: int,
    data: dict[str, Any],
    connection_id: int | None = None,
    change_integration: bool = False,
) -> Item:
    """Save the item's fields (`data`, already cleaned by the form) and, when `change_integration`,
    its integration — in one transaction: a refused integration changes nothing else either."""
    with transaction.atomic():
        item = Item.objects.select_for_update().get(account=account, pk=item_id)
        if item.status == ItemStatus.PUBLISHED:
            raise DomainError(f"{item_name(item)} is already published and can no longer be changed.")
        facts = load_facts(account)
        new_type = data.get("type", item.type)
        allowed_types = SALES_TYPES if item.type in SALES_TYPES else COST_TYPES
        if new_type not in allowed_types:
            raise DomainError("A cost item cannot become a sales item, nor the other way round.")
        supplier = data.get("supplier")
        if supplier is not None and supplier.account_id != account.pk:
            raise DomainError("Choose one of this account's suppliers.")
        if change_integration:
            # Validate against the item as it will be (its new type decides what it may go to).
            item.type = new_type
            connection = validate_integration_choice(facts=facts, connection_id=connection_id, item=item)
        changed = [name for name in ITEM_FIELDS if name in data and getattr(item, name) != data[name]]
        for name in changed:
            setattr(item, name, data[name])
        from_rule: list[str] = []
        if "supplier" in changed and item.supplier_id is not None and item.status not in ROUTE_LOCKED:
            # A new supplier: its rule fills in what the item leaves blank (never its integration on a
            # sales item: routing ignores rules for sales; never on an item being published: what it
            # publishes has already gone out).
            new_rule = SupplierRule.objects.filter(account=account, supplier_id=item.supplier_id).first()
            for name, value in rule_values(new_rule).items() if new_rule else ():
                if not getattr(item, name):
                    setattr(item, name, value)
                    from_rule.append(name)
        item.save()
        if changed:
            summary = f"Edited {item_name(item)}: {', '.join(f.replace('_', ' ') for f in changed)}"
            if from_rule:
                summary += (
                    f"; filled in the {and_join([RULE_VALUE_LABELS[f] for f in from_rule])} "
                    f"from the supplier rule for {item.supplier.name}"
                )
            record(account=account, actor=acting_user, action="item.updated", summary=summary)
        if change_integration:
            _apply_integration(
                account=account, acting_user=acting_user, item=item, connection=connection, facts=facts
            )
        return item


@dataclass(frozen=True)
class RuleSaved:
    rule: SupplierRule
    filled: int  # unpublished items that got the rule's category, tax rate or payment method
    rerouted: int  # unpublished items whose effective integration changed


@in_account_scope
def save_rule(
    *,
    account: Account,
    acting_user: User,
    supplier_id: int,
    rule_id: int | None = None,
    category: str = "",
    tax_rate: str = "",
    payment_method: str = "",
    integration_id: int | None = None,
) -> RuleSaved:
    """Create the rule of a supplier of this account (rule_id=None; refused if the supplier has one
    already) or change the rule `rule_id` of that supplier, and apply it: the supplier's unpublished,
    non-archived items (not those being published) get the rule's category, tax rate and payment
    method wherever theirs are blank; its Integration re-routes them (through the routing rule,
    nothing stored). A rule must set at least one value."""
    if not (category or tax_rate or payment_method or integration_id is not None):
        raise DomainError(SET_ONE_VALUE, code="empty_rule")
    with transaction.atomic():
        # Lock the supplier: two tabs saving its first rule at once must not both try to create it.
        supplier = Supplier.objects.select_for_update().filter(account=account, pk=supplier_id).first()
        if supplier is None:
            raise DomainError(
                "That supplier is not one of this account's suppliers.", code="unknown_supplier"
            )
        facts = load_facts(account)
        connection = validate_integration_choice(facts=facts, connection_id=integration_id)
        rule = (
            SupplierRule.objects.select_for_update(of=("self",))
            .select_related("integration")
            .filter(supplier=supplier)
            .first()
        )
        if rule_id is None and rule is not None:
            raise DomainError(already_has_a_rule(supplier), code="rule_exists")
        if rule_id is not None and (rule is None or rule.pk != rule_id):
            raise DomainError(RULE_GONE, code="not_found")
        before = rule.integration_label if rule else "No rule"
        created = rule is None
        rerouted = rule_change_impact(
            account=account,
            supplier_id=supplier.pk,
            integration_id=connection.pk if connection else None,
            facts=facts,
        ).items
        rule = rule or SupplierRule(account=account, supplier=supplier)
        rule.category = category
        rule.tax_rate = tax_rate
        rule.payment_method = payment_method
        rule.integration = connection
        rule.updated_at = timezone.now()
        rule.save()
        filled = _fill_from_rule(account=account, rule=rule)
        record(
            account=account,
            actor=acting_user,
            action="rule.created" if created else "rule.changed",
            summary=f"{'Created' if created else 'Changed'} the supplier rule for {supplier.name}: "
            f"re-routes {_count(rerouted)}",
            before=before,
            after=connection.label if connection else RULE_USES_DEFAULTS,
        )
        if filled:
            names = and_join([RULE_VALUE_LABELS[name] for name in rule_values(rule)])
            record(
                account=account,
                actor=acting_user,
                action="rule.applied",
                summary=f"Filled in the {names} of {_count(filled)} of {supplier.name} "
                f"from its supplier rule",
                after=", ".join(f"{RULE_VALUE_LABELS[k]}: {v}" for k, v in rule_values(rule).items()),
            )
        return RuleSaved(rule=rule, filled=filled, rerouted=rerouted)


def _count(n: int) -> str:
    return f"{n} unpublished item{'s' if n != 1 else ''}"


def _fill_from_rule(*, account: Account, rule: SupplierRule) -> int:
    """Give the supplier's unpublished items the rule's values where theirs are blank. Returns how
    many items got at least one value. One count and one UPDATE per field, whatever the number."""
    values = rule_values(rule)
    missing = items_missing_rule_values(account=account, supplier_id=rule.supplier_id, values=values)
    filled = missing.count()
    if filled:
        now = timezone.now()
        for name, value in values.items():
            missing.filter(**{name: ""}).update(**{name: value, "updated_at": now})
    return filled


@in_account_scope
def delete_rule(*, account: Account, acting_user: User, rule_id: int) -> None:
    with transaction.atomic():
        rule = (
            SupplierRule.objects.select_related("supplier", "integration")
            .filter(account=account, pk=rule_id)
            .first()
        )
        if rule is None:
            raise DomainError(RULE_GONE, code="not_found")
        name = rule.supplier.name
        before = rule.integration_label
        rule.delete()
        record(
            account=account,
            actor=acting_user,
            action="rule.deleted",
            summary=f"Deleted the supplier rule for {name}",
            before=before,
            after="No rule",
        )

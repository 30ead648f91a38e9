"""Every write to items and supplier rules: keyword-only, `acting_user`, one transaction, an activity row.

Which integration a user may pick is decided by routing.allowed_connections; `validate_integration_choice`
(used by the item page, the bulk action and the supplier rules alike) asks it and puts a refusal into
words. Ids from a request are parsed by costs.ids.parse_id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from copy import copy
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.activity import record
from accounts.errors import DomainError
from accounts.models import Account, User
from accounts.tenancy import in_account_scope
from integrations.lists import source_for
from integrations.models import Connection, ListEntry, ListKind
from integrations.services import and_join

from . import lists
from .ids import parse_id
from .impact import (
    ENTRY_FIELDS,
    RULE_VALUE_LABELS,
    blank,
    items_missing_rule_values,
    rule_change_impact,
    rule_values,
)
from .models import (
    COST_TYPES,
    RULE_USES_DEFAULTS,
    SALES_TYPES,
    Item,
    ItemStatus,
    Supplier,
    SupplierRule,
    is_changeable,
)
from .routing import RoutingFacts, allowed_connections, annotate_routes, load_facts

USE_RULE_OR_DEFAULT = "Use rule/default"
CHOOSE_CONNECTED = "Choose one of the integrations connected to this account."
NOT_IN_INBOX = "Some of the selected items are not in this inbox any more. Nothing changed."
SET_ONE_VALUE = "Set at least one value: category, tax rate, payment method or integration."
RULE_GONE = "That supplier rule does not exist any more."


def already_has_a_rule(supplier: Supplier) -> str:
    return f"{supplier.name} already has a rule — edit it instead."


def item_name(item: Item) -> str:
    return f"{item.get_type_display()} {item.reference}" if item.reference else f"Item #{item.pk}"


def not_changeable_reason(item: Item) -> str:
    """Why the item's fields cannot be edited ("" when they can: models.is_changeable)."""
    if is_changeable(item):
        return ""
    if item.status == ItemStatus.PUBLISHING:
        return (
            f"{item_name(item)} is being published: it cannot be changed until that finishes or is cancelled."
        )
    if item.status == ItemStatus.ARCHIVED:
        return f"{item_name(item)} is archived and cannot be changed."
    return f"{item_name(item)} is already published and can no longer be changed."


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
        frozen = not allowed and not is_changeable(item)
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
    if frozen and item.status == ItemStatus.ARCHIVED:
        return DomainError(
            f"{item_name(item)} is archived: where it publishes cannot change.", code="archived"
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


@dataclass
class BulkChange:
    """What a bulk change did: how many selected items it applied to (changed or already so), and the
    items it skipped, each with the reason (not changeable: models.is_changeable)."""

    applied: int = 0
    skipped: list[tuple[Item, str]] = field(default_factory=list)


@in_account_scope
def bulk_set_integration(
    *, account: Account, acting_user: User, item_ids: Iterable[int | str], connection_id: int | None
) -> BulkChange:
    """Set the integration of many cost items: the changeable ones change, the others (published, being
    published, archived) are skipped with the reason. `item_ids` may come straight from the request: a
    malformed id, another account's item or a sales item refuses the whole change (nothing changes), as
    does a wrong choice of integration, or a selection of which no item may change."""
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
        blocked: dict[str, list[str]] = {"published": [], "publishing": [], "archived": []}
        result = BulkChange()
        eligible: list[Item] = []
        connection = None
        for item in items:
            try:
                connection = validate_integration_choice(facts=facts, connection_id=connection_id, item=item)
            except DomainError as error:
                if error.code not in blocked:
                    raise  # the choice itself is wrong, whatever the items
                blocked[error.code].append(item_name(item))
                result.skipped.append((item, not_changeable_reason(item)))
            else:
                eligible.append(item)
        if not eligible:
            raise _bulk_blocked(blocked)
        new_id = connection.pk if connection else None
        changed = [item for item in eligible if item.integration_id != new_id]
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
        result.applied = len(eligible)
        return result


def _bulk_blocked(blocked: dict[str, list[str]]) -> DomainError:
    """None of the selection may change: which items, and why."""
    wording = {"published": "already published", "publishing": "being published", "archived": "archived"}
    parts = [
        f"{and_join(names)} {'is' if len(names) == 1 else 'are'} {wording[code]}"
        for code, names in blocked.items()
        if names
    ]
    return DomainError(
        f"Nothing changed: {'; '.join(parts)}.",
        code=next(code for code, names in blocked.items() if names),
    )


ITEM_FIELDS = (
    "type",
    "date",
    "due_date",
    "reference",
    "tax",
    "total",
    "currency",
    "description",
    "owner",
    "paid",
    "payment_method",
)
# Chosen from the lists of the software the item publishes to (costs/lists.py), posted as ids and
# checked by lists.choice_to_store / lists.supplier_choice.
LIST_FIELDS = ("supplier", "category_entry", "tax_rate_entry")
# What the activity log calls them.
LIST_FIELD_NAMES = {"supplier": "supplier", "category_entry": "category", "tax_rate_entry": "tax rate"}


@in_account_scope
def update_item(
    *,
    account: Account,
    acting_user: User,
    item_id: int,
    data: dict[str, Any],
    connection_id: int | None = None,
    change_integration: bool = False,
    chosen: Mapping[str, str | None] | None = None,
) -> Item:
    """Save the item's fields (`data`, already cleaned by the form), its Supplier, Category and Tax rate
    (`chosen`: the posted values of LIST_FIELDS, absent = unchanged; checked here, against the lists
    of the software the item publishes to) and, when `change_integration`, its integration — in one
    transaction: a refused integration or choice changes nothing else either.

    A change of Integration (or of supplier, whose rule may route it) that moves the item to software
    with other lists carries its Category and Tax rate over by the one rule (costs/lists.py): the
    entries of the same code or name, else kept and named on the page as needing a choice."""
    chosen = chosen or {}
    with transaction.atomic():
        item = (
            Item.objects.select_for_update(of=("self",))
            .select_related("category_entry__connection", "tax_rate_entry__connection")
            .get(account=account, pk=item_id)
        )
        refused = not_changeable_reason(item)
        if refused:
            raise DomainError(refused, code=item.status)
        facts = load_facts(account)
        old_source = lists.source_of(item, facts)
        new_type = data.get("type", item.type)
        allowed_types = SALES_TYPES if item.type in SALES_TYPES else COST_TYPES
        if new_type not in allowed_types:
            raise DomainError("A cost item cannot become a sales item, nor the other way round.")
        if change_integration:
            # Validate against the item as it will be (its new type decides what it may go to).
            item.type = new_type
            connection = validate_integration_choice(facts=facts, connection_id=connection_id, item=item)
        # The lists the page offered: those of the item with its new type and Integration (the page
        # follows the Integration field), and those it had before.
        page = copy(item)
        page.type = new_type
        if change_integration:
            page.integration_id = _stored_id(page, connection)
        page_source = lists.source_of(page, facts)
        offered = (page_source, old_source)
        picked = lists.supplier_choice(
            chosen.get("supplier"), account=account, offered=offered, sales=item.type in SALES_TYPES
        )
        linked = ""
        if picked is not None and picked.entry is not None:
            supplier, created = lists.link_chosen(account=account, entry=picked.entry)
            picked = lists.SupplierChoice(supplier, entry=picked.entry)
            linked = (
                f"; {'added' if created else 'linked'} {supplier.name}, "
                f"chosen from {picked.entry.connection.label}'s suppliers"
            )
        changed = [name for name in ITEM_FIELDS if name in data and getattr(item, name) != data[name]]
        for name in changed:
            setattr(item, name, data[name])
        if picked is not None and (picked.supplier.pk if picked.supplier else None) != item.supplier_id:
            item.supplier = picked.supplier
            changed.append("supplier")
        # Where the item publishes now (type, Integration and supplier as saved): its lists decide.
        probe = copy(item)
        if change_integration:
            probe.integration_id = _stored_id(item, connection)
        source = lists.source_of(probe, facts)
        use = lists.use_of(item)
        for field_name, kind in (("category_entry", ListKind.ACCOUNT), ("tax_rate_entry", ListKind.TAX_RATE)):
            text_name = field_name.removesuffix("_entry")
            stored = lists.choice_to_store(
                chosen.get(field_name),
                kind=kind,
                source=source,
                offered=offered,
                use=use,
                stored=getattr(item, field_name),
                typed=getattr(item, text_name),
            )
            if stored is None:
                continue
            if (getattr(item, f"{field_name}_id"), getattr(item, text_name)) != (
                stored.entry.pk if stored.entry else None,
                stored.text,
            ):
                setattr(item, field_name, stored.entry)
                setattr(item, text_name, stored.text)
                changed.append(field_name)
        from_rule: list[str] = []
        if "supplier" in changed and item.supplier_id is not None:
            # A new supplier: its rule fills in what the item leaves blank (never its integration on a
            # sales item: routing ignores rules for sales; never on an item being published: what it
            # publishes has already gone out). Category and Tax rate are carried over to the item's
            # lists by the one rule.
            new_rule = (
                SupplierRule.objects.filter(account=account, supplier_id=item.supplier_id)
                .select_related("category_entry__connection", "tax_rate_entry__connection")
                .first()
            )
            from_rule = _fill_item_from_rule(item, new_rule, source=source, use=use) if new_rule else []
        item.save()
        if changed or linked:
            names = [LIST_FIELD_NAMES.get(f, f.replace("_", " ")) for f in changed] or ["supplier's link"]
            summary = f"Edited {item_name(item)}: {', '.join(names)}{linked}"
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


def _fill_item_from_rule(item: Item, rule: SupplierRule, *, source, use: str) -> list[str]:
    """Give `item` the rule's values where its own are blank; Category and Tax rate carried over to
    `source`'s lists (or kept as the rule's entry, named on the page for choosing). Returns the fields
    filled."""
    filled = []
    for name, value in rule_values(rule).items():
        entry_field = ENTRY_FIELDS.get(name)
        if getattr(item, name) or (entry_field and getattr(item, f"{entry_field}_id")):
            continue
        entry = getattr(rule, entry_field) if entry_field else None
        if entry is not None:
            kept = (lists.carry(entry, to=source, use=use) if source is not None else None) or entry
            setattr(item, entry_field, kept)
            value = kept.name[:100]
        setattr(item, name, value)
        filled.append(name)
    return filled


@dataclass(frozen=True)
class RuleSaved:
    rule: SupplierRule
    filled: int  # unpublished items that got the rule's category, tax rate or payment method
    rerouted: int  # unpublished items whose effective integration changed


def _raw(value: str | int | None) -> str | None:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


@in_account_scope
def save_rule(
    *,
    account: Account,
    acting_user: User,
    supplier_id: int,
    rule_id: int | None = None,
    category_entry: str | int | None = None,
    tax_rate_entry: str | int | None = None,
    payment_method: str = "",
    integration_id: int | None = None,
) -> RuleSaved:
    """Create the rule of a supplier of this account (rule_id=None; refused if the supplier has one
    already) or change the rule `rule_id` of that supplier, and apply it: the supplier's unpublished,
    non-archived items (not those being published) get the rule's category, tax rate and payment
    method wherever theirs are blank; its Integration re-routes them (through the routing rule,
    nothing stored). A rule must set at least one value.

    Category and Tax rate are entries of the lists of the software the rule's items publish to
    (costs/lists.py, `rule_source`), posted as ids (lists.choice_to_store: None or KEEP leaves the
    stored value, "" clears it); a change of the rule's Integration carries them over by the one rule."""
    with transaction.atomic():
        # Lock the supplier: two tabs saving its first rule at once must not both try to create it.
        supplier = _locked_supplier(account, supplier_id)
        facts = load_facts(account)
        connection = validate_integration_choice(facts=facts, connection_id=integration_id)
        rule = (
            SupplierRule.objects.select_for_update(of=("self",))
            .select_related("integration", "category_entry__connection", "tax_rate_entry__connection")
            .filter(supplier=supplier)
            .first()
        )
        if rule_id is None and rule is not None:
            raise DomainError(already_has_a_rule(supplier), code="rule_exists")
        if rule_id is not None and (rule is None or rule.pk != rule_id):
            raise DomainError(RULE_GONE, code="not_found")
        before = rule.integration_label if rule else "No rule"
        created = rule is None
        old_source = lists.rule_source(facts, rule.integration_id) if rule else None
        rule = rule or SupplierRule(account=account, supplier=supplier)
        source = lists.rule_source(facts, connection.pk if connection else None)
        for field_name, raw, kind in (
            ("category_entry", category_entry, ListKind.ACCOUNT),
            ("tax_rate_entry", tax_rate_entry, ListKind.TAX_RATE),
        ):
            text_name = field_name.removesuffix("_entry")
            stored = lists.choice_to_store(
                _raw(raw),
                kind=kind,
                source=source,
                offered=(old_source,),
                use=lists.COSTS,
                stored=getattr(rule, field_name),
                typed=getattr(rule, text_name),
            )
            if stored is not None:
                setattr(rule, field_name, stored.entry)
                setattr(rule, text_name, stored.text)
        if not (rule.category or rule.tax_rate or payment_method or connection is not None):
            raise DomainError(SET_ONE_VALUE, code="empty_rule")
        rerouted = rule_change_impact(
            account=account,
            supplier_id=supplier.pk,
            integration_id=connection.pk if connection else None,
            facts=facts,
        ).items
        rule.payment_method = payment_method
        rule.integration = connection
        rule.updated_at = timezone.now()
        rule.save()
        filled = _fill_from_rule(account=account, rule=rule, facts=facts)
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


def _fill_from_rule(*, account: Account, rule: SupplierRule, facts: RoutingFacts) -> int:
    """Give the supplier's unpublished items the rule's values where theirs are blank. Returns how
    many items got at least one value. Category and Tax rate are carried over to the lists of the
    software each item publishes to (lists.carry: same code, then name), or stored as the rule's entry
    for the item page to name as needing a choice. A fixed number of statements whatever the number
    of items: one count, then one UPDATE per field (per software and cost/sales for the entries)."""
    values = rule_values(rule)
    missing = items_missing_rule_values(account=account, supplier_id=rule.supplier_id, values=values)
    filled = missing.count()
    if not filled:
        return 0
    now = timezone.now()
    for name, value in values.items():
        targets = missing.filter(blank(name))
        entry = getattr(rule, ENTRY_FIELDS[name]) if name in ENTRY_FIELDS else None
        if entry is None:  # payment method, or a value typed before the lists existed
            targets.update(**{name: value, "updated_at": now})
            continue
        for use, types in ((lists.COSTS, COST_TYPES), (lists.SALES, SALES_TYPES)):
            routed = annotate_routes(targets.filter(type__in=types), facts)
            for route_id in routed.order_by().values_list("route_id", flat=True).distinct():
                source = source_for(facts.live.get(route_id)) if route_id else None
                kept = (lists.carry(entry, to=source, use=use) if source is not None else None) or entry
                group = routed.filter(route_id=route_id) if route_id else routed.filter(route_id__isnull=True)
                Item.objects.filter(pk__in=group.values("pk")).update(
                    **{ENTRY_FIELDS[name]: kept, name: kept.name[:100], "updated_at": now}
                )
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


# The Supplier-link choice "create it there when its first bill is published" (rather than an entry).
CREATE_AT_PUBLISH = "new"


def _locked_supplier(account: Account, supplier_id) -> Supplier:
    """The account's supplier `supplier_id`, its row locked for the rest of the transaction (two tabs
    changing it at once go one after the other); another account's or a forged id is refused."""
    supplier = Supplier.objects.select_for_update().filter(account=account, pk=supplier_id).first()
    if supplier is None:
        raise DomainError("That supplier is not one of this account's suppliers.", code="unknown_supplier")
    return supplier


@in_account_scope
def link_supplier(
    *, account: Account, acting_user: User, supplier_id: int, connection_id: int | str | None, entry: str
) -> lists.SupplierValue:
    """Link a supplier to a contact/vendor of a live connection by hand (the supplier rule page):
    `entry` is the id of an active entry of that connection's suppliers (for software without lists of
    its own, ApprovalMax, the main software's), or CREATE_AT_PUBLISH. Anything else — another account's
    or connection's entry, an archived one, a connection that is not live — is refused, nothing changes."""
    with transaction.atomic():
        supplier = _locked_supplier(account, supplier_id)
        facts = load_facts(account)
        connection = facts.live.get(parse_id(connection_id)) if parse_id(connection_id) else None
        if connection is None:
            raise DomainError(CHOOSE_CONNECTED, code="unknown")
        source = source_for(connection)
        if source is None or ListKind.SUPPLIER not in lists.provider_lists.kinds_of(source):
            raise DomainError(f"{connection.label} keeps no suppliers of its own.", code="not_kept")
        chosen = None
        if entry != CREATE_AT_PUBLISH:
            entry_id = parse_id(entry)
            chosen = (
                ListEntry.objects.filter(account=account, pk=entry_id, kind=ListKind.SUPPLIER).first()
                if entry_id is not None
                else None
            )
            if chosen is None or chosen.connection_id != source.pk:
                raise DomainError(
                    f"That supplier is not in {source.label}'s suppliers: choose one from the list.",
                    code="not_in_list",
                )
            if not chosen.active:
                raise DomainError(
                    f"‘{chosen.name}’ is archived in {source.label} and can no longer be chosen.",
                    code="archived",
                )
        before = lists.supplier_value(supplier, source)
        lists.set_link(account=account, supplier=supplier, connection=source, entry=chosen)
        after = lists.supplier_value(supplier, source)
        record(
            account=account,
            actor=acting_user,
            action="supplier.linked",
            summary=f"Chose {supplier.name}'s supplier in {source.label}",
            before=before.message,
            after=after.message,
        )
        return after


@in_account_scope
def mark_ready(*, account: Account, acting_user: User, item_id: int) -> Item:
    """To review -> Ready: the item is checked and may be published. Refused, changing nothing, for an
    item in any other state, or one without its supplier (a customer, on a sales invoice) or total."""
    with transaction.atomic():
        item = (
            Item.objects.select_for_update(of=("self",))
            .select_related("supplier")
            .get(account=account, pk=item_id)
        )
        if item.status != ItemStatus.TO_REVIEW:
            refused = (
                not_changeable_reason(item) or f"{item_name(item)} is {item.get_status_display()} already."
            )
            raise DomainError(refused, code="not_to_review")
        missing = []
        if item.supplier_id is None:
            missing.append("customer" if item.type in SALES_TYPES else "supplier")
        if not item.total:
            missing.append("total")
        if missing:
            raise DomainError(
                f"Choose the {and_join(missing)} first: an item is Ready once it has them.", code="incomplete"
            )
        item.status = ItemStatus.READY
        item.save(update_fields=["status", "updated_at"])
        record(
            account=account,
            actor=acting_user,
            action="item.ready",
            summary=f"Marked {item_name(item)} Ready",
            before=ItemStatus.TO_REVIEW.label,
            after=ItemStatus.READY.label,
        )
        return item

"""Category, Tax rate and Supplier as choices from the lists of the software an item publishes to.

The one place that answers, for an item or a supplier rule:
- whose lists it chooses from: its effective integration (costs/routing.py, the one precedence rule)
  passed through `integrations.lists.source_for` (ApprovalMax has none of its own: the main
  software's). A sales item publishes to the main software, so it chooses from the main software's
  lists. No accounting software: no lists, and nothing to type either ("Connect accounting software
  to choose a category"); what was typed before stays stored and named.
- what its Category and Tax rate are *for that software* (`resolve`): the stored entry when it belongs
  to that software's list and is active; else carried over with `integrations.lists.find_match` (same
  code, then same name, then same normalised name) from the stored entry of other software, or from
  the name typed before the lists existed; else "needs choosing", with the old value named. A value is
  never dropped silently: it stays stored until someone chooses another.
- which contact or vendor its Supplier is there (`supplier_value`): the stored SupplierLink, else the
  entry `find_match` finds by name, else "created when its first bill is published".

`values_for(item, facts)` answers all three at once; the item page shows it, and publishing (issue 10)
sends what it says (`ListValues.category.entry`, `.tax_rate.entry`, `.supplier`). The supplier rule
page asks `values_for_rule`. Saving goes through `choice_to_store` / `supplier_choice`, which re-check
every id posted (another account's or connection's entry, an archived one, a forged link: refused with
a message; the services roll back). `search_entries` / `search_suppliers` feed the type-ahead widget
(templates/costs/_choose.html, static/js/app.js), 20 at a time, never a whole list.
"""

from __future__ import annotations

from collections.abc import Iterable
from copy import copy
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Lower

from accounts.errors import DomainError
from accounts.ids import parse_id
from accounts.models import Account
from integrations import lists as provider_lists
from integrations.models import Connection, ListEntry, ListKind, ListSync

from .models import Item, Supplier, SupplierLink, SupplierMatch, SupplierRule
from .routing import RoutingFacts, effective_integration, rule_route

# The value of a Category or Tax rate field that leaves what is stored as it is: the page posts it when
# the stored value needs choosing again (no entry of this software stands for it), so saving the rest
# of the item never drops it.
KEEP = "keep"
# A Supplier choice that names a contact/vendor of the provider's list rather than one of the
# account's own suppliers ("entry:123"); an account's supplier is its bare id.
SUPPLIER_ENTRY = "entry:"
# How many entries a search answers with at a time.
PAGE = 20

COSTS = "costs"
SALES = "sales"

# Resolution states of a Category or Tax rate (and, where they apply, of a Supplier's link).
CHOSEN = "chosen"  # the stored entry is in this software's list, active
CARRIED = "carried"  # the stored entry is other software's; this one has the same code or name
MATCHED = "matched"  # typed before the lists existed; this software has an entry of that name
TO_CHOOSE = "to_choose"  # no entry stands for the stored value here: someone chooses
EMPTY = "empty"  # nothing stored
NO_SOFTWARE = "no_software"  # no accounting software to choose from
NOT_READ = "not_read"  # the software keeps this list, but it has not been read yet
NOT_KEPT = "not_kept"  # the software keeps no such list (Bill.com has no tax rates)
LINKED = "linked"  # supplier: linked (or found by name) to a contact/vendor of the software
CREATE = "create"  # supplier: not there yet, created when its first bill is published

# (what one is called, what the list is called)
WORDS = {
    ListKind.ACCOUNT: ("category", "chart of accounts"),
    ListKind.TAX_RATE: ("tax rate", "tax rates"),
    ListKind.SUPPLIER: ("supplier", "suppliers"),
}


def named(entry: ListEntry) -> str:
    """An entry as people name it, archived or not: "429 · General Expenses", "British Gas"."""
    if entry.code and entry.kind == ListKind.ACCOUNT:
        return f"{entry.code} · {entry.name}"
    return entry.name


def usable(entry: ListEntry, use: str) -> bool:
    """Whether a cost item (bill, receipt, claim) or a sales item may use this account or tax rate."""
    return entry.for_sales if use == SALES else entry.for_costs


# --- whose lists ---------------------------------------------------------------------------------


def source_of(item: Item, facts: RoutingFacts) -> Connection | None:
    """The connection whose lists `item` chooses from: its effective integration's (a published item's
    is the software it went to), through `integrations.lists.source_for`."""
    return provider_lists.source_for(effective_integration(item, facts).connection)


def rule_source(facts: RoutingFacts, integration_id: int | None) -> Connection | None:
    """The connection whose lists a supplier rule with Integration `integration_id` chooses from:
    where its items publish (routing.rule_route: the rule's Integration when live, else the default
    publishing integration, else the main software)."""
    return provider_lists.source_for(rule_route(facts, integration_id=integration_id).connection)


def use_of(item: Item) -> str:
    return SALES if item.is_sales else COSTS


def has_been_read(source: Connection, kind: str) -> bool:
    """Whether `source`'s `kind` list has been read: it has entries of that kind, or a read finished."""
    return (
        ListEntry.objects.filter(connection=source, kind=kind).exists()
        or ListSync.objects.filter(connection=source, last_success_at__isnull=False).exists()
    )


# --- what a value is, for one software -----------------------------------------------------------


@dataclass(frozen=True)
class ListValue:
    """A Category or Tax rate as it stands for the software `source` of ListValues."""

    kind: str
    state: str
    entry: ListEntry | None = None  # the active entry to choose and send, when there is one
    stored: ListEntry | None = None  # the entry stored on the item or rule (any connection; maybe archived)
    typed: str = ""  # the stored text: the name typed before the lists existed, or the last entry's
    message: str = ""  # what the page says about it ("" when there is nothing to say)

    @property
    def needs_choosing(self) -> bool:
        return self.state == TO_CHOOSE

    @property
    def was(self) -> str:
        """The stored value in words, whatever the software: what a message names."""
        return named(self.stored) if self.stored is not None else self.typed

    @property
    def form_value(self) -> str:
        """What the page's field holds: the entry's id; when no entry here stands for the stored value,
        the stored entry's id or, for a name typed before the lists existed, KEEP (saving leaves either
        as it is: never dropped); "" when nothing is stored."""
        if self.entry is not None:
            return str(self.entry.pk)
        if self.stored is not None:
            return str(self.stored.pk)
        return KEEP if self.typed else ""

    @property
    def shown(self) -> str:
        """What the field shows: the entry chosen or carried over ("" when it needs choosing)."""
        return self.entry.label if self.entry is not None else ""


@dataclass(frozen=True)
class SupplierValue:
    """Which contact or vendor of `connection` the item's or rule's Supplier is."""

    state: str
    supplier: Supplier | None = None
    connection: Connection | None = None
    entry: ListEntry | None = None  # the contact/vendor bills name (active), when linked
    link: SupplierLink | None = None  # the stored link row, when there is one
    matched_by: str = ""  # SupplierMatch value ("exact", "normalised", "chosen", "created")
    message: str = ""

    @property
    def needs_choosing(self) -> bool:
        return self.state == TO_CHOOSE


@dataclass(frozen=True)
class ListValues:
    """Everything publishing needs from the lists, and everything the page says about them."""

    target: Connection | None  # where it publishes (the effective integration)
    source: Connection | None  # whose lists it chooses from
    use: str  # COSTS or SALES: which accounts and tax rates apply
    category: ListValue
    tax_rate: ListValue
    supplier: SupplierValue
    to_choose: list[str] = field(default_factory=list)  # what needs choosing again, in words


def carry(entry: ListEntry, *, to: Connection, use: str) -> ListEntry | None:
    """The active, usable entry of `to` that `entry` (of any connection) stands for, by the one rule
    (integrations.lists.find_match: same code, then same name, then same normalised name)."""
    if entry.connection_id == to.pk:
        return entry if entry.active and (entry.kind == ListKind.SUPPLIER or usable(entry, use)) else None
    return provider_lists.find_match(
        connection=to,
        kind=entry.kind,
        name=entry.name,
        code=entry.code,
        use="" if entry.kind == ListKind.SUPPLIER else use,
    )


def _how(match: ListEntry, *, code: str, name: str) -> str:
    if code and match.code == code:
        return "same code"
    return "same name" if match.name.lower() == name.lower() else "similar name"


def resolve(
    kind: str, *, source: Connection | None, stored: ListEntry | None, typed: str, use: str
) -> ListValue:
    """What the stored Category or Tax rate (`stored` entry and/or `typed` text) is in `source`'s list."""
    word, list_name = WORDS[kind]
    base = ListValue(kind=kind, state=EMPTY, stored=stored, typed=typed)
    was = base.was
    if source is None:
        kept = f": ‘{was}’ is kept until then" if was else ""
        return _with(base, NO_SOFTWARE, message=f"Connect accounting software to choose a {word}{kept}.")
    if kind not in provider_lists.kinds_of(source):
        kept = f": ‘{was}’ is kept here and not sent" if was else ""
        return _with(base, NOT_KEPT, message=f"{source.label} keeps no {list_name}{kept}.")
    if stored is not None and stored.connection_id == source.pk:
        if stored.active and usable(stored, use):
            return _with(base, CHOSEN, entry=stored)
        if not stored.active:
            return _with(base, TO_CHOOSE, message=f"‘{was}’ is archived in {source.label}: choose a {word}.")
        on = "a sales item" if use == SALES else "a cost item"
        return _with(base, TO_CHOOSE, message=f"‘{was}’ cannot be used on {on}: choose a {word}.")
    if stored is not None:
        match = carry(stored, to=source, use=use)
        if match is not None:
            how = _how(match, code=stored.code, name=stored.name)
            return _with(
                base,
                CARRIED,
                entry=match,
                message=f"Carried over from {stored.connection.label}'s ‘{was}’: {how}.",
            )
        if not has_been_read(source, kind):
            return _with(base, NOT_READ, message=_not_read(source, was))
        return _with(
            base, TO_CHOOSE, message=f"‘{was}’ is not in {source.label}'s {list_name}: choose a {word}."
        )
    if typed:
        match = provider_lists.find_match(connection=source, kind=kind, name=typed, use=use)
        if match is not None:
            how = _how(match, code="", name=typed)
            return _with(
                base,
                MATCHED,
                entry=match,
                message=f"‘{typed}’ was typed before Dext Connect read {source.label}'s lists: "
                f"matched by {how.removeprefix('same ')}.",
            )
        if not has_been_read(source, kind):
            return _with(base, NOT_READ, message=_not_read(source, typed))
        return _with(
            base,
            TO_CHOOSE,
            message=f"‘{typed}’ was typed before Dext Connect read {source.label}'s lists: "
            f"choose the {word}.",
        )
    return base


def _with(value: ListValue, state: str, **changes) -> ListValue:
    return ListValue(**{**value.__dict__, "state": state, **changes})


def _not_read(source: Connection, was: str) -> str:
    kept = f": ‘{was}’ is kept until they are" if was else ""
    return f"{source.label}'s lists have not been read yet{kept}."


# `supplier_value`'s `link` when the caller has not read it: it is read then.
_UNREAD = object()


def supplier_value(
    supplier: Supplier | None, source: Connection | None, *, link: SupplierLink | None | object = _UNREAD
) -> SupplierValue:
    """Which contact/vendor of `source` `supplier` is: its stored link, else the entry of the same (or
    normalised) name, else none yet (created in the provider when its first bill is published).
    `link`: the supplier's link to `source` (with its entry) or None, when the caller read it already
    (`values_for_many`)."""
    if supplier is None:
        return SupplierValue(state=EMPTY, connection=source)
    base = SupplierValue(state=EMPTY, supplier=supplier, connection=source)
    if source is None:
        return _supplier(base, NO_SOFTWARE, message="Connect accounting software to link this supplier.")
    if ListKind.SUPPLIER not in provider_lists.kinds_of(source):
        return _supplier(base, NOT_KEPT, message=f"{source.label} keeps no suppliers.")
    if link is _UNREAD:
        link = (
            SupplierLink.objects.filter(supplier=supplier, connection=source).select_related("entry").first()
        )
    if link is not None and link.entry is None:
        return _supplier(base, CREATE, link=link, matched_by=link.matched_by, message=_create(source))
    if link is not None and link.entry.active:
        return _linked(base, link.entry, link.matched_by, link=link)
    if link is not None:
        return _supplier(
            base,
            TO_CHOOSE,
            link=link,
            matched_by=link.matched_by,
            message=f"‘{link.entry.name}’ is archived in {source.label}: choose another of its suppliers.",
        )
    match = provider_lists.find_match(connection=source, kind=ListKind.SUPPLIER, name=supplier.name)
    if match is not None:
        how = SupplierMatch.EXACT if match.name.lower() == supplier.name.lower() else SupplierMatch.NORMALISED
        return _linked(base, match, how)
    if not has_been_read(source, ListKind.SUPPLIER):
        return _supplier(base, NOT_READ, message=f"{source.label}'s suppliers have not been read yet.")
    return _supplier(base, CREATE, message=_create(source))


def _supplier(value: SupplierValue, state: str, **changes) -> SupplierValue:
    return SupplierValue(**{**value.__dict__, "state": state, **changes})


def _linked(
    base: SupplierValue, entry: ListEntry, how: str, link: SupplierLink | None = None
) -> SupplierValue:
    label = SupplierMatch(how).label.lower() if how in SupplierMatch.values else how
    return _supplier(
        base,
        LINKED,
        entry=entry,
        link=link,
        matched_by=how,
        message=f"Linked to ‘{entry.name}’ in {base.connection.label} ({label}).",
    )


def _create(source: Connection) -> str:
    return f"Not in {source.label} yet: created when its first bill is published."


def _values(
    *,
    target: Connection | None,
    source: Connection | None,
    use: str,
    holder: Item | SupplierRule,
    supplier: Supplier | None,
    link: SupplierLink | None | object = _UNREAD,
) -> ListValues:
    category = resolve(
        ListKind.ACCOUNT, source=source, stored=holder.category_entry, typed=holder.category, use=use
    )
    tax_rate = resolve(
        ListKind.TAX_RATE, source=source, stored=holder.tax_rate_entry, typed=holder.tax_rate, use=use
    )
    link = supplier_value(supplier, source, link=link)
    to_choose = [value.message for value in (category, tax_rate, link) if value.needs_choosing]
    return ListValues(
        target=target,
        source=source,
        use=use,
        category=category,
        tax_rate=tax_rate,
        supplier=link,
        to_choose=to_choose,
    )


def values_for(item: Item, facts: RoutingFacts) -> ListValues:
    """The item's Category, Tax rate and Supplier for the software it publishes to. `item` may carry
    unsaved changes (the page asks "what if the Integration were Bill.com?" with a copy)."""
    return values_for_many([item], facts)[item.pk]


def values_for_many(items: Iterable[Item], facts: RoutingFacts) -> dict[int, ListValues]:
    """`values_for` of many items (a publishing batch), by item id, in a constant number of queries
    when the items come with their supplier, Category and Tax rate entries and published_to
    (select_related): each target's lists source read once, the suppliers' links read together."""
    items = list(items)
    routes = {item.pk: effective_integration(item, facts).connection for item in items}
    sources: dict[int, Connection | None] = {}
    for target in routes.values():
        if target is not None and target.pk not in sources:
            sources[target.pk] = provider_lists.source_for(target)
    source_of_item = {pk: sources[t.pk] if t is not None else None for pk, t in routes.items()}
    wanted = {
        (item.supplier_id, source_of_item[item.pk].pk)
        for item in items
        if item.supplier_id and source_of_item[item.pk]
    }
    links: dict[tuple[int, int], SupplierLink] = {}
    if wanted:
        rows = SupplierLink.objects.filter(
            supplier_id__in={s for s, _ in wanted}, connection_id__in={c for _, c in wanted}
        ).select_related("entry")
        links = {(row.supplier_id, row.connection_id): row for row in rows}
    values = {}
    for item in items:
        source = source_of_item[item.pk]
        supplier = item.supplier if item.supplier_id else None
        link = (
            links.get((item.supplier_id, source.pk)) if supplier is not None and source is not None else None
        )
        values[item.pk] = _values(
            target=routes[item.pk], source=source, use=use_of(item), holder=item, supplier=supplier, link=link
        )
    return values


def values_for_rule(rule: SupplierRule, facts: RoutingFacts) -> ListValues:
    """A supplier rule's Category and Tax rate for the software its items publish to (`rule_route`),
    and its supplier's link there. `rule` may be unsaved (the new-rule page)."""
    target = rule_route(facts, integration_id=rule.integration_id).connection
    source = provider_lists.source_for(target)
    supplier = rule.supplier if rule.supplier_id else None
    return _values(target=target, source=source, use=COSTS, holder=rule, supplier=supplier)


def links_for(
    supplier: Supplier, facts: RoutingFacts, *, known: SupplierValue | None = None
) -> list[tuple[Connection, SupplierValue]]:
    """The supplier's link in each live connection, main software first. Software that keeps no
    suppliers of its own (ApprovalMax) answers with the link of the software whose lists it uses.
    `known`: a link of this supplier already worked out, reused for its connection."""
    found: dict[int, SupplierValue] = {}
    if known is not None and known.supplier == supplier and known.connection is not None:
        found[known.connection.pk] = known
    rows = []
    for connection in facts.ordered:
        source = provider_lists.source_for(connection)
        key = source.pk if source is not None else 0
        if key not in found:
            found[key] = supplier_value(supplier, source)
        rows.append((connection, found[key]))
    return rows


def with_choices(item_or_rule, **entries: ListEntry | None):
    """A copy of `item_or_rule` carrying the Category/Tax rate entries now on the page (for the page's
    "what if" answers). `entries`: category_entry=…, tax_rate_entry=…; the text follows the entry."""
    probe = copy(item_or_rule)
    for name, entry in entries.items():
        setattr(probe, name, entry)
        setattr(probe, name.removesuffix("_entry"), entry.name[:100] if entry is not None else "")
    return probe


# --- what a posted choice stores -----------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """What a Category or Tax rate field stores: the entry, and its name in the text field."""

    entry: ListEntry | None
    text: str


def choice_to_store(
    raw: str | None,
    *,
    kind: str,
    source: Connection | None,
    offered: Iterable[Connection | None] = (),
    use: str,
    stored: ListEntry | None,
    typed: str,
) -> Stored | None:
    """What a posted Category or Tax rate choice stores on an item or a rule, or None to leave the stored
    value as it is.

    `raw`: the field as posted — absent (None) or KEEP: leave it (a value carried over to `source` by
    the one rule is stored, so saving a change of Integration carries it over); "": clear it; an id: an
    active entry of `source`'s list that this item may use. An entry of a list the page offered before
    this save changed the software (`offered`: the item's lists before the change) is carried over the
    same way, or kept for choosing again. Anything else — another account's or connection's entry, an
    archived one, a garbled id — raises DomainError, and the caller's transaction changes nothing."""
    word, list_name = WORDS[kind]
    current = resolve(kind, source=source, stored=stored, typed=typed, use=use)
    entry_id = parse_id(raw) if raw not in (None, "", KEEP) else None
    if raw is None or raw == KEEP or (entry_id is not None and stored is not None and entry_id == stored.pk):
        if current.state in (CARRIED, MATCHED):
            return Stored(current.entry, current.entry.name[:100])
        return None
    if raw == "":
        return Stored(None, "")
    if source is None:
        raise DomainError(f"Connect accounting software to choose a {word}.", code="no_software")
    if kind not in provider_lists.kinds_of(source):
        raise DomainError(f"{source.label} keeps no {list_name}.", code="not_kept")
    entry = (
        ListEntry.objects.filter(account_id=source.account_id, pk=entry_id, kind=kind)
        .select_related("connection")
        .first()
        if entry_id is not None
        else None
    )
    earlier = {c.pk for c in offered if c is not None and c.pk != source.pk}
    if entry is not None and entry.connection_id == source.pk:
        if not entry.active:
            raise DomainError(
                f"‘{named(entry)}’ is archived in {source.label} and can no longer be chosen: "
                f"choose another {word}.",
                code="archived",
            )
        if not usable(entry, use):
            on = "a sales item" if use == SALES else "a cost item"
            raise DomainError(f"‘{named(entry)}’ cannot be used on {on}: choose another {word}.", code="use")
        return Stored(entry, entry.name[:100])
    if entry is not None and entry.connection_id in earlier and entry.active:
        # Chosen from the lists shown before this save moved the item to other software: carried over
        # by the one rule, or kept (and named on the page) until someone chooses again.
        match = carry(entry, to=source, use=use)
        kept = match or entry
        return Stored(kept, kept.name[:100])
    raise DomainError(
        f"That {word} is not in {source.label}'s {list_name}: choose one from the list.", code="not_in_list"
    )


@dataclass(frozen=True)
class SupplierChoice:
    """A posted Supplier: `supplier` (None: no supplier), and the provider entry it was chosen as."""

    supplier: Supplier | None
    entry: ListEntry | None = None


def supplier_choice(
    raw: str | None, *, account: Account, offered: Iterable[Connection | None], sales: bool
) -> SupplierChoice | None:
    """A posted Supplier choice, checked; None when the field was not posted (leave it).

    "" is no supplier; a bare id is one of the account's suppliers; "entry:<id>" an active contact or
    vendor of a list the page offered (`offered`), which `link_chosen` turns into the account's
    supplier of that name. Raises DomainError for anything else (another account's supplier, another
    connection's entry, an archived one, a garbled value)."""
    if raw is None:
        return None
    if raw == "":
        return SupplierChoice(None)
    what = "customers" if sales else "suppliers"
    if raw.startswith(SUPPLIER_ENTRY) and not sales:
        entry_id = parse_id(raw.removeprefix(SUPPLIER_ENTRY))
        sources = {c.pk: c for c in offered if c is not None}
        entry = (
            ListEntry.objects.filter(account=account, pk=entry_id, kind=ListKind.SUPPLIER)
            .select_related("connection")
            .first()
            if entry_id is not None
            else None
        )
        if entry is None or entry.connection_id not in sources:
            names = " or ".join(f"{c.label}'s" for c in sources.values()) or "the accounting software's"
            raise DomainError(
                f"That supplier is not in {names} suppliers: choose one from the list.", code="not_in_list"
            )
        if not entry.active:
            raise DomainError(
                f"‘{entry.name}’ is archived in {entry.connection.label} and can no longer be chosen.",
                code="archived",
            )
        return SupplierChoice(None, entry=entry)
    supplier_id = parse_id(raw)
    supplier = Supplier.objects.filter(account=account, pk=supplier_id).first() if supplier_id else None
    if supplier is None:
        raise DomainError(f"Choose one of this account's {what}.", code="unknown_supplier")
    return SupplierChoice(supplier)


def link_chosen(*, account: Account, entry: ListEntry) -> tuple[Supplier, bool]:
    """The account's supplier for a contact/vendor chosen by hand from a provider's list: the one of the
    same name (created when there is none), linked to `entry` in that connection (matched_by "chosen").
    Returns (supplier, created). Runs inside the caller's transaction."""
    name = entry.name[:200]
    supplier = Supplier.objects.filter(account=account, name__iexact=name).first()
    created = False
    if supplier is None:
        try:
            with transaction.atomic():  # a savepoint: another tab may create the same name meanwhile
                supplier = Supplier.objects.create(account=account, name=name)
                created = True
        except IntegrityError:
            supplier = Supplier.objects.get(account=account, name__iexact=name)
    set_link(account=account, supplier=supplier, connection=entry.connection, entry=entry)
    return supplier, created


def set_link(
    *, account: Account, supplier: Supplier, connection: Connection, entry: ListEntry | None
) -> None:
    """Link `supplier` to `entry` in `connection`, chosen by hand (entry None: create it there when
    its first bill is published)."""
    SupplierLink.objects.update_or_create(
        supplier=supplier,
        connection=connection,
        defaults={"account": account, "entry": entry, "matched_by": SupplierMatch.CHOSEN},
    )


# --- searching, 20 at a time ---------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    detail: str = ""


@dataclass(frozen=True)
class Results:
    options: list[Option]
    more: bool  # there are more matches after these
    offset: int  # where the next page starts


def _first_matches(q: str, *fields: str) -> Case:
    """0 for rows where one of `fields` starts with `q`, 1 for the rest: prefix matches come first."""
    starts = Q()
    for name in fields:
        starts |= Q(**{f"{name}__istartswith": q})
    return Case(When(starts, then=Value(0)), default=Value(1), output_field=IntegerField())


def entry_matches(source: Connection, kind: str, q: str, *, use: str) -> QuerySet[ListEntry]:
    """The active entries of `source`'s `kind` list that `q` finds (by name, code or normalised name),
    prefix matches first, then in the list's own order (accounts by code)."""
    entries = ListEntry.objects.filter(
        account_id=source.account_id, connection=source, kind=kind, active=True
    )
    if kind != ListKind.SUPPLIER:
        entries = entries.filter(for_sales=True) if use == SALES else entries.filter(for_costs=True)
    order = ["code", "name", "pk"] if kind == ListKind.ACCOUNT else ["match_name", "name", "pk"]
    q = q.strip()
    if not q:
        return entries.order_by(*order)
    found = Q(name__icontains=q) | Q(code__istartswith=q)
    key = provider_lists.normalise(q)
    if key:
        found |= Q(match_name__contains=key)
    return entries.filter(found).order_by(_first_matches(q, "name", "code"), *order)


def search_entries(source: Connection, kind: str, q: str, *, offset: int = 0, use: str = COSTS) -> Results:
    rows = list(entry_matches(source, kind, q, use=use)[offset : offset + PAGE + 1])
    options = [
        Option(
            str(e.pk) if kind != ListKind.SUPPLIER else f"{SUPPLIER_ENTRY}{e.pk}",
            e.label,
            e.detail or "",
        )
        for e in rows[:PAGE]
    ]
    return Results(options, more=len(rows) > PAGE, offset=offset + PAGE)


def supplier_matches(suppliers: QuerySet[Supplier], q: str) -> QuerySet[Supplier]:
    q = q.strip()
    if not q:
        return suppliers.order_by("name", "pk")
    return suppliers.filter(name__icontains=q).order_by(_first_matches(q, "name"), "name", "pk")


def search_suppliers(
    suppliers: QuerySet[Supplier], q: str, *, offset: int = 0, source: Connection | None = None
) -> Results:
    """The account's suppliers `q` finds; with `source`, followed by the contacts/vendors of `source`'s
    list that are not one of the account's suppliers already (same name), labelled with the software.
    20 at a time: `offset` counts across both."""
    own = list(supplier_matches(suppliers, q)[offset : offset + PAGE + 1])
    options = [Option(str(s.pk), s.name) for s in own[:PAGE]]
    if len(own) > PAGE or source is None or ListKind.SUPPLIER not in provider_lists.kinds_of(source):
        return Results(options, more=len(own) > PAGE, offset=offset + PAGE)
    # How many of the account's suppliers matched before this page: the provider's entries follow them.
    own_total = offset + len(own) if own or offset == 0 else supplier_matches(suppliers, q).count()
    skip = max(0, offset - own_total)
    wanted = PAGE - len(options)
    account_names = Supplier.objects.filter(account_id=source.account_id).annotate(lower=Lower("name"))
    theirs = entry_matches(source, ListKind.SUPPLIER, q, use=COSTS).exclude(
        Exists(account_names.filter(lower=Lower(OuterRef("name"))))
    )
    rows = list(theirs[skip : skip + wanted + 1])
    options += [Option(f"{SUPPLIER_ENTRY}{e.pk}", e.name, f"in {source.label}") for e in rows[:wanted]]
    return Results(options, more=len(rows) > wanted, offset=offset + PAGE)

"""The choices from the accounting software's lists on the item page and the supplier rule page.

The type-ahead widget (templates/costs/_choose.html, its behaviour in static/js/app.js) is ours rather
than a library: an input with role="combobox", a server-rendered listbox, and the search endpoints
below, which answer 20 matches at a time (`lists.PAGE`), scoped to the account. A page never renders a
whole list, so the same widget serves a chart of 2,000 accounts, 20,000 contacts, or the inbox's
supplier filter (issue 13). A vendored select library would bring its own HTML, CSS and keyboard model
to keep up with, and still need these endpoints for lists of that size; htmx is already here.

When the Integration field changes, htmx asks `item_lists` / `rule_lists` what the Category, Tax rate
and Supplier would be for the software chosen (the values on the form carried over by the one rule,
costs/lists.py) and swaps the three fields in place (out-of-band), with the note of what needs
choosing again. Saving applies the same rule (services.update_item / save_rule).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from accounts.errors import DomainError
from accounts.ids import parse_id
from accounts.tenancy import account_view
from integrations import lists as provider_lists
from integrations.models import Connection, ListEntry, ListKind

from . import lists, services
from .models import Item, ItemStatus, Supplier, SupplierRule, is_changeable
from .routing import RoutingFacts, allowed_connections, load_facts
from .selectors import get_item_for_account, get_rule_for_account, suppliers

# --- the widget's view of a field ------------------------------------------------------------------


@dataclass(frozen=True)
class Choose:
    """One type-ahead field as templates/costs/_choose.html draws it."""

    name: str  # the posted field
    label: str
    value: str = ""  # what the hidden field posts
    shown: str = ""  # what the input shows
    url: str = ""  # the search endpoint (with its fixed parameters); "" = nothing to choose from
    message: str = ""
    warn: bool = False  # the message asks for a choice
    readonly: bool = False
    placeholder: str = ""
    id: str = ""  # the input's id, when `id_<name>` would not be unique on the page

    @property
    def input_id(self) -> str:
        return self.id or f"id_{self.name}"


def supplier_filter(request: HttpRequest, supplier_id: int | None, *, sales: bool) -> Choose:
    """The inbox's Supplier (Customer) filter: the type-ahead over the account's suppliers (its
    customers in the sales inbox), the chosen one shown; empty is "All"."""
    chosen = suppliers(request.account, sales=sales).filter(pk=supplier_id).first() if supplier_id else None
    return Choose(
        name="supplier",
        label="Customer" if sales else "Supplier",
        value=str(chosen.pk) if chosen else "",
        shown=chosen.name if chosen else "",
        url=_url(request, "choose_suppliers", sales="1" if sales else ""),
        placeholder="All customers" if sales else "All suppliers",
        id="filter-supplier",
    )


def _url(request: HttpRequest, name: str, *args, **params) -> str:
    url = reverse(f"costs:{name}", args=[request.account.slug, *args])
    params = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{url}?{urlencode(params)}" if params else url


def entries_url(request: HttpRequest, source: Connection | None, kind: str, use: str = lists.COSTS) -> str:
    if source is None or kind not in provider_lists.kinds_of(source):
        return ""
    return _url(request, "choose_entries", source.pk, kind, use=use)


def suppliers_url(request: HttpRequest, *, sales: bool, source: Connection | None = None, **params) -> str:
    return _url(
        request,
        "choose_suppliers",
        sales="1" if sales else "0",
        lists=source.pk if source is not None and not sales else None,
        **params,
    )


def _value_field(
    request: HttpRequest, value: lists.ListValue, *, name: str, label: str, source, use: str, locked: bool
) -> Choose:
    word = lists.WORDS[value.kind][0]
    if locked:
        # Published: the values it went out with, as they were named (archived since, or not).
        kept = value.stored.label if value.stored is not None else value.typed
        return Choose(name=name, label=label, shown=kept, readonly=True)
    url = entries_url(request, source, value.kind, use)
    return Choose(
        name=name,
        label=label,
        value=value.form_value,
        shown=value.shown if url else (value.entry.label if value.entry else value.was),
        url=url,
        message=value.message,
        warn=value.needs_choosing,
        readonly=not url,
        placeholder=f"Type to find a {word}",
    )


def item_fields(request: HttpRequest, item: Item, values: lists.ListValues, *, locked: bool) -> dict:
    """The item page's Supplier, Category and Tax rate fields (and what needs choosing), for `values`."""
    sales = item.is_sales
    supplier = item.supplier if item.supplier_id else None
    pending = getattr(item, "pending_entry", None)  # a contact/vendor picked on the form, not saved yet
    link = values.supplier
    if pending is not None:
        value, shown = f"{lists.SUPPLIER_ENTRY}{pending.pk}", pending.name
        note = f"‘{pending.name}’ is added to this account's suppliers when you save."
    else:
        value, shown = str(supplier.pk) if supplier else "", supplier.name if supplier else ""
        note = link.message if supplier is not None and not sales else ""
    return {
        "supplier": Choose(
            name="supplier",
            label="Customer" if sales else "Supplier",
            value=value,
            shown=shown,
            url=suppliers_url(request, sales=sales, source=values.source),
            message="" if locked else note,
            warn=link.needs_choosing and pending is None and not locked,
            readonly=locked,
            placeholder="Type to find a customer" if sales else "Type to find a supplier",
        ),
        "category_entry": _value_field(
            request, values.category, name="category_entry", label="Category", source=values.source,
            use=values.use, locked=locked,
        ),
        "tax_rate_entry": _value_field(
            request, values.tax_rate, name="tax_rate_entry", label="Tax rate", source=values.source,
            use=values.use, locked=locked,
        ),
        "lists_note": "" if locked else _lists_note(values),
        "to_choose": [] if locked else values.to_choose,
    }  # fmt: skip


def _lists_note(values: lists.ListValues, *, rule: bool = False) -> str:
    what = "Category and Tax rate" if rule else "Category, Tax rate and Supplier"
    if values.source is None:
        return f"Connect accounting software to choose the {what.lower()}."
    if values.target is not None and values.target.pk != values.source.pk:
        return f"{values.target.label} uses {values.source.label}'s lists."
    if rule:
        return f"{what} come from {values.source.label}'s lists: the software this rule's items publish to."
    return f"{what} come from {values.source.label}'s lists."


def rule_fields(request: HttpRequest, rule: SupplierRule, values: lists.ListValues) -> dict:
    return {
        "category_entry": _value_field(
            request, values.category, name="category_entry", label="Category", source=values.source,
            use=lists.COSTS, locked=False,
        ),
        "tax_rate_entry": _value_field(
            request, values.tax_rate, name="tax_rate_entry", label="Tax rate", source=values.source,
            use=lists.COSTS, locked=False,
        ),
        "lists_note": _lists_note(values, rule=True),
        "to_choose": values.to_choose,
    }  # fmt: skip


def supplier_field(request: HttpRequest, form, rule: SupplierRule | None) -> Choose:
    """The rule form's Supplier: the rule's own (fixed), or a type-ahead of suppliers without a rule."""
    if rule is not None:
        return Choose(name="supplier", label="Supplier", shown=rule.supplier.name, readonly=True)
    chosen = Supplier.objects.filter(account=request.account, pk=parse_id(form["supplier"].value())).first()
    return Choose(
        name="supplier",
        label="Supplier",
        value=str(chosen.pk) if chosen else "",
        shown=chosen.name if chosen else "",
        url=suppliers_url(request, sales=False, without_rule="1"),
        placeholder="Type to find a supplier",
    )


def link_fields(
    request: HttpRequest, supplier: Supplier, facts: RoutingFacts, known: lists.SupplierValue | None = None
) -> list[dict]:
    """The supplier's link in each live connection, with a type-ahead of that software's suppliers.
    `known`: a link already worked out (the rule's own software's), not asked again."""
    rows = []
    for connection, value in lists.links_for(supplier, facts, known=known):
        source = value.connection
        url = entries_url(request, source, ListKind.SUPPLIER)
        rows.append(
            {
                "connection": connection,
                "source": source,
                "value": value,
                "uses_other": source is not None and source.pk != connection.pk,
                "choose": Choose(
                    name="entry",
                    id=f"id_link_{connection.pk}",
                    label=f"Supplier in {source.label}" if source is not None else "Supplier",
                    value=str(value.entry.pk) if value.entry else "",
                    shown=value.entry.name if value.entry else "",
                    url=url,
                    readonly=not url,
                    placeholder="Type to find a supplier",
                )
                if source is not None
                else None,
            }
        )
    return rows


# --- what the form holds now ---------------------------------------------------------------------


def _entry_on_form(request: HttpRequest, raw: str | None, kind: str) -> tuple[bool, ListEntry | None]:
    """(given, entry) for a Category/Tax rate value on the form: an id of one of this account's entries
    of `kind`, "" (cleared), or nothing usable (absent, KEEP, garbage, another account's: not given)."""
    if raw == "":
        return True, None
    entry_id = parse_id(raw)
    if entry_id is None:
        return False, None
    entry = (
        ListEntry.objects.filter(account=request.account, pk=entry_id, kind=kind)
        .select_related("connection")
        .first()
    )
    return entry is not None, entry


def _with_form_values(request: HttpRequest, holder, query) -> Item | SupplierRule:
    """A copy of the item or rule carrying the Category and Tax rate now on the form."""
    entries = {}
    for name, kind in (("category_entry", ListKind.ACCOUNT), ("tax_rate_entry", ListKind.TAX_RATE)):
        given, entry = _entry_on_form(request, query.get(name), kind)
        if given:
            entries[name] = entry
    return lists.with_choices(holder, **entries)


def item_probe(request: HttpRequest, item: Item, facts: RoutingFacts, query) -> Item:
    """The item as the form now has it: its Integration (when it may be set to that), Supplier,
    Category and Tax rate. Values that are not this account's are ignored (the page only asks)."""
    probe = _with_form_values(request, item, query)
    raw = query.get("integration")
    if raw is not None and is_changeable(item) and not item.is_sales:
        connection_id = parse_id(raw)
        if raw == "":
            probe.integration_id = None
        elif any(c.pk == connection_id for c in allowed_connections(item, facts)):
            probe.integration_id = connection_id
    raw = query.get("supplier")
    if raw is not None and raw.startswith(lists.SUPPLIER_ENTRY) and not item.is_sales:
        entry = ListEntry.objects.filter(
            account=request.account,
            pk=parse_id(raw.removeprefix(lists.SUPPLIER_ENTRY)),
            kind=ListKind.SUPPLIER,
        ).first()
        probe.pending_entry = entry
    elif raw is not None:
        supplier = Supplier.objects.filter(account=request.account, pk=parse_id(raw)).first()
        if supplier is not None or raw == "":
            probe.supplier = supplier
    return probe


def rule_probe(request: HttpRequest, rule: SupplierRule | None, facts: RoutingFacts, query) -> SupplierRule:
    """The rule as the form now has it: its Integration (a live connection, or none) and its Category
    and Tax rate."""
    base = rule if rule is not None else SupplierRule(account=request.account)
    probe = _with_form_values(request, base, query)
    raw = query.get("integration")
    if raw is not None:
        probe.integration_id = parse_id(raw) if facts.is_live(parse_id(raw)) else None
    return probe


# --- endpoints -------------------------------------------------------------------------------------


def _offset(request: HttpRequest) -> int:
    value = request.GET.get("offset", "")
    return min(int(value), 1_000_000) if value.isdigit() and len(value) < 9 else 0


def _options(request: HttpRequest, results: lists.Results) -> HttpResponse:
    return render(request, "costs/_choose_options.html", {"results": results, "first": _offset(request) == 0})


@require_GET
@account_view("account.view")
def choose_entries(request: HttpRequest, connection_id: int, kind: str) -> HttpResponse:
    """Search one list of one of this account's live connections: 20 entries at a time."""
    facts = load_facts(request.account)
    connection = facts.live.get(connection_id)
    if connection is None or kind not in ListKind.values:
        raise Http404("No such list.")
    source = provider_lists.source_for(connection)
    if source is None or kind not in provider_lists.kinds_of(source):
        raise Http404("No such list.")
    use = lists.SALES if request.GET.get("use") == lists.SALES else lists.COSTS
    q = request.GET.get("q", "")[:100]
    return _options(request, lists.search_entries(source, kind, q, offset=_offset(request), use=use))


@require_GET
@account_view("account.view")
def choose_suppliers(request: HttpRequest) -> HttpResponse:
    """Search the account's suppliers (sales=1: its customers), 20 at a time; `without_rule=1`: those
    without a supplier rule; `lists=<connection id>`: followed by that software's suppliers that are
    not the account's yet (the item page)."""
    account = request.account
    sales = request.GET.get("sales") == "1"
    found = suppliers(account, sales=sales)
    if request.GET.get("without_rule") == "1":
        found = found.filter(rule__isnull=True)
    source = None
    if not sales and (connection_id := parse_id(request.GET.get("lists", ""))) is not None:
        source = provider_lists.source_for(load_facts(account).live.get(connection_id))
    q = request.GET.get("q", "")[:100]
    return _options(request, lists.search_suppliers(found, q, offset=_offset(request), source=source))


@require_GET
@account_view("account.view")
def item_lists(request: HttpRequest, item_id: int) -> HttpResponse:
    """The item page's Supplier, Category and Tax rate for the values now on its form (the Integration
    chosen, carried over by the one rule): swapped into the page in place."""
    item = get_item_for_account(account=request.account, id=item_id, sales=False)
    facts = load_facts(request.account)
    probe = item_probe(request, item, facts, request.GET)
    values = lists.values_for(probe, facts)
    context = item_fields(request, probe, values, locked=item.status == ItemStatus.PUBLISHED)
    return render(request, "costs/_list_fields.html", {**context, "oob": True})


def _rule_lists(request: HttpRequest, rule: SupplierRule | None) -> HttpResponse:
    facts = load_facts(request.account)
    probe = rule_probe(request, rule, facts, request.GET)
    values = lists.values_for_rule(probe, facts)
    return render(request, "costs/_list_fields.html", {**rule_fields(request, probe, values), "oob": True})


@require_GET
@account_view("rules.manage")
def rule_lists_new(request: HttpRequest) -> HttpResponse:
    return _rule_lists(request, None)


@require_GET
@account_view("rules.manage")
def rule_lists(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_rule_for_account(account=request.account, id=rule_id)
    return _rule_lists(request, rule)


@require_POST
@account_view("rules.manage")
def rule_link(request: HttpRequest, rule_id: int) -> HttpResponse:
    """Choose by hand which contact/vendor of a connection the rule's supplier is."""
    rule = get_rule_for_account(account=request.account, id=rule_id)
    entry = services.CREATE_AT_PUBLISH if request.POST.get("create") == "1" else request.POST.get("entry", "")
    try:
        value = services.link_supplier(
            account=request.account,
            acting_user=request.user,
            supplier_id=rule.supplier_id,
            connection_id=request.POST.get("connection"),
            entry=entry,
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{rule.supplier.name}: {value.message}")
    return redirect(reverse("costs:rule_edit", args=[request.account.slug, rule.pk]))

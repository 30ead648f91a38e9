"""Thin views: read through selectors, write through services, turn DomainError into a message."""

from __future__ import annotations

from copy import copy
from urllib.parse import quote

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from accounts.errors import DomainError
from accounts.permissions import PUBLISH_WHO
from accounts.tenancy import account_view
from integrations.models import ListKind

from . import lists, paging, services
from .forms import ItemForm, RuleForm, integration_choices, parse_integration_choice
from .ids import parse_id
from .impact import (
    NO_SOFTWARE,
    RULE_VALUE_LABELS,
    rule_change_impact,
    rule_values,
    rule_values_impact,
)
from .list_views import item_fields, link_fields, rule_fields, rule_probe, supplier_field, supplier_filter
from .models import COST_TYPES, RULE_USES_DEFAULTS, ItemStatus, PaymentMethod, SupplierRule, is_changeable
from .routing import allowed_connections, effective_integration, load_facts, route_from_row
from .selectors import (
    SORTS,
    InboxFilters,
    get_item_for_account,
    get_rule_for_account,
    has_unrouted_items,
    inbox_items,
    suppliers,
)
from .services import and_join

PAGE_SIZE = 25
# After a refused bulk change the inbox shows the same items still selected (and the same choice), so
# the user can unselect what blocked it: kept in the session for the one page view that follows.
BULK_SELECTION = "costs.bulk_selection"


def _url(request: HttpRequest, name: str, *args) -> str:
    return reverse(f"costs:{name}", args=[request.account.slug, *args])


# --- inboxes -------------------------------------------------------------------------------------


def _inbox(request: HttpRequest, *, sales: bool) -> HttpResponse:
    account = request.account
    facts = load_facts(account)
    filters = InboxFilters.from_query(request.GET, sales=sales)
    try:
        page_size = min(max(int(request.GET.get("per_page", PAGE_SIZE)), 10), 200)
    except ValueError:
        page_size = PAGE_SIZE
    page = paging.paginate(
        request.GET,
        inbox_items(account=account, facts=facts, filters=filters, sales=sales),
        count_queryset=inbox_items(
            account=account, facts=facts, filters=filters, sales=sales, annotate=False
        ),
        order=SORTS[filters.sort],
        per_page=page_size,
    )
    rows = [(item, route_from_row(item, facts)) for item in page.rows]
    connections = facts.ordered
    kept = request.session.pop(BULK_SELECTION, None) if not sales else None
    kept = kept if isinstance(kept, dict) else {}
    selected = {pk for pk in map(parse_id, kept.get("items", [])) if pk is not None}
    # "No accounting software" is a real choice only without a main software: with one connected,
    # routing's last step sends every item somewhere (only a published item with no record of where
    # it went would lack a route, and publishing always keeps that record). Asking the database
    # whether any item is unrouted costs a scan of the whole inbox, so it is asked only then.
    offer_none = (
        not sales
        and facts.has_additional
        and (
            filters.integration == "none"
            or (facts.main is None and has_unrouted_items(account=account, facts=facts))
        )
    )
    return render(
        request,
        "costs/sales_inbox.html" if sales else "costs/inbox.html",
        {
            "page": page,
            "page_links": paging.link_queries(request.GET, page),
            # The inbox's filters, sort and page travel with each item link ("Back" returns here):
            # encoded once for the page, not once per row.
            "from_query": f"?from={quote(request.GET.urlencode(), safe='/')}" if request.GET else "",
            "rows": rows,
            "filters": filters,
            "show_integration": facts.has_additional,
            "main": facts.main,
            # Never the account's thousands of suppliers: the one type-ahead (templates/costs/
            # _choose.html) asks for 20 at a time; the page holds only the chosen one.
            "supplier_filter": supplier_filter(request, filters.supplier, sales=sales),
            "statuses": ItemStatus.choices,
            "types": [(t.value, t.label) for t in COST_TYPES],
            "connections": connections,
            "offer_none": offer_none,
            "no_software": NO_SOFTWARE,
            "bulk_choices": integration_choices(connections),
            "selected": selected,
            "selected_count": sum(1 for item, _ in rows if item.pk in selected),
            "selected_choice": str(kept.get("integration", "")),
            "sort_links": _sort_links(request, filters),
        },
    )


def _sort_links(request: HttpRequest, filters: InboxFilters) -> dict[str, str]:
    """The query string for each sortable column: click once ascending, again descending."""
    links = {}
    for key in ("date", "supplier", "total", "status", "type"):
        query = request.GET.copy()
        for position in ("page", "after", "before"):
            query.pop(position, None)
        query["sort"] = f"-{key}" if filters.sort == key else key
        links[key] = query.urlencode()
    return links


@account_view("account.view")
def inbox(request: HttpRequest) -> HttpResponse:
    return _inbox(request, sales=False)


@account_view("account.view")
def sales_inbox(request: HttpRequest) -> HttpResponse:
    return _inbox(request, sales=True)


@require_POST
@account_view("items.edit")
def bulk_integration(request: HttpRequest) -> HttpResponse:
    back = request.POST.get("next", "")
    back = back if back.startswith(_url(request, "inbox")) else _url(request, "inbox")
    item_ids = request.POST.getlist("items")
    try:
        connection_id = parse_integration_choice(request.POST.get("integration", ""))
        count = services.bulk_set_integration(
            account=request.account,
            acting_user=request.user,
            item_ids=item_ids,  # the service parses each id strictly
            connection_id=connection_id,
        )
    except DomainError as error:
        messages.error(request, error.message)
        # Keep the selection for the inbox this redirects to (only well-formed ids; a page at most).
        request.session[BULK_SELECTION] = {
            "items": [pk for pk in map(parse_id, item_ids[:200]) if pk is not None],
            "integration": request.POST.get("integration", "")[:20],
        }
    else:
        live = load_facts(request.account).live
        target = live[connection_id].label if connection_id else "rule/default"
        messages.success(
            request,
            f"{count} item{'s' if count != 1 else ''} now {'uses' if count == 1 else 'use'} {target}.",
        )
    return redirect(back)


# --- item details ---------------------------------------------------------------------------------


NOT_CHANGEABLE = {
    ItemStatus.PUBLISHED: "This item is already published and can no longer be changed.",
    ItemStatus.PUBLISHING: "This item is being published: it cannot be changed until that has finished.",
    ItemStatus.ARCHIVED: "This item is archived and can no longer be changed.",
}
MAY_NOT_PUBLISH_HERE = PUBLISH_WHO


def _item_detail(request: HttpRequest, item_id: int, *, sales: bool) -> HttpResponse:
    account = request.account
    item = get_item_for_account(account=account, id=item_id, sales=sales)
    # The inbox's filters, sort and page travel with the item so "Back" returns to the same list.
    origin = request.GET.get("from", "")
    here = _url(request, "sales_item_detail" if sales else "item_detail", item.pk)
    here += f"?{urlencode({'from': origin})}" if origin else ""
    form = ItemForm(request.POST or None, instance=copy(item), account=account, sales=sales)
    if request.method == "POST" and not is_changeable(item):
        # Published, being published, archived: the page shows the values read-only; a stale or forged
        # POST is refused here and changes nothing (the service refuses it again).
        messages.error(request, NOT_CHANGEABLE.get(item.status, "This item can no longer be changed."))
        return redirect(here)
    if request.method == "POST" and form.is_valid():
        # The Integration field is only on the page while an additional integration is connected;
        # without it in the POST the item's setting stays as it is. The same for the list fields
        # (Supplier, Category, Tax rate): absent means unchanged.
        change = "integration" in request.POST
        try:
            services.update_item(
                account=account,
                acting_user=request.user,
                item_id=item.pk,
                data={k: v for k, v in form.cleaned_data.items() if k in services.ITEM_FIELDS},
                connection_id=parse_integration_choice(request.POST.get("integration")),
                change_integration=change,
                chosen={k: request.POST.get(k) for k in services.LIST_FIELDS if k in request.POST},
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Saved.")
        # POST-redirect-GET to this same page: the user stays on the item, and Back goes back once.
        return redirect(here)
    return render(
        request,
        "costs/item_detail.html",
        item_page_context(request, item, sales=sales, origin=origin, form=form),
    )


def item_page_context(
    request: HttpRequest, item, *, sales: bool, origin: str = "", form: ItemForm | None = None
) -> dict:
    """Everything the Item details page shows (the page, and the status partial it polls)."""
    from .item_views import item_url
    from .models import AttemptState, PublishAttempt

    account = request.account
    facts = load_facts(account)
    published = item.status == ItemStatus.PUBLISHED
    # Not changeable (published, being published, archived): its values and where it publishes are
    # shown, not offered.
    changeable = is_changeable(item)
    routing_locked = not changeable
    if form is None:
        form = ItemForm(None, instance=copy(item), account=account, sales=sales)
    route = effective_integration(item, facts)
    choices = integration_choices(allowed_connections(item, facts), with_default=not sales)
    if not sales and not routing_locked:
        # Say what "Use rule/default" resolves to for this item: the same rule, without its own setting.
        unset = copy(item)
        unset.integration_id = None
        fallback = effective_integration(unset, facts)
        choices[0] = (choices[0][0], f"{choices[0][1]} ({fallback.label} — {fallback.reason})")
    values = lists.values_for(item, facts)
    prefix = "sales_item" if sales else "item"
    attempts = PublishAttempt.objects.filter(item=item).select_related("connection").order_by("-pk")
    attempt = attempts.first()
    now = timezone.now()
    open_attempt = attempt if attempt is not None and attempt.is_open else None
    # The cancel service decides; this only says whether to offer Cancel: never handed to the provider.
    cancellable = (
        open_attempt is not None
        and open_attempt.state == AttemptState.QUEUED
        and open_attempt.sent_at is None
        and (open_attempt.lease_until is None or open_attempt.lease_until < now)
    )
    failed_attempt = attempt if attempt is not None and attempt.state == AttemptState.FAILED else None
    access = getattr(request, "access", None)
    can_publish = access is not None and access.can("items.publish")
    fields = item_fields(request, item, values, locked=routing_locked)
    return {
        **fields,
        "lists_url": _url(request, "item_lists", item.pk) if not sales and not routing_locked else "",
        "item": item,
        "form": form,
        "sales": sales,
        "published": published,
        "changeable": changeable,
        "routing_locked": routing_locked,
        "route": route,
        "main": facts.main,
        "show_integration": facts.has_additional,
        "integration_choices": choices,
        "current_choice": str(item.integration_id or "") if not sales else str(facts.main_id or ""),
        "back": _url(request, "sales_inbox" if sales else "inbox") + (f"?{origin}" if origin else ""),
        "origin": origin,
        "here": item_url(request, item, sales=sales, origin=origin),
        "readonly_values": _readonly_values(item, fields, sales=sales) if routing_locked else [],
        "not_changeable": NOT_CHANGEABLE.get(item.status, ""),
        # Publishing (costs/publishing.py; permissions from accounts/permissions.py).
        "can_publish": can_publish,
        "may_not_publish": "" if can_publish else MAY_NOT_PUBLISH_HERE,
        "open_attempt": open_attempt,
        "cancellable": cancellable,
        "refused_by": failed_attempt.connection.label if failed_attempt is not None else "",
        "publish_url": _url(request, f"{prefix}_publish", item.pk),
        "retry_url": _url(request, f"{prefix}_retry", item.pk),
        "cancel_url": _url(request, f"{prefix}_cancel", item.pk),
        "status_url": _url(request, f"{prefix}_status", item.pk)
        + (f"?{urlencode({'from': origin})}" if origin else ""),
        "approval_url": _url(request, "item_approval", item.pk)
        if published and item.published_to is not None and item.published_to.provider == "approvalmax"
        else "",
        "approval_main": lists_source_label(item.published_to) if published else "",
    }


def lists_source_label(connection) -> str:
    """The main software an ApprovalMax item went to (awaiting approval there)."""
    from integrations.lists import source_for

    if connection is None or connection.provider != "approvalmax":
        return ""
    main = source_for(connection)
    return main.label if main is not None else "your main accounting software"


def _readonly_values(item, fields: dict, *, sales: bool) -> list[tuple[str, object, str]]:
    """A not-changeable item's values as the page shows them: (label, text, kind) where kind "money"
    is formatted for the item's currency by the template. Supplier, Category and Tax rate as the list
    fields name them (costs/list_views.item_fields: "404 · Bank Fees (archived)")."""

    return [
        ("Type", item.get_type_display(), ""),
        ("Date", item.date.strftime("%-d %b %Y") if item.date else "—", ""),
        ("Due date", item.due_date.strftime("%-d %b %Y") if item.due_date else "—", ""),
        ("Customer" if sales else "Supplier", fields["supplier"].shown or "—", ""),
        ("Reference", item.reference or "—", ""),
        ("Category", fields["category_entry"].shown or "—", ""),
        ("Tax rate", fields["tax_rate_entry"].shown or "—", ""),
        ("Tax", item.tax, "money"),
        ("Total", item.total, "money"),
        ("Currency", item.currency, ""),
        ("Description", item.description or "—", ""),
        ("Owner", item.owner.email if item.owner_id else "—", ""),
        ("Paid", "Yes" if item.paid else "No", ""),
        ("Payment method", item.get_payment_method_display() if item.payment_method else "—", ""),
    ]


@account_view("account.view", write="items.edit")
def item_detail(request: HttpRequest, item_id: int) -> HttpResponse:
    return _item_detail(request, item_id, sales=False)


@account_view("account.view", write="items.edit")
def sales_item_detail(request: HttpRequest, item_id: int) -> HttpResponse:
    return _item_detail(request, item_id, sales=True)


# --- supplier rules -------------------------------------------------------------------------------


RULES_PER_PAGE = 50


@account_view("account.view", write="rules.manage")
def rules(request: HttpRequest) -> HttpResponse:
    facts = load_facts(request.account)
    # A page of rules at a time (a client with 1,000 rules: docs/benchmarks.md), by supplier name; the
    # rules are a few thousand at most, so OFFSET pages are cheap here (the inboxes use keysets).
    page = Paginator(
        SupplierRule.objects.filter(account=request.account).select_related("supplier", "integration"),
        RULES_PER_PAGE,
    ).get_page(request.GET.get("page"))
    rows = [(rule, rule.integration_id is None or facts.is_live(rule.integration_id)) for rule in page]
    return render(
        request,
        "costs/rules_list.html",
        {
            "rows": rows,
            "page": page,
            "has_suppliers": suppliers(request.account, sales=False).exists(),
            # "New supplier rule" is for suppliers without one: the rest are changed on their edit page.
            "can_create": suppliers(request.account, sales=False).filter(rule__isnull=True).exists(),
        },
    )


def _rule_form(request: HttpRequest, rule: SupplierRule | None) -> HttpResponse:
    account = request.account
    facts = load_facts(account)
    # The rule as the form has it now (what was posted, else what is stored): its Category and Tax
    # rate offered from the lists of the software its items publish to (costs/lists.py).
    probe = rule_probe(request, rule, facts, request.POST if request.method == "POST" else {})
    values = lists.values_for_rule(probe, facts)
    initial = {}
    if rule is not None:
        initial = {
            "supplier": rule.supplier_id,
            "category_entry": values.category.form_value,
            "tax_rate_entry": values.tax_rate.form_value,
            "payment_method": rule.payment_method,
            "integration": str(rule.integration_id or ""),
        }
    elif (supplier_id := parse_id(request.GET.get("supplier", ""))) is not None:
        existing = SupplierRule.objects.filter(account=account, supplier_id=supplier_id).first()
        if existing is not None:  # a supplier has one rule: change it on its own page
            return redirect(_url(request, "rule_edit", existing.pk))
        initial = {"supplier": supplier_id}
    form = RuleForm(request.POST or None, initial=initial, account=account, rule=rule)
    connections = facts.ordered
    context = {
        "form": form,
        "rule": rule,
        "choices": [("", RULE_USES_DEFAULTS)] + integration_choices(connections, with_default=False),
        **rule_fields(request, probe, values),
        "supplier_field": supplier_field(request, form, rule),
        "lists_url": _url(request, "rule_lists", rule.pk) if rule else _url(request, "rule_lists_new"),
        "links": link_fields(request, rule.supplier, facts, known=values.supplier)
        if rule is not None
        else [],
    }
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        integration_id = None
        try:
            integration_id = parse_integration_choice(data["integration"])
            # Validate the integration the way saving will, before showing the preview.
            services.validate_integration_choice(facts=facts, connection_id=integration_id)
        except DomainError as error:
            form.add_error("integration", error.message)
        chosen = _rule_choices(request, form, rule, facts, integration_id) if form.is_valid() else {}
        if form.is_valid() and request.POST.get("confirm") != "1":
            # Step 2: what the rule re-routes, before anything is saved.
            values = rule_values(
                {name: text for name, (text, _) in chosen.items()}
                | {"payment_method": data["payment_method"]}
            )
            impact = rule_change_impact(
                account=account, supplier_id=data["supplier"].pk, integration_id=integration_id, facts=facts
            )
            context |= {
                "impact": impact,
                "filled": rule_values_impact(account=account, supplier_id=data["supplier"].pk, values=values),
                "value_names": _value_names(values),
                "supplier": data["supplier"],
                "category_label": chosen["category"][1],
                "tax_rate_label": chosen["tax_rate"][1],
                "integration_label": facts.live[integration_id].label
                if integration_id
                else RULE_USES_DEFAULTS,
                "payment_label": PaymentMethod(data["payment_method"]).label
                if data["payment_method"]
                else "—",
            }
            return render(request, "costs/rule_confirm.html", context)
        if form.is_valid():
            try:
                saved = services.save_rule(
                    account=account,
                    acting_user=request.user,
                    supplier_id=data["supplier"].pk,
                    rule_id=rule.pk if rule is not None else None,
                    category_entry=request.POST.get("category_entry"),
                    tax_rate_entry=request.POST.get("tax_rate_entry"),
                    payment_method=data["payment_method"],
                    integration_id=integration_id,
                )
            except DomainError as error:
                messages.error(request, error.message)
            else:
                messages.success(
                    request,
                    f"Saved the supplier rule for {data['supplier'].name}. "
                    f"{_items(saved.filled)} got the rule's category, tax rate or payment method; "
                    f"{_items(saved.rerouted)} re-routed.",
                )
            return redirect(_url(request, "rules"))
    return render(request, "costs/rule_form.html", context)


def _rule_choices(
    request: HttpRequest, form: RuleForm, rule: SupplierRule | None, facts, integration_id: int | None
) -> dict[str, tuple[str, str]]:
    """The rule form's Category and Tax rate as saving will store them: {"category": (text, label)},
    checked the way the service checks them (lists.choice_to_store); a refusal is the field's error."""
    source = lists.rule_source(facts, integration_id)
    old_source = lists.rule_source(facts, rule.integration_id) if rule is not None else None
    chosen = {}
    for name, kind in (("category_entry", ListKind.ACCOUNT), ("tax_rate_entry", ListKind.TAX_RATE)):
        text_name = name.removesuffix("_entry")
        stored_entry = getattr(rule, name) if rule is not None else None
        typed = getattr(rule, text_name) if rule is not None else ""
        try:
            stored = lists.choice_to_store(
                request.POST.get(name),
                kind=kind,
                source=source,
                offered=(old_source,),
                use=lists.COSTS,
                stored=stored_entry,
                typed=typed,
            )
        except DomainError as error:
            form.add_error(name, error.message)
            continue
        if stored is None:  # left as stored
            chosen[text_name] = (typed, lists.named(stored_entry) if stored_entry else typed)
        else:
            chosen[text_name] = (stored.text, lists.named(stored.entry) if stored.entry else stored.text)
    return chosen


def _value_names(values: dict[str, str]) -> str:
    """ "category and tax rate" — or "" when the rule sets only an integration."""
    return and_join([RULE_VALUE_LABELS[name] for name in values]) if values else ""


def _items(count: int) -> str:
    return f"{count} unpublished item{'s' if count != 1 else ''}"


@account_view("rules.manage")
def rule_create(request: HttpRequest) -> HttpResponse:
    return _rule_form(request, None)


@account_view("rules.manage")
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_rule_for_account(account=request.account, id=rule_id)
    return _rule_form(request, rule)


@require_POST
@account_view("rules.manage")
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_rule_for_account(account=request.account, id=rule_id)
    if request.POST.get("confirm") != "1":
        # Step 1: what deleting the rule re-routes (the supplier's items then follow the defaults),
        # from the same impact module as the rule form's preview. Nothing is deleted yet.
        impact = rule_change_impact(
            account=request.account, supplier_id=rule.supplier_id, integration_id=None
        )
        return render(request, "costs/rule_delete_confirm.html", {"rule": rule, "impact": impact})
    try:
        services.delete_rule(account=request.account, acting_user=request.user, rule_id=rule.pk)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Deleted the supplier rule.")
    return redirect(_url(request, "rules"))

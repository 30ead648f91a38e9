"""Thin views: read through selectors, write through services, turn DomainError into a message."""

from __future__ import annotations

from copy import copy
from dataclasses import dataclass
from urllib.parse import quote

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from accounts.errors import DomainError
from accounts.permissions import PUBLISH_WHO
from accounts.tenancy import account_view
from integrations.models import ListKind

from . import lists, paging, publishing, services
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
from .models import (
    CHANGEABLE_STATUSES,
    COST_TYPES,
    RULE_USES_DEFAULTS,
    SALES_TYPES,
    AttemptState,
    ItemStatus,
    PaymentMethod,
    PublishAttempt,
    SupplierRule,
    is_changeable,
)
from .routing import allowed_connections, effective_integration, load_facts, route_from_row
from .selectors import (
    SORTS,
    TAB_STATUSES,
    InboxFilters,
    get_item_for_account,
    get_rule_for_account,
    has_unrouted_items,
    inbox_items,
    search_condition,
    status_counts,
    suppliers,
)
from .services import and_join

PAGE_SIZE = 25
# The page sizes the inbox offers (any per_page from 10 to 200 is still understood: kept links).
PAGE_SIZES = (25, 50, 100)
# After a refused bulk change the inbox shows the same items still selected (and the same choice), so
# the user can unselect what blocked it: kept in the session for the one page view that follows.
BULK_SELECTION = "costs.bulk_selection"
# A bulk publish's progress is keyed by its attempts' ids, kept in the inbox's URL (?publishing=1,2,3),
# always read within the account: another account's ids, or forged ones, show nothing of anything.
PUBLISHING = "publishing"
# Positions and one-off panels that must not travel with the sort, tab and page links.
NOT_CARRIED = ("page", "after", "before", PUBLISHING)
SORT_COLUMNS = ("date", "supplier", "total", "status", "type")


def _url(request: HttpRequest, name: str, *args) -> str:
    return reverse(f"costs:{name}", args=[request.account.slug, *args])


# --- inboxes -------------------------------------------------------------------------------------


def _page_size(query) -> int:
    try:
        return min(max(int(query.get("per_page", PAGE_SIZE)), 10), 200)
    except ValueError:
        return PAGE_SIZE


def _inbox(request: HttpRequest, *, sales: bool) -> HttpResponse:
    account = request.account
    facts = load_facts(account)
    filters = InboxFilters.from_query(request.GET, sales=sales)
    page_size = _page_size(request.GET)
    # The search finds its suppliers once, for the page, its count and the tabs' counts.
    search = search_condition(account=account, q=filters.q)
    page = paging.paginate(
        request.GET,
        inbox_items(account=account, facts=facts, filters=filters, sales=sales, search=search),
        count_queryset=inbox_items(
            account=account, facts=facts, filters=filters, sales=sales, annotate=False, search=search
        ),
        order=SORTS[filters.sort],
        per_page=page_size,
    )
    rows = [(item, route_from_row(item, facts)) for item in page.rows]
    connections = facts.ordered
    kept = request.session.pop(BULK_SELECTION, None)
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
    access = request.access
    can_change = not sales and facts.has_additional and access.can("items.edit")
    can_publish = access.can("items.publish")
    query = request.GET.copy()
    for name in (PUBLISHING,):
        query.pop(name, None)
    counts = status_counts(account=account, facts=facts, filters=filters, sales=sales, search=search)
    progress = None
    if PUBLISHING in request.GET:
        progress = publish_progress_of(request, request.GET.get(PUBLISHING, ""))
    return render(
        request,
        "costs/sales_inbox.html" if sales else "costs/inbox.html",
        {
            "page": page,
            "page_links": paging.link_queries(query, page),
            # The inbox's filters, sort and page travel with each item link ("Back" returns here):
            # encoded once for the page, not once per row.
            "from_query": f"?from={quote(query.urlencode(), safe='/')}" if query else "",
            "rows": rows,
            "filters": filters,
            "show_integration": facts.has_additional,
            "main": facts.main,
            # Never the account's thousands of suppliers: the one type-ahead (templates/costs/
            # _choose.html) asks for 20 at a time; the page holds only the chosen one.
            "supplier_filter": supplier_filter(request, filters.supplier, sales=sales),
            "types": [(t.value, t.label) for t in COST_TYPES],
            "connections": connections,
            "offer_none": offer_none,
            "no_software": NO_SOFTWARE,
            "bulk_choices": integration_choices(connections),
            "can_change": can_change,
            "can_publish": can_publish,
            # A checkbox per changeable row only when there is something to do with the selection.
            "can_select": can_change or can_publish,
            "selected": selected,
            "selected_count": sum(1 for item, _ in rows if item.pk in selected),
            "selected_choice": str(kept.get("integration", "")),
            "sorts": _sort_headers(query, filters),
            "tabs": _tabs(query, filters, counts),
            "page_sizes": PAGE_SIZES if page_size in PAGE_SIZES else sorted({*PAGE_SIZES, page_size}),
            "page_size": page_size,
            "here": f"{request.path}?{query.urlencode()}" if query else request.path,
            "progress": progress,
            # Rows that cannot change (published, being published, archived) have no checkbox.
            "changeable": CHANGEABLE_STATUSES,
        },
    )


def _sort_headers(query, filters: InboxFilters) -> dict[str, dict[str, str]]:
    """Per sortable column: the link (click once ascending, again descending) and, for the sorted
    column, its state for `aria-sort` and the arrow."""
    headers = {}
    current, descending = filters.sort.lstrip("-"), filters.sort.startswith("-")
    for key in SORT_COLUMNS:
        link = query.copy()
        for position in NOT_CARRIED:
            link.pop(position, None)
        link["sort"] = f"-{key}" if filters.sort == key else key
        state = ("descending" if descending else "ascending") if key == current else ""
        headers[key] = {
            "query": link.urlencode(),
            "aria": state,
            "arrow": {"ascending": "▲", "descending": "▼"}.get(state, ""),
        }
    return headers


def _tabs(query, filters: InboxFilters, counts: dict[str, int]) -> list[dict]:
    """The status tabs with their counts (one grouped query: selectors.status_counts)."""
    tabs = []
    labels = dict(ItemStatus.choices)
    for status in ("", *TAB_STATUSES):
        if status in (ItemStatus.ARCHIVED, ItemStatus.PUBLISHING) and not counts[status]:
            if filters.status != status:
                continue  # shown only when there are some (or it is the current tab)
        link = query.copy()
        for position in NOT_CARRIED:
            link.pop(position, None)
        link.pop("status", None)
        if status:
            link["status"] = status
        tabs.append(
            {
                "label": labels.get(status, "All"),
                "count": counts[status],
                "query": link.urlencode(),
                "current": filters.status == status,
            }
        )
    return tabs


@account_view("account.view")
def inbox(request: HttpRequest) -> HttpResponse:
    return _inbox(request, sales=False)


@account_view("account.view")
def sales_inbox(request: HttpRequest) -> HttpResponse:
    return _inbox(request, sales=True)


def _back_to_inbox(request: HttpRequest) -> str:
    """Where a bulk action returns: the inbox page it was asked from (never elsewhere)."""
    back = request.POST.get("next", "")
    for name in ("inbox", "sales_inbox"):
        base = _url(request, name)
        if back == base or back.startswith(f"{base}?"):
            return back
    return _url(request, "inbox")


def _keep_selection(request: HttpRequest, item_ids: list[str], choice: str = "") -> None:
    # Keep the selection for the inbox this redirects to (only well-formed ids; a page at most).
    request.session[BULK_SELECTION] = {
        "items": [pk for pk in map(parse_id, item_ids[:200]) if pk is not None],
        "integration": choice[:20],
    }


def _skipped_message(skipped: list[tuple[object, str]]) -> str:
    n = len(skipped)
    return f"Skipped {n} item{'s' if n != 1 else ''}: " + " ".join(reason for _, reason in skipped)


@require_POST
@account_view("items.edit")
def bulk_integration(request: HttpRequest) -> HttpResponse:
    back = _back_to_inbox(request)
    item_ids = request.POST.getlist("items")
    try:
        connection_id = parse_integration_choice(request.POST.get("integration", ""))
        result = services.bulk_set_integration(
            account=request.account,
            acting_user=request.user,
            item_ids=item_ids,  # the service parses each id strictly
            connection_id=connection_id,
        )
    except DomainError as error:
        messages.error(request, error.message)
        _keep_selection(request, item_ids, request.POST.get("integration", ""))
    else:
        live = load_facts(request.account).live
        target = live[connection_id].label if connection_id else "rule/default"
        count = result.applied
        messages.success(
            request,
            f"{count} item{'s' if count != 1 else ''} now {'uses' if count == 1 else 'use'} {target}.",
        )
        if result.skipped:
            messages.warning(request, _skipped_message(result.skipped))
    return redirect(back)


# --- bulk publish ---------------------------------------------------------------------------------

# A selection is a page of the inbox at most (its largest page size).
PUBLISH_MAX = 200
TOO_MANY = f"Select at most {PUBLISH_MAX} items at a time."


def _with_param(url: str, name: str, value: str) -> str:
    path, _, query = url.partition("?")
    params = QueryDict(query, mutable=True)
    params[name] = value
    return f"{path}?{params.urlencode(safe=',')}"


@require_POST
@account_view("items.publish")
def bulk_publish(request: HttpRequest) -> HttpResponse:
    """Publish the selected items (costs/publishing.request_publish): Ready ones are queued, the others
    skipped with the reason; a forged or stale selection (another account's ids, ids that are not
    items) sends nothing. With htmx the answer is the progress panel, which then polls by itself;
    without it, the inbox again with the progress in its URL."""
    back = _back_to_inbox(request)
    item_ids = request.POST.getlist("items")
    partial = request.headers.get("HX-Request") == "true"
    try:
        if len(item_ids) > PUBLISH_MAX:
            raise DomainError(TOO_MANY, code="too_many")
        result = publishing.request_publish(
            account=request.account, acting_user=request.user, item_ids=item_ids
        )
    except DomainError as error:
        if partial:
            return render(request, "costs/_publish_progress.html", {"error": error.message})
        messages.error(request, error.message)
        _keep_selection(request, item_ids)
        return redirect(back)
    ids = ",".join(str(attempt.pk) for attempt in result.queued)
    watch = _with_param(back, PUBLISHING, ids)
    if partial:
        response = render(
            request,
            "costs/_publish_progress.html",
            {
                "progress": publish_progress_of(request, ids),
                "skipped": [reason for _, reason in result.skipped],
            },
        )
        # The address bar keeps the progress: a reload shows it again.
        response["HX-Push-Url"] = watch
        return response
    n = len(result.queued)
    messages.success(request, f"Publishing {n} item{'s' if n != 1 else ''}.")
    if result.skipped:
        messages.warning(request, _skipped_message(result.skipped))
    return redirect(watch)


@dataclass
class ProgressRow:
    item_id: int
    name: str
    url: str
    target: str
    state: str
    # What the item's row in the table says now (its status badge), and whether it may still change.
    status: str
    status_label: str
    message: str
    external_url: str


@dataclass
class Progress:
    url: str
    rows: list[ProgressRow]
    missing: int
    counts: dict[str, int]

    @property
    def open(self) -> bool:
        return bool(self.counts["queued"] or self.counts["sending"])

    @property
    def summary(self) -> str:
        c = self.counts
        parts = [f"{c['queued']} queued"]
        if c["sending"]:
            parts.append(f"{c['sending']} sending")
        parts += [f"{c['published']} published", f"{c['failed']} failed"]
        if c["cancelled"]:
            parts.append(f"{c['cancelled']} cancelled")
        return " · ".join(parts)


# What the item's row shows while its attempt is in each state.
_ROW_STATUS = {
    AttemptState.QUEUED: ItemStatus.PUBLISHING,
    AttemptState.SENDING: ItemStatus.PUBLISHING,
    AttemptState.IN_DOUBT: ItemStatus.PUBLISHING,
    AttemptState.PUBLISHED: ItemStatus.PUBLISHED,
    AttemptState.FAILED: ItemStatus.FAILED,
    AttemptState.CANCELLED: ItemStatus.READY,
}


def publish_progress_of(request: HttpRequest, raw: str) -> Progress:
    """The progress of the attempts named in `raw` ("1,2,3"), this account's only: one query. Ids that
    are malformed, another account's or gone are counted as missing and show nothing."""
    account = request.account
    parts = [part for part in str(raw).split(",") if part.strip()][:PUBLISH_MAX]
    ids = {pk for pk in map(parse_id, parts) if pk is not None}
    attempts = []
    if ids:
        attempts = list(
            PublishAttempt.objects.filter(account=account, pk__in=ids)
            .select_related("item", "connection")
            # What the panel never shows: the body as sent, the item's notes, credentials.
            .defer("sent_body", "item__description", "item__publish_error", "connection__credentials")
            .order_by("pk")
        )
    counts = dict.fromkeys(("queued", "sending", "published", "failed", "cancelled"), 0)
    rows = []
    for attempt in attempts:
        state = attempt.state
        bucket = {AttemptState.IN_DOUBT: "queued"}.get(state, str(state))
        counts[bucket] += 1
        item = attempt.item
        status = _ROW_STATUS[state]
        sales = item.type in SALES_TYPES
        rows.append(
            ProgressRow(
                item_id=item.pk,
                name=services.item_name(item),
                url=_url(request, "sales_item_detail" if sales else "item_detail", item.pk),
                target=attempt.connection.label,
                state=attempt.get_state_display(),
                status=status,
                status_label=ItemStatus(status).label,
                message=attempt.message if state == AttemptState.FAILED else "",
                external_url=attempt.url if state == AttemptState.PUBLISHED else "",
            )
        )
    found = ",".join(str(a.pk) for a in attempts)
    return Progress(
        url=f"{_url(request, 'publish_progress')}?attempts={found}",
        rows=rows,
        missing=max(0, len({part.strip() for part in parts}) - len(attempts)),
        counts=counts,
    )


@account_view("account.view")
def publish_progress(request: HttpRequest) -> HttpResponse:
    """The progress partial a bulk publish polls (htmx, every second while anything is open)."""
    return render(
        request,
        "costs/_publish_status.html",
        {"progress": publish_progress_of(request, request.GET.get("attempts", ""))},
    )


# --- item details ---------------------------------------------------------------------------------


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
        messages.error(request, services.not_changeable_reason(item) or "This item can no longer be changed.")
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
        "not_changeable": services.not_changeable_reason(item),
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

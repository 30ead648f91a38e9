"""Business settings > Connections: the list, the defaults (with their preview), the software that can be
connected, the disconnect confirmation, and each connection's lists (their state, polled while a read is
on its way, and Refresh lists).

Thin views: what may be connected, whether a disconnect is allowed and how defaults fall back are
decided by integrations/services.py and selectors.py; how many items a change re-routes is counted by
costs/impact.py. These views only ask and show.
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.errors import DomainError
from accounts.models import ActivityEntry
from accounts.tenancy import account_view
from costs.impact import Impact, default_change_impact, disconnect_impact

from . import catalog, lists, selectors, services
from .confirmations import moved_sentence
from .forms import DefaultsForm
from .models import Connection, ConnectionStatus
from .services import and_join, main_software_names

RECENT_ACTIVITY = 5


def _connections_url(request: HttpRequest) -> str:
    return reverse("integrations:connections", kwargs={"account_slug": request.account.slug})


def _defaults_form(request: HttpRequest, live: list[Connection], data=None) -> DefaultsForm:
    publishing, expense_claims = selectors.effective_defaults(request.account)
    initial = {
        "publishing": publishing.pk if publishing else None,
        "expense_claims": expense_claims.pk if expense_claims else None,
    }
    return DefaultsForm(data, initial=initial, connections=live)


def _preview(request: HttpRequest, form: DefaultsForm) -> Impact:
    publishing_id, expense_claims_id = form.chosen_ids()
    return default_change_impact(
        account=request.account, publishing_id=publishing_id, expense_claims_id=expense_claims_id
    )


@account_view("settings.view", write="integrations.manage")
def connections(request: HttpRequest) -> HttpResponse:
    """The page, and the no-JS paths of its defaults form: "Preview" re-renders with the preview,
    "Save defaults" saves. With JavaScript the preview comes from `defaults_preview` instead."""
    account = request.account
    rows = selectors.connections_on_page(account)
    for shown in selectors.lists_shown(account, rows):
        shown.connection.lists = shown
    live = [c for c in rows if c.is_live]
    for connection in live:
        # Why a Disconnect is unavailable, and the disconnects to do first, from the one guard.
        connection.refusal = _disconnect_refusal(account, connection)
    form, preview = None, None
    if len(live) > 1:
        form = _defaults_form(request, live, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form is None:
            messages.error(request, "Defaults can be chosen once more than one integration is connected.")
            return redirect(_connections_url(request))
        if form.is_valid():
            if request.POST.get("action") == "preview":
                preview = _preview(request, form)
            else:
                return _save_defaults(request, form)
    recent = []
    if request.access.can("activity.view"):
        recent = list(
            ActivityEntry.objects.filter(account=request.account)
            .filter(Q(action__startswith="integration.") | Q(action__startswith="defaults."))
            .select_related("actor")[:RECENT_ACTIVITY]
        )
    return render(
        request,
        "integrations/connections_list.html",
        {
            "rows": rows,
            "live": live,
            "has_main": any(c.is_main for c in live),
            "main_names": main_software_names(),
            "form": form,
            "preview": preview,
            "recent": recent,
        },
    )


def _save_defaults(request: HttpRequest, form: DefaultsForm) -> HttpResponse:
    publishing_id, expense_claims_id = form.chosen_ids()
    # Counted before saving, exactly as the Preview counts it: afterwards nothing would move.
    impact = _preview(request, form)
    try:
        services.set_defaults(
            account=request.account,
            acting_user=request.user,
            publishing_id=publishing_id,
            expense_claims_id=expense_claims_id,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Defaults saved. {moved_sentence(impact)}")
    return redirect(_connections_url(request))


@require_POST
@account_view("integrations.manage")
def defaults_preview(request: HttpRequest) -> HttpResponse:
    """The htmx half of the preview: the same form, answered with the partial only. It writes nothing,
    but only people who may save defaults have the form, hence integrations.manage."""
    live = selectors.live_connections(request.account)
    form = DefaultsForm(request.POST, connections=list(live))
    preview = _preview(request, form) if form.is_valid() else None
    return render(
        request, "integrations/connections_preview.html", {"form": form, "preview": preview, "partial": True}
    )


@account_view("integrations.manage")
def connect_choose(request: HttpRequest) -> HttpResponse:
    """The software that can be connected, each with Connect, or the reason it cannot be now."""
    account = request.account

    def offer(info: catalog.ProviderInfo) -> dict:
        try:
            services.connect_precondition(account=account, provider=info.key)
        except DomainError as exc:
            return {"info": info, "reason": exc.message, "code": exc.code}
        return {"info": info, "reason": None, "code": None}

    main = [offer(info) for info in catalog.main()]
    additional = [offer(info) for info in catalog.additional()]
    # When the precondition refuses every additional integration for want of a main one, one
    # sentence says so instead of the same refusal on each row.
    additional_waiting = all(o["code"] == "no_main" for o in additional)
    return render(
        request,
        "integrations/connections_choose.html",
        {
            "main": main,
            "additional": additional,
            "additional_waiting": additional_waiting,
            "additional_names": and_join([i.label for i in catalog.additional()]),
            "main_names": main_software_names(),
        },
    )


@account_view("integrations.manage")
def disconnect(request: HttpRequest, connection_id: int) -> HttpResponse:
    """GET: what the disconnect changes, and the confirm button (or the guard's refusal). POST: do it."""
    account = request.account
    if request.method == "POST":
        try:
            connection = services.disconnect(
                account=account, acting_user=request.user, connection_id=connection_id
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                f"{connection.label} is disconnected. Published items keep the record of where they were "
                f"published.",
            )
            if connection.provider_notice:
                # Our side is disconnected; the provider could not be told, or cannot be by an app.
                messages.warning(request, connection.provider_notice)
        return redirect(_connections_url(request))

    # Scoped manager and explicit account: another account's id is "does not exist" (404).
    connection = Connection.objects.filter(account=account, pk=connection_id).first()
    if connection is None:
        raise Http404("No such connection.")
    if not connection.is_live:
        messages.error(request, services.NOT_CONNECTED)
        return redirect(_connections_url(request))
    refusal = _disconnect_refusal(account, connection)
    main = selectors.main_connection(account)
    return render(
        request,
        "integrations/disconnect_confirm.html",
        {
            "connection": connection,
            "refusal": refusal.message if refusal else None,
            "disconnect_first": refusal.first if refusal else [],
            "impact": None if refusal else disconnect_impact(account=account, connection=connection),
            "main": main,
        },
    )


def _disconnect_refusal(account, connection: Connection) -> services.DisconnectRefused | None:
    try:
        services.disconnect_guard(account=account, connection=connection)
    except services.DisconnectRefused as refusal:
        return refusal
    return None


def _listed_connection(request: HttpRequest, connection_id: int) -> Connection:
    """A connection the Connections page lists (live or still being connected), of this account only:
    anything else is "does not exist" (404)."""
    connection = (
        Connection.objects.filter(account=request.account, pk=connection_id)
        .exclude(status=ConnectionStatus.DISCONNECTED)
        .first()
    )
    if connection is None:
        raise Http404("No such connection.")
    return connection


def _lists_partial(request: HttpRequest, connection: Connection, problem: str = "") -> HttpResponse:
    (connection.lists,) = selectors.lists_shown(request.account, [connection])
    return render(request, "integrations/_lists.html", {"c": connection, "problem": problem})


@require_GET
@account_view("settings.view")
def lists_status(request: HttpRequest, connection_id: int) -> HttpResponse:
    """One connection's lists, as the Connections page shows them: what the page polls while a read is
    on its way (the answer stops the polling once it is done)."""
    return _lists_partial(request, _listed_connection(request, connection_id))


@require_POST
@account_view("integrations.manage")
def lists_refresh(request: HttpRequest, connection_id: int) -> HttpResponse:
    """Refresh lists: queue a read of the connection's lists. With htmx, answered with the connection's
    lists (now waiting, and polling); without, back to the page with a message."""
    connection = _listed_connection(request, connection_id)
    try:
        lists.refresh_lists(account=request.account, acting_user=request.user, connection_id=connection.pk)
    except DomainError as exc:
        if request.htmx:
            return _lists_partial(request, connection, problem=exc.message)
        messages.error(request, exc.message)
        return redirect(_connections_url(request))
    if request.htmx:
        return _lists_partial(request, connection)
    messages.success(
        request, lists.waiting_message(connection) or f"{connection.label}'s lists are being read."
    )
    return redirect(_connections_url(request))

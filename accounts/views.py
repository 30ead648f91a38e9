from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from . import invitations, services, throttling
from .errors import DomainError
from .forms import AddUserForm, ChangeRoleForm, EmailAuthenticationForm
from .ids import parse_id
from .models import ActivityEntry, Invitation, Membership, PracticeMembership, PracticeRole
from .permissions import accessible_accounts, practice_can
from .selectors import SWITCHER_LIMIT, practice_access, switcher_accounts
from .switching import SECTIONS
from .templatetags.tenancy import nav_url
from .tenancy import LAST_ACCOUNT_SESSION_KEY, account_view, practice_view


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        # django-axes refused the sign-in (or this failure started a lockout): say so, not "wrong
        # password" — while locked even the right password is refused (accounts/throttling.py).
        if getattr(self.request, "axes_locked_out", False):
            setattr(self.request, throttling.ANSWERED, True)
            context = self.get_context_data(form=form, lockout=throttling.lockout_message(self.request))
            return self.render_to_response(context, status=settings.AXES_HTTP_RESPONSE_CODE)
        return super().form_invalid(form)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Open the account used last (the session remembers only that), else the only one, else the switcher."""
    accounts = accessible_accounts(request.user)
    last = request.session.get(LAST_ACCOUNT_SESSION_KEY)
    if last and accounts.filter(slug=last).exists():
        return redirect("accounts:account_home", account_slug=last)
    first_two = list(accounts.order_by("name")[:2])
    if len(first_two) == 1:
        return redirect("accounts:account_home", account_slug=first_two[0].slug)
    return redirect("accounts:switch")


@login_required
def switch(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    accounts = list(switcher_accounts(request.user, query))
    section = request.GET.get("section", "")
    context = {
        "accounts": accounts,
        "q": query,
        "truncated": len(accounts) >= SWITCHER_LIMIT,
        # The dropdown keeps the section you were in and marks the account you are in; only a known
        # section is carried (accounts/switching.py), anything else opens the account's home.
        "section": section if section in SECTIONS else "",
        "current": request.GET.get("current", ""),
    }
    if request.htmx:
        # The type-ahead's answer: the matching names only (the count of every account the user can
        # open is on the full page, and is its dearest query among thousands of clients).
        return render(request, "accounts/_switcher_results.html", context)
    context["total"] = accessible_accounts(request.user).count()
    return render(request, "accounts/account_switch.html", context)


@account_view("account.view")
def account_home(request: HttpRequest) -> HttpResponse:
    """The account's status at a glance: its software and their health, the items waiting, the defaults."""
    from costs.overview import account_status  # costs builds on accounts: asked, not imported at load

    return render(request, "accounts/account_home.html", {"status": account_status(request.account)})


@account_view("settings.view")
def business_settings(request: HttpRequest) -> HttpResponse:
    """Business settings opens on its first tab, Connections (every role may read it), so the page
    always has a tab marked; Users where the integrations app is not installed."""
    return redirect(nav_url("integrations:connections", request.account) or _users_url(request))


@account_view("settings.view", write="users.manage")
def users(request: HttpRequest) -> HttpResponse:
    form = AddUserForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                invitation = invitations.invite_user(
                    account=request.account,
                    acting_user=request.user,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                )
            except DomainError as exc:
                form.add_error("email", exc.message)
            else:
                messages.success(request, invitations.invited_message(invitation))
                return redirect("accounts:users", account_slug=request.account.slug)
    memberships = Membership.objects.select_related("user").order_by("user__email")
    invited = Invitation.objects.filter(accepted_at__isnull=True, cancelled_at__isnull=True).order_by("email")
    return render(
        request,
        "accounts/users_list.html",
        {
            "form": form,
            "memberships": memberships,
            "invitations": invited,
            "role_form": ChangeRoleForm(),
            "practice_access": practice_access(request.account),  # templates/accounts/_practice_access.html
        },
    )


def _users_url(request: HttpRequest) -> str:
    return reverse("accounts:users", kwargs={"account_slug": request.account.slug})


@require_POST
@account_view("users.manage")
def user_change_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    form = ChangeRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role: Admin or Standard user.")
        return redirect(_users_url(request))
    try:
        membership = services.change_role(
            account=request.account,
            acting_user=request.user,
            membership_id=membership_id,
            role=form.cleaned_data["role"],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{membership.user.email} is now {membership.get_role_display()}.")
    return redirect(_users_url(request))


@require_POST
@account_view("users.manage")
def users_publishing(request: HttpRequest) -> HttpResponse:
    """The Users page's "Standard users may publish" setting: the checkbox posts "1" when ticked and
    nothing when not; anything else is refused and changes nothing."""
    value = request.POST.get("standard_users_may_publish", "")
    if value not in ("", "1"):
        messages.error(request, "Tick “Standard users may publish” or leave it empty, then Save.")
        return redirect(_users_url(request))
    allowed = value == "1"
    try:
        changed = services.set_standard_users_may_publish(
            account=request.account, acting_user=request.user, allowed=allowed
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        now = "may now publish items" if allowed else "may no longer publish items"
        still = "may publish items" if allowed else "may not publish items"
        messages.success(
            request,
            f"Standard users {now}." if changed else f"No change: Standard users {still} already.",
        )
    return redirect(_users_url(request))


@require_POST
@account_view("users.manage")
def user_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    try:
        email = services.remove_user(
            account=request.account, acting_user=request.user, membership_id=membership_id
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{email} can no longer open {request.account.name}.")
    return redirect(_users_url(request))


@account_view("practices.manage")
def users_practice_end(request: HttpRequest, practice_id: int) -> HttpResponse:
    """GET: whose access ends, and the button. POST: end the practice's access to this account."""
    if request.method == "POST":
        try:
            practice = services.end_practice_access(
                account=request.account, acting_user=request.user, practice_id=practice_id
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"{practice.name} can no longer open {request.account.name}.")
        return redirect(_users_url(request))
    rows = practice_access(request.account, practice_id=practice_id)
    if not rows:
        raise Http404("No such practice among this account's practices.")
    return render(request, "accounts/practice_access_end.html", {"row": rows[0]})


@account_view("activity.view")
def activity(request: HttpRequest) -> HttpResponse:
    from django.core.paginator import Paginator

    entries = ActivityEntry.objects.select_related("actor")
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "accounts/activity_list.html", {"page": page})


@practice_view("practice.view", write="practice.clients.manage")
def practice_clients(request: HttpRequest) -> HttpResponse:
    practice = request.practice
    bookkeepers = list(
        PracticeMembership.objects.filter(practice=practice, role=PracticeRole.BOOKKEEPER)
        .select_related("user")
        .prefetch_related("assigned_clients")
    )
    if request.method == "POST":
        membership_id = parse_id(request.POST.get("membership"))
        client_ids = [parse_id(pk) for pk in request.POST.getlist("clients")]
        if membership_id is None or None in client_ids:
            messages.error(request, "Choose a bookkeeper and clients from the list.")
        else:
            try:
                membership = services.set_bookkeeper_clients(
                    practice=practice,
                    acting_user=request.user,
                    membership_id=membership_id,
                    client_ids=client_ids,
                )
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"Saved the clients of {membership.user.email}.")
        return redirect("accounts:practice_clients", practice_slug=practice.slug)
    can_manage = practice_can(request.practice_role, "practice.clients.manage")
    clients = list(practice.clients.order_by("name"))
    if not can_manage:
        # A bookkeeper sees their own assignment only: the clients they may open, nobody else's.
        bookkeepers = [bk for bk in bookkeepers if bk.user_id == request.user.pk]
        mine = {c.pk for bk in bookkeepers for c in bk.assigned_clients.all()}
        clients = [c for c in clients if c.pk in mine]
    rows = [{"membership": bk, "assigned": {c.pk for c in bk.assigned_clients.all()}} for bk in bookkeepers]
    return render(
        request,
        "accounts/practice_clients.html",
        {
            "clients": clients,
            "statuses": _clients_status(request, clients),
            "rows": rows,
            "can_manage": can_manage,
        },
    )


def _clients_status(request: HttpRequest, clients: list) -> list:
    """Each client's status at a glance, in grouped queries across the clients (costs/overview.py).
    Only the clients this user may open, asked of the same lookup as the switcher's (one query)."""
    from costs.overview import clients_status  # costs builds on accounts: asked, not imported at load

    may_open = set(
        accessible_accounts(request.user).filter(pk__in=[c.pk for c in clients]).values_list("pk", flat=True)
    )
    return clients_status([c for c in clients if c.pk in may_open])

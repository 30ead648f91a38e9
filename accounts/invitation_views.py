"""Invitation pages: Resend and Cancel on the Users page, and the page the invitation link opens."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from . import invitations
from .errors import DomainError
from .forms import AcceptInvitationForm
from .models import Invitation
from .tenancy import account_view


def _users_url(request: HttpRequest) -> str:
    return reverse("accounts:users", kwargs={"account_slug": request.account.slug})


@require_POST
@account_view("users.manage")
def invitation_resend(request: HttpRequest, invitation_id: int) -> HttpResponse:
    try:
        invitation = invitations.resend_invitation(
            account=request.account, acting_user=request.user, invitation_id=invitation_id
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"We sent a new invitation to {invitation.email}. "
            "The link in the earlier e-mail no longer works.",
        )
    return redirect(_users_url(request))


@require_POST
@account_view("users.manage")
def invitation_cancel(request: HttpRequest, invitation_id: int) -> HttpResponse:
    try:
        invitation = invitations.cancel_invitation(
            account=request.account, acting_user=request.user, invitation_id=invitation_id
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"Cancelled the invitation to {invitation.email}. Its link no longer works."
        )
    return redirect(_users_url(request))


def _problem(request: HttpRequest, message: str, invitation: Invitation | None, status: int) -> HttpResponse:
    return render(
        request,
        "accounts/invitation_problem.html",
        {"problem": message, "invitation": invitation},
        status=status,
    )


@never_cache
@sensitive_post_parameters("password1", "password2")
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The page the invitation link opens. Whoever holds the link sees whom it is for; only the
    mailbox owner holds it. Nothing joins before the last step."""
    invitation = invitations.invitation_for_token(token)
    if invitation is None:
        return _problem(request, invitations.UNKNOWN_LINK, None, status=404)
    problem = invitations.invitation_problem(invitation)
    if problem:
        return _problem(request, problem, invitation, status=410)
    context: dict = {"invitation": invitation, "invited_account": invitation.account}
    if request.user.is_authenticated and request.user.email.lower() != invitation.email:
        return render(request, "accounts/invitation_accept.html", {**context, "wrong_user": True})
    if not invitations.login_exists(invitation.email):
        return _new_login(request, token, invitation, context)
    if not request.user.is_authenticated:
        login_url = reverse("accounts:login") + "?" + urlencode({"next": request.get_full_path()})
        return render(request, "accounts/invitation_accept.html", {**context, "login_url": login_url})
    if request.method == "POST":
        try:
            membership = invitations.accept_invitation(
                account=invitation.account, acting_user=request.user, invitation_id=invitation.pk, token=token
            )
        except DomainError as exc:
            return _problem(request, exc.message, invitation, status=409)
        messages.success(request, f"You joined {invitation.account.name} as {membership.get_role_display()}.")
        return redirect("accounts:account_home", account_slug=invitation.account.slug)
    return render(request, "accounts/invitation_accept.html", {**context, "signed_in": True})


def _new_login(request: HttpRequest, token: str, invitation: Invitation, context: dict) -> HttpResponse:
    form = AcceptInvitationForm(invitation.email, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitations.accept_invitation_as_new_user(
                account=invitation.account,
                invitation_id=invitation.pk,
                token=token,
                password=form.cleaned_data["password1"],
                full_name=form.cleaned_data["full_name"],
            )
        except DomainError as exc:
            return _problem(request, exc.message, invitation, status=409)
        # Named backend: login() needs one when several are configured (a throttling backend may be).
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome to {invitation.account.name}. You are signed in as {user.email}.")
        return redirect("accounts:account_home", account_slug=invitation.account.slug)
    return render(request, "accounts/invitation_accept.html", {**context, "form": form})

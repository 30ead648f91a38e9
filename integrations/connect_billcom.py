"""The Bill.com sign-in (connect kind "login"): the user name, password and organisation ID are relayed
to Bill.com, throttled, and the connection is made when the sign-in works."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.errors import DomainError
from accounts.throttling import SignInGuard, billcom_lockout_message

from . import services
from .catalog import ProviderInfo
from .confirmations import connected_message
from .connect_common import _precondition_message, connections_url
from .providers import (
    LoginFailed,
    ProviderMisconfigured,
    ProviderUnavailable,
)


class BillcomSignInForm(forms.Form):
    username = forms.CharField(label="User name", max_length=200)
    password = forms.CharField(label="Password", max_length=200, widget=forms.PasswordInput)
    organisation_id = forms.CharField(
        label="Organisation ID",
        max_length=100,
        help_text="In Bill.com: Settings > Profiles > Organisation ID (starts with 008).",
    )


def _billcom_start(request: HttpRequest, info: ProviderInfo) -> HttpResponse:
    account = request.account
    form = BillcomSignInForm(request.POST if request.method == "POST" else None)
    locked = False
    if request.method == "POST" and form.is_valid():
        # Only a check, no pending row: wrong credentials must leave no trace in the connections.
        try:
            services.connect_precondition(account=account, provider=info.key)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(connections_url(account))
        # Every attempt is relayed to Bill.com: throttled per Bill.com user name and per address, and
        # checked before anything is sent (accounts/throttling.py).
        guard = SignInGuard(request, surface="billcom")
        username = form.cleaned_data["username"]
        if guard.locked(username):
            locked = True
            form.add_error(None, billcom_lockout_message(request))
        else:
            try:
                connection = services.connect_billcom(
                    account=account,
                    acting_user=request.user,
                    username=username,
                    password=form.cleaned_data["password"],
                    organisation_id=form.cleaned_data["organisation_id"].strip(),
                )
            except LoginFailed as exc:
                # Only a wrong user name or password (BDC_1101) counts towards the lockout: a busy
                # Bill.com or this server's refused developer key says nothing about the guess.
                locked = guard.failed(username, account=account, actor=request.user)
                form.add_error(None, billcom_lockout_message(request) if locked else exc.message)
            except (ProviderUnavailable, ProviderMisconfigured) as exc:
                # Busy (RateLimited is a ProviderUnavailable), unreachable, or misconfigured: nothing
                # was stored, the form keeps what was typed.
                form.add_error(None, exc.message)
            except DomainError as exc:
                messages.error(request, exc.message)
                return redirect(connections_url(account))
            else:
                messages.success(request, connected_message(connection))
                return redirect(connections_url(account))
    return render(
        request,
        "integrations/connect_billcom.html",
        {
            "info": info,
            "form": form,
            "blocked": _precondition_message(account, info.key),
        },
        # Wrong details are ordinary form errors: the form again with its message, not an HTTP error.
        status=settings.AXES_HTTP_RESPONSE_CODE if locked else 200,
    )

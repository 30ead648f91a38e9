"""The OAuth 2.0 + PKCE connect flow (every provider whose connect kind is "oauth": Xero, QuickBooks
Online, ApprovalMax): the start page, the callback and the organisation choice.

Views stay thin: status changes go through integrations/services.py, protocol work through
integrations/providers/. A refused callback (expired, replayed, forged state, another session, lost
permission) creates and changes nothing.
"""

from __future__ import annotations

import dataclasses

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django_scopes import scope

from accounts.errors import DomainError
from accounts.models import Account
from accounts.permissions import MANAGE_INTEGRATIONS_WHO, access_for
from accounts.tenancy import account_view

from . import oauth_state, services
from .catalog import ProviderInfo
from .confirmations import connected_message
from .connect_common import EXPIRED, _info_or_404, _precondition_message, connections_url
from .providers import (
    Organisation,
    TokenSet,
    oauth_provider,
)
from .selectors import main_connection

# --- start ----------------------------------------------------------------------------------------


def _redirect_uri(provider: str) -> str:
    return settings.SITE_URL + reverse("integrations:oauth_callback", args=[provider])


def _oauth_start(request: HttpRequest, info: ProviderInfo) -> HttpResponse:
    account = request.account
    if request.method != "POST":
        return render(
            request,
            "integrations/connect_oauth.html",
            {"info": info, "blocked": _precondition_message(account, info.key)},
        )
    client = oauth_provider(info.key)
    state, verifier = oauth_state.new_secrets()
    try:
        # Only checks: no row until the flow finishes (activate_connection re-checks under the account
        # lock). A user who cancels at the provider or walks away leaves nothing behind.
        services.connect_precondition(account=account, provider=info.key)
        url = client.authorization_url(
            redirect_uri=_redirect_uri(info.key), state=state, code_verifier=verifier
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(connections_url(account))
    # In the database, not the session: the callback consumes it with one conditional DELETE, so a
    # callback delivered twice at once goes on only once (integrations/oauth_state.py).
    oauth_state.remember(request, account=account, provider=info.key, state=state, verifier=verifier)
    return redirect(url)


# --- callback -------------------------------------------------------------------------------------


@login_required
def oauth_callback(request: HttpRequest, provider: str) -> HttpResponse:
    info = _info_or_404(provider)
    client = oauth_provider(provider)
    if client is None:
        raise Http404("No such accounting software.")
    # Consumed first: whatever happens next, this state can never be used again. Of two deliveries of
    # the same callback, only one gets it; the other is told the link was already used.
    flow = oauth_state.consume(request, state=request.GET.get("state", ""))
    if flow is None or flow.provider != provider:
        messages.error(request, EXPIRED)
        return redirect("accounts:home")
    account = Account.objects.filter(pk=flow.account_id).first()
    access = access_for(request.user, account) if account is not None else None
    if access is None:
        messages.error(request, EXPIRED)
        return redirect("accounts:home")
    if not access.can("integrations.manage"):
        messages.error(
            request,
            f"You can no longer connect accounting software for {account.name}. {MANAGE_INTEGRATIONS_WHO}",
        )
        return redirect("accounts:home")
    back = connections_url(account)
    error = request.GET.get("error", "")
    if error:
        if error == "access_denied":
            messages.error(request, f"You cancelled connecting {info.label}.")
        else:
            detail = request.GET.get("error_description") or error
            messages.error(request, f"{info.label} could not connect ({detail}). Start again when ready.")
        return redirect(back)
    code = request.GET.get("code", "")
    if not code:
        messages.error(request, EXPIRED)
        return redirect(back)
    with scope(account=account):
        try:
            tokens = client.exchange_code(
                code=code, redirect_uri=_redirect_uri(provider), code_verifier=flow.secrets["verifier"]
            )
            organisations = client.organisations(tokens=tokens, callback=dict(request.GET.items()))
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(back)
        # ApprovalMax always asks, so the user sees which organisations cannot be chosen and why.
        if len(organisations) == 1 and organisations[0].selectable and provider != "approvalmax":
            return _activate(request, account, info, tokens, organisations[0])
    # The tokens wait for the choice in the database, encrypted, consumed by the choice's POST the same way.
    oauth_state.hold_for_choice(
        request,
        account=account,
        provider=provider,
        tokens=tokens.as_credentials(),
        organisations=[o.as_dict() for o in organisations],
    )
    return redirect("integrations:choose_organisation", account_slug=account.slug, provider=provider)


def _activate(
    request: HttpRequest, account: Account, info: ProviderInfo, tokens: TokenSet, org: Organisation
) -> HttpResponse:
    try:
        connection = services.activate_connection(
            account=account,
            acting_user=request.user,
            provider=info.key,
            external_id=org.id,
            external_name=org.name,
            # With the tokens: what the provider told us about this organisation's connection (Xero's
            # connection id, for removing it on disconnect).
            credentials={**tokens.as_credentials(), **org.grant},
            access_expires_at=tokens.expires_at,
            # ApprovalMax: activation re-checks that the organisation is on this account's main software.
            options={"linked_to": org.linked} if info.key == "approvalmax" else None,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, connected_message(connection))
    return redirect(connections_url(account))


# --- choose the organisation ----------------------------------------------------------------------


@account_view("integrations.manage")
def choose_organisation(request: HttpRequest, provider: str) -> HttpResponse:
    info = _info_or_404(provider)
    account = request.account
    waiting = oauth_state.waiting_choice(request, account=account, provider=provider)
    if waiting is None:
        messages.error(request, EXPIRED)
        return redirect(connections_url(account))
    organisations = _choosable(account, info, [Organisation(**o) for o in waiting.organisations])
    error = ""
    if request.method == "POST":
        chosen = next((o for o in organisations if o.id == request.POST.get("organisation", "")), None)
        if chosen is None:
            error = f"Choose one of the {info.label} organisations listed."
        elif not chosen.selectable:
            error = chosen.reason
        elif not oauth_state.take_choice(waiting):
            # The same choice posted twice at once (a double click): the other request is connecting.
            messages.error(request, EXPIRED)
            return redirect(connections_url(account))
        else:
            tokens = TokenSet.from_credentials(waiting.secrets["tokens"])
            return _activate(request, account, info, tokens, chosen)
    return render(
        request,
        "integrations/connect_organisation.html",
        {
            "info": info,
            "organisations": organisations,
            "error": error,
            "any_selectable": any(o.selectable for o in organisations),
            "main": main_connection(account),
        },
    )


def _choosable(account: Account, info: ProviderInfo, organisations: list[Organisation]) -> list[Organisation]:
    """The organisations as they may be chosen now: an ApprovalMax organisation connected to software
    other than this account's main one is shown disabled, with the service's reason (asked on every
    view: the main software may have changed since the consent)."""
    if info.key != "approvalmax":
        return organisations
    out = []
    for org in organisations:
        if org.selectable:
            try:
                services.approvalmax_organisation_check(account=account, name=org.name, linked_to=org.linked)
            except DomainError as exc:
                org = dataclasses.replace(org, selectable=False, reason=exc.message)
        out.append(org)
    return out

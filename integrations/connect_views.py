"""The connect flows: OAuth 2.0 (Xero, QuickBooks Online, ApprovalMax), Bill.com sign-in and the QuickBooks
Desktop set-up (its Web Connector SOAP service is integrations/qbwc_views.py).

Views stay thin: status changes go through integrations/services.py, protocol work through
integrations/providers/. A refused callback (expired, replayed, forged state, another session, lost
permission) creates and changes nothing.
"""

from __future__ import annotations

import dataclasses

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django_scopes import scope

from accounts.errors import DomainError
from accounts.models import Account
from accounts.permissions import access_for
from accounts.tenancy import account_view
from accounts.throttling import SignInGuard, billcom_lockout_message

from . import oauth_state, services
from .catalog import ProviderInfo, provider_info
from .models import Connection, ConnectionStatus
from .providers import (
    LoginFailed,
    Organisation,
    ProviderMisconfigured,
    ProviderUnavailable,
    TokenSet,
    oauth_provider,
    qbd,
)
from .selectors import main_connection

EXPIRED = (
    "This connection link has expired or was already used. Start again from Business settings > Connections."
)


def connections_url(account: Account) -> str:
    """Business settings > Connections, where every flow starts and ends."""
    return reverse("integrations:connections", kwargs={"account_slug": account.slug})


def _info_or_404(provider: str) -> ProviderInfo:
    info = provider_info(provider)
    if info is None:
        raise Http404("No such accounting software.")
    return info


def _redirect_uri(provider: str) -> str:
    return settings.SITE_URL + reverse("integrations:oauth_callback", args=[provider])


def _precondition_message(account: Account, provider: str) -> str:
    try:
        services.connect_precondition(account=account, provider=provider)
    except DomainError as exc:
        return exc.message
    return ""


# --- start -----------------------------------------------------------------------------------------


@account_view("integrations.manage")
@never_cache  # the QuickBooks Desktop page shows its password; the sandbox's Bill.com form, demo sign-ins
def connect_start(request: HttpRequest, provider: str) -> HttpResponse:
    info = _info_or_404(provider)
    if request.method == "POST" and request.POST.get("action") == "cancel":
        return _cancel_pending(request, info)
    return FLOW_STARTS[info.connect_kind](request, info)


def _cancel_pending(request: HttpRequest, info: ProviderInfo) -> HttpResponse:
    """**Cancel** next to "Waiting to finish connecting": stop waiting for this provider's connection."""
    account = request.account
    pending = Connection.objects.filter(
        account=account, provider=info.key, status=ConnectionStatus.PENDING
    ).first()
    try:
        services.cancel_pending(
            account=account, acting_user=request.user, connection_id=pending.pk if pending else None
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Stopped connecting {info.label}. Connect it again whenever you like.")
    return redirect(connections_url(account))


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


# --- callback --------------------------------------------------------------------------------------


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
            f"You can no longer connect accounting software for {account.name}: only Admins and the "
            f"account's accountants or bookkeepers can.",
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
        services.activate_connection(
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
        messages.success(request, f"{info.label} is connected ({org.name}).")
    return redirect(connections_url(account))


# --- choose the organisation -----------------------------------------------------------------------


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
        status=400 if error else 200,
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


# --- Bill.com --------------------------------------------------------------------------------------


class BillcomSignInForm(forms.Form):
    username = forms.CharField(label="User name", max_length=200)
    password = forms.CharField(label="Password", max_length=200, widget=forms.PasswordInput)
    organisation_id = forms.CharField(
        label="Organisation ID",
        max_length=100,
        help_text="In Bill.com: Settings > Profiles > Organisation ID (starts with 008).",
    )


def _sandbox_billcom_users(account: Account) -> list[tuple[str, str, str, str]]:
    """While the sandbox plays Bill.com, say which sign-in it accepts for this account (demos and first
    tries): only the one bound to this account, none for the others."""
    if not settings.SANDBOX_ENABLED:
        return []
    from .sandbox.data import billcom_users_for

    return billcom_users_for({account.slug})


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
                messages.success(request, f"Bill.com is connected ({connection.external_name}).")
                return redirect(connections_url(account))
    return render(
        request,
        "integrations/connect_billcom.html",
        {
            "info": info,
            "form": form,
            "blocked": _precondition_message(account, info.key),
            "sandbox_users": _sandbox_billcom_users(account),
        },
        status=settings.AXES_HTTP_RESPONSE_CODE if locked else 400 if form.errors else 200,
    )


# --- QuickBooks Desktop ----------------------------------------------------------------------------


def _qbd_connection(account: Account) -> Connection | None:
    return Connection.objects.filter(account=account, provider="qbd").first()


def _qbd_setup(request: HttpRequest, info: ProviderInfo) -> HttpResponse:
    account = request.account
    connection = _qbd_connection(account)
    password = ""
    if request.method == "POST":
        try:
            if connection is None or connection.status == ConnectionStatus.DISCONNECTED:
                connection = services.begin_connection(
                    account=account, acting_user=request.user, provider="qbd"
                )
            elif connection.status == ConnectionStatus.PENDING:
                # Re-check: another main software may have been connected since the set-up began.
                services.connect_precondition(account=account, provider="qbd")
            password = services.new_qbwc_password(
                account=account, acting_user=request.user, connection=connection
            )
            connection.refresh_from_db()  # the page below shows the row as the service left it
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(connections_url(account))
        # Shown once, in the answer to this POST itself (not stored, not redirected): the password is
        # never written anywhere but this response, which no cache keeps (never_cache on connect_start).
        # Only its hash is stored. Decision: no redirect-after-POST here. Reloading the page re-posts
        # (the browser asks first) and makes a new password that replaces the old one, exactly as
        # "Generate a new password" does; the page shown then has the new one, and the activity log
        # records each. That beats parking the password in the session table (kept two weeks) until
        # the next GET reads it.
    credentials = services.credentials_of(connection) if connection is not None else {}
    ready = (
        connection is not None
        and connection.status != ConnectionStatus.DISCONNECTED
        and bool(credentials.get("qbwc_password_hash"))
    )
    return render(
        request,
        "integrations/connect_qbd.html",
        {
            "info": info,
            "connection": connection,
            "ready": ready,
            "password": password,
            "username": qbd.username_for(connection) if ready else "",
            "blocked": "" if ready else _precondition_message(account, "qbd"),
            "sandbox": settings.SANDBOX_ENABLED,
            "here": request.get_full_path(),
        },
    )


@account_view("integrations.manage")
def qwc_download(request: HttpRequest) -> HttpResponse:
    connection = _qbd_connection(request.account)
    if connection is None or not services.credentials_of(connection).get("qbwc_password_hash"):
        messages.error(request, "Set up QuickBooks Desktop first: the file is made for your connection.")
        return redirect("integrations:connect_start", account_slug=request.account.slug, provider="qbd")
    response = HttpResponse(qbd.qwc_xml(connection), content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="dext-connect-{request.account.slug}.qwc"'
    return response


# The start of each connect kind (integrations/catalog.py CONNECT_KINDS): a provider's entry says which.
FLOW_STARTS = {"oauth": _oauth_start, "login": _billcom_start, "web_connector": _qbd_setup}

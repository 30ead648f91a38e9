"""QuickBooks Desktop (connect kind "web_connector"): the set-up page with the Web Connector password,
the .qwc file, and the Web Connector's SOAP service."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.errors import DomainError
from accounts.models import Account
from accounts.tenancy import account_view

from . import services
from .catalog import ProviderInfo
from .confirmations import connected_message
from .connect_common import _precondition_message, connections_url
from .models import Connection, ConnectionStatus
from .providers import (
    qbd,
)


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
            "here": request.get_full_path(),
            "connected": connected_message(connection) if ready and connection.status == "active" else "",
            "waiting": ready and connection.status == ConnectionStatus.PENDING,
            "poll_seconds": POLL_SECONDS,
        },
    )


# How often the set-up page asks whether the Web Connector has connected (seconds).
POLL_SECONDS = 3


@require_GET
@account_view("integrations.manage")
@never_cache
def qbd_status(request: HttpRequest) -> HttpResponse:
    """What the set-up page polls while it waits for the Web Connector (htmx, every POLL_SECONDS).
    Still waiting: 204, and the page stays as it is (its password still shown). Connected: back to
    Connections with the confirmation (HX-Redirect; a plain GET is redirected). No set-up waiting any
    more (cancelled in another tab): back to Connections too. One query."""
    connection = _qbd_connection(request.account)
    if connection is not None and connection.status == ConnectionStatus.PENDING:
        return HttpResponse(status=204)
    if connection is not None and connection.status == ConnectionStatus.ACTIVE:
        messages.success(request, connected_message(connection))
    back = connections_url(request.account)
    if request.htmx:
        response = HttpResponse(status=200)
        response["HX-Redirect"] = back
        return response
    return redirect(back)


@account_view("integrations.manage")
def qwc_download(request: HttpRequest) -> HttpResponse:
    connection = _qbd_connection(request.account)
    if connection is None or not services.credentials_of(connection).get("qbwc_password_hash"):
        messages.error(request, "Set up QuickBooks Desktop first: the file is made for your connection.")
        return redirect("integrations:connect_start", account_slug=request.account.slug, provider="qbd")
    response = HttpResponse(qbd.qwc_xml(connection), content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="dext-connect-{request.account.slug}.qwc"'
    return response

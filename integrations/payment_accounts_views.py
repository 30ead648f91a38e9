"""Business settings > Connections > Payment accounts: the QuickBooks Online accounts paid receipts are
recorded as paid from ("Card payments" from a Credit Card account, "Bank payments" from a Bank account),
chosen by an Admin, seen by everyone who sees the Connections page.

Thin view: which account a receipt is paid from, and what may be chosen, is decided by
costs/payment_accounts.py (`paid_from`, `choose_paid_from`, which checks and logs); this view only asks
and shows.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts.errors import DomainError
from accounts.tenancy import account_view
from costs import payment_accounts

from . import selectors, services
from .models import Connection, ConnectionStatus

NOT_QBO = "Payment accounts are chosen for QuickBooks Online only: {label} records paid receipts without one."
# Never a ListEntry primary key: a forged, non-numeric choice is refused by the service like any other
# account that is not one of the connection's.
NO_SUCH_ENTRY = 0


def _page_url(account, connection_id: int) -> str:
    return reverse("integrations:payment_accounts", args=[account.slug, connection_id])


@account_view("settings.view", write="integrations.manage")
def payment_accounts_page(request: HttpRequest, connection_id: int) -> HttpResponse:
    account = request.account
    # Scoped manager and explicit account: another account's connection is "does not exist" (404).
    connection = (
        Connection.objects.filter(account=account, pk=connection_id)
        .exclude(status=ConnectionStatus.DISCONNECTED)
        .first()
    )
    if connection is None:
        raise Http404("No such connection.")
    connections_url = reverse("integrations:connections", args=[account.slug])
    if connection.provider not in payment_accounts.PROVIDERS:
        messages.error(request, NOT_QBO.format(label=connection.label))
        return redirect(connections_url)
    if not connection.is_live:
        messages.error(request, services.NOT_CONNECTED)
        return redirect(connections_url)
    if request.method == "POST":
        return _save(request, connection)
    (connection.lists,) = selectors.lists_shown(account, [connection])
    return render(
        request,
        "integrations/payment_accounts.html",
        {
            "connection": connection,
            "c": connection,  # for integrations/_lists.html
            "choices": payment_accounts.paid_from(connection),
        },
    )


def _save(request: HttpRequest, connection: Connection) -> HttpResponse:
    account_type = request.POST.get("paid_from", "")
    raw = request.POST.get("entry", "").strip()
    label = payment_accounts.PAID_FROM.get(account_type, ("", ()))[0]
    if account_type in payment_accounts.PAID_FROM and not raw:
        messages.error(request, f"Choose the {account_type} account {label.lower()} are paid from.")
        return redirect(_page_url(request.account, connection.pk))
    try:
        saved = payment_accounts.choose_paid_from(
            account=request.account,
            acting_user=request.user,
            connection_id=connection.pk,
            account_type=account_type,
            entry_id=int(raw) if raw.isdigit() and len(raw) < 10 else NO_SUCH_ENTRY,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        chosen = next(c for c in payment_accounts.paid_from(saved) if c.account_type == account_type)
        messages.success(
            request,
            f"Saved. {label} are now recorded in {saved.label} as paid from {chosen.current.name}.",
        )
    return redirect(_page_url(request.account, connection.pk))

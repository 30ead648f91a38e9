"""Connect: the start of every connect flow, dispatched by the provider's connect kind (its entry in
integrations/catalog.py), and Cancel for a connection waiting to finish. The flows themselves:
connect_oauth.py (OAuth 2.0), connect_billcom.py (Bill.com sign-in), connect_qbd.py (QuickBooks
Desktop and its Web Connector); what they share: connect_common.py.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache

from accounts.errors import DomainError
from accounts.tenancy import account_view

from . import services
from .catalog import ProviderInfo
from .connect_billcom import _billcom_start
from .connect_common import _info_or_404, connections_url
from .connect_oauth import _oauth_start
from .connect_qbd import _qbd_setup
from .models import Connection, ConnectionStatus


@account_view("integrations.manage")
@never_cache  # the QuickBooks Desktop page shows its password; with the sandbox, pages show demo sign-ins
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


# The start of each connect kind (integrations/catalog.py CONNECT_KINDS): a provider's entry says which.
FLOW_STARTS = {"oauth": _oauth_start, "login": _billcom_start, "web_connector": _qbd_setup}

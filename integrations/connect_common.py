"""What every connect flow shares: where flows start and end (Business settings > Connections), the
provider from the URL, the precondition message, and the words for a link that has expired."""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse

from accounts.errors import DomainError
from accounts.models import Account

from . import services
from .catalog import ProviderInfo, provider_info

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


def _precondition_message(account: Account, provider: str) -> str:
    try:
        services.connect_precondition(account=account, provider=provider)
    except DomainError as exc:
        return exc.message
    return ""

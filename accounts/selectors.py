"""Reads more than one view needs."""

from __future__ import annotations

from django.db.models import QuerySet
from django.db.models.functions import Lower

from .models import Account, User
from .permissions import accessible_accounts

SWITCHER_LIMIT = 50


def switcher_accounts(user: User, query: str = "", limit: int = SWITCHER_LIMIT) -> QuerySet[Account]:
    """The accounts the switcher offers, filtered by name. One indexed query, bounded in size, so it
    stays fast for a bookkeeper with hundreds of clients."""
    accounts = accessible_accounts(user)
    query = query.strip()
    if query:
        accounts = accounts.filter(name__icontains=query)
    return accounts.order_by(Lower("name"), "pk").only("name", "slug")[:limit]

"""What every page of an account shows about its connections: the "Needs reconnecting" banner
(templates/base.html). One query per request at most, made only when a page of an account renders its
layout, and kept on the request."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from django_scopes import scope

from .models import Connection, ConnectionStatus


def connection_health(request: HttpRequest) -> dict:
    if getattr(request, "account", None) is None:
        return {}
    return {"needs_reconnecting": SimpleLazyObject(lambda: needs_reconnecting(request))}


def needs_reconnecting(request: HttpRequest) -> list[Connection]:
    """The account's connections that need reconnecting. Read inside the account's scope: the 403 page
    renders after the view's scope has closed, and the middleware has already checked the user may
    open `request.account` (it is set only then)."""
    cached = getattr(request, "_needs_reconnecting", None)
    if cached is None:
        account = request.account
        with scope(account=account):
            cached = list(
                Connection.objects.filter(account=account, status=ConnectionStatus.NEEDS_RECONNECT)
                .only("pk", "account_id", "provider", "status", "is_main")
                .order_by("-is_main", "provider")
            )
        request._needs_reconnecting = cached
    return cached

"""The tenancy mechanism: one place resolves the account in the URL, checks the user may open it,
checks the permission the view declares, and runs the view inside the account's django-scopes scope.

Every tenant page lives under /a/<account_slug>/; practice pages under /p/<practice_slug>/.
A view under those prefixes must be declared with `@account_view(...)` / `@practice_view(...)`;
an undeclared one fails loudly (ImproperlyConfigured) rather than running unchecked.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django_scopes import scope

from .models import Account, Practice
from .permissions import PERMISSIONS, PRACTICE_PERMISSIONS, access_for, practice_can, practice_role

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
LAST_ACCOUNT_SESSION_KEY = "last_account"


def _declare(kind: str, table: dict, permission: str, write: str | None) -> Callable:
    for name in filter(None, (permission, write)):
        if name not in table:
            raise ImproperlyConfigured(f"Unknown {kind} permission {name!r}")

    def mark(view: Callable) -> Callable:
        setattr(view, f"{kind}_permission", permission)
        setattr(view, f"{kind}_write_permission", write)
        return view

    return mark


def account_view(permission: str = "account.view", *, write: str | None = None) -> Callable:
    """Declare what a tenant view needs: `permission` for every request, `write` also for POSTs."""
    return _declare("account", PERMISSIONS, permission, write)


def practice_view(permission: str = "practice.view", *, write: str | None = None) -> Callable:
    return _declare("practice", PRACTICE_PERMISSIONS, permission, write)


def in_account_scope(service: Callable) -> Callable:
    """Run a service inside the scope of its `account=` argument, whoever calls it (a view, a task,
    a management command, a test): its queries can only ever see that account's rows."""

    @functools.wraps(service)
    def wrapper(*args, **kwargs):
        with scope(account=kwargs["account"]):
            return service(*args, **kwargs)

    return wrapper


def _declared(view: Callable, attr: str) -> Any:
    # Class-based views: as_view() copies attributes of the class onto the function via view_class.
    if hasattr(view, attr):
        return getattr(view, attr)
    view_class = getattr(view, "view_class", None)
    if view_class is not None and hasattr(view_class, attr):
        return getattr(view_class, attr)
    raise ImproperlyConfigured(
        f"{view.__module__}.{getattr(view, '__name__', view)} lives under a tenant URL but does not "
        f"declare its permission (@account_view / @practice_view)."
    )


def _render_inside(response: HttpResponse) -> HttpResponse:
    # Lazy template responses would otherwise query tenant data after the scope has closed.
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    return response


class AccountMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.account = None  # type: ignore[attr-defined]
        request.access = None  # type: ignore[attr-defined]
        request.practice = None  # type: ignore[attr-defined]
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if "account_slug" in view_kwargs:
            return self._account(request, view_func, view_args, view_kwargs)
        if "practice_slug" in view_kwargs:
            return self._practice(request, view_func, view_args, view_kwargs)
        return None

    def _account(self, request, view_func, view_args, view_kwargs):
        permission = _declared(view_func, "account_permission")
        write = _declared(view_func, "account_write_permission")
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        account = Account.objects.filter(slug=view_kwargs.pop("account_slug")).first()
        access = access_for(request.user, account) if account else None
        if access is None:
            # The same answer as "does not exist": never reveal another tenant's account.
            raise Http404("No such account.")
        # Known before the permission check, so a 403 page still shows the account and its menu.
        request.account = account
        request.access = access
        if not access.can(permission):
            raise PermissionDenied
        if write and request.method not in SAFE_METHODS and not access.can(write):
            raise PermissionDenied
        if request.session.get(LAST_ACCOUNT_SESSION_KEY) != account.slug:
            request.session[LAST_ACCOUNT_SESSION_KEY] = account.slug
        with scope(account=account):
            return _render_inside(view_func(request, *view_args, **view_kwargs))

    def _practice(self, request, view_func, view_args, view_kwargs):
        permission = _declared(view_func, "practice_permission")
        write = _declared(view_func, "practice_write_permission")
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        practice = Practice.objects.filter(slug=view_kwargs.pop("practice_slug")).first()
        role = practice_role(request.user, practice) if practice else None
        if role is None:
            raise Http404("No such practice.")
        if not practice_can(role, permission):
            raise PermissionDenied
        if write and request.method not in SAFE_METHODS and not practice_can(role, write):
            raise PermissionDenied
        request.practice = practice
        request.practice_role = role
        return _render_inside(view_func(request, *view_args, **view_kwargs))

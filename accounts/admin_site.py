"""The Django admin site: for superusers, across every tenant, so the named escape from the scopes
(`scopes_disabled()`) covers every admin page as a whole — the view and the rendering of its lazy
TemplateResponse, where inline formsets and related lookups run their queries. Wrapping only some
ModelAdmin views (as accounts/admin.py's mixin did) left the account add and change pages raising
ScopeError from the membership inline; here a model registered later cannot forget it.

Installed as the default site by dext_connect.apps.AdminConfig (settings.INSTALLED_APPS), so
`admin.site` and `@admin.register` everywhere mean this site.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django_scopes import scopes_disabled

from .tenancy import _render_inside


class UnscopedAdminSite(admin.AdminSite):
    def admin_view(self, view: Callable, cacheable: bool = False) -> Callable:
        checked = super().admin_view(view, cacheable)  # staff check, CSRF, never_cache

        @functools.wraps(checked)
        def unscoped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            with scopes_disabled():
                return _render_inside(checked(request, *args, **kwargs))

        return unscoped

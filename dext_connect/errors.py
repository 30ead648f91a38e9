"""Error pages: the product's own 404, 403 and 500, in the demo as well.

Django shows its technical (yellow) pages whenever DEBUG is on, and the demo runs with DEBUG. Unless
SHOW_DEBUG_ERRORS is set (a developer chasing a bug), the two technical views `install()` puts in
Django's place answer with the branded pages, so `make run` looks like the product. With DEBUG off
Django never calls them and this changes nothing.

The 403 names who can do what was refused: the account's Admins (handler403 below).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponseForbidden
from django.template import loader
from django.views import debug, defaults
from django_scopes import scope

from accounts.models import Membership, Role

_technical_404 = debug.technical_404_response
_technical_500 = debug.technical_500_response


def branded_404(request, exception):
    if settings.SHOW_DEBUG_ERRORS:
        return _technical_404(request, exception)
    return defaults.page_not_found(request, exception)


def branded_500(request, exc_type, exc_value, tb, status_code=500):
    if settings.SHOW_DEBUG_ERRORS:
        return _technical_500(request, exc_type, exc_value, tb, status_code=status_code)
    if status_code == 400:
        return defaults.bad_request(request, exc_value)
    return defaults.server_error(request)


def install() -> None:
    """Django calls these two only while DEBUG; each decides on SHOW_DEBUG_ERRORS when called."""
    debug.technical_404_response = branded_404
    debug.technical_500_response = branded_500


def permission_denied(request, exception):
    """The 403 page, naming the account's Admins: they are the ones who can do it, or grant it."""
    account = getattr(request, "account", None)
    admins: list[str] = []
    if account is not None:
        with scope(account=account):
            admins = list(
                Membership.objects.filter(role=Role.ADMIN)
                .order_by("user__email")
                .values_list("user__email", flat=True)
            )
    body = loader.render_to_string("403.html", {"admins": admins}, request=request)
    return HttpResponseForbidden(body)

"""Sign-in throttling, with django-axes (settings: AXES_* in dext_connect/settings.py).

Three sign-ins are throttled, each with its own count per user name and one shared count per address:
- the sign-in page (and the Django admin's): django.contrib.auth.authenticate, where axes'
  AxesStandaloneBackend refuses a locked-out attempt before any password is checked;
- the QuickBooks Web Connector's SOAP `authenticate` and the Bill.com sign-in form, which do not go
  through django.contrib.auth: they use `SignInGuard`, axes' documented API for other credentials
  (`AxesProxyHandler.is_allowed` before any work, the `user_login_failed` signal after a failure).

User names are counted per surface: "qbwc:<user name>", "billcom:<user name>", and the sign-in page's
e-mail (lower case: sign-in ignores case). Guesses at one never spend another's count.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_scopes import scope

from .activity import record
from .models import Account, User, normalize_login

logger = logging.getLogger(__name__)

SURFACE = "sign_in_surface"  # the credentials key naming a sign-in that is not the sign-in page
SURFACES = {"qbwc": "QuickBooks Web Connector", "billcom": "Bill.com"}
# Set on a request whose view shows the lockout itself (the sign-in page's form, the Bill.com form, the
# Web Connector's "nvu"): AxesMiddleware then keeps the view's own response.
ANSWERED = "sign_in_lockout_answered"


def cool_off_words(request: HttpRequest | None = None) -> str:
    """AXES_COOLOFF_TIME in words: "15 minutes", "1 hour"."""
    minutes = int((get_cool_off(request) or timedelta()).total_seconds() // 60)
    if minutes >= 60 and minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def lockout_message(request: HttpRequest | None = None) -> str:
    return (
        f"Too many failed sign-ins. For your security, this sign-in is locked for "
        f"{cool_off_words(request)}. Try again later or reset your password."
    )


def billcom_lockout_message(request: HttpRequest | None = None) -> str:
    return (
        f"Too many failed sign-ins to Bill.com. For your security, this form is locked for "
        f"{cool_off_words(request)}. Check the user name, password and organisation ID in Bill.com, "
        f"then try again."
    )


# --- axes callables (AXES_USERNAME_CALLABLE, AXES_LOCKOUT_CALLABLE) ---------------------------------


def lockout_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The user name a failure is counted against."""
    credentials = credentials or {}
    name = credentials.get("username")
    if name is None and request is not None and request.method == "POST":
        name = request.POST.get("username")
    if not name:
        return None
    name = normalize_login(str(name))
    surface = credentials.get(SURFACE)
    if surface in SURFACES:
        key = f"{surface}:{name}"
    elif ":" in name:
        # No e-mail address starts with "qbwc:" or "billcom:", but the Django admin's sign-in accepts
        # any text: keep such names apart from those surfaces' counts.
        key = f"login:{name}"
    else:
        key = name
    return key[:200]  # AccessAttempt.username holds 255


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any] | None
) -> HttpResponse:
    """What a locked-out attempt gets. Our own sign-ins answered already (see ANSWERED); anything else
    that signs in through django.contrib.auth (the Django admin) gets the lockout page."""
    if original_response is not None and getattr(request, ANSWERED, False):
        return original_response
    return render(
        request,
        "accounts/login_locked.html",
        {"message": lockout_message(request)},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )


# --- sign-ins that do not go through django.contrib.auth ------------------------------------------


class SignInGuard:
    """Throttling for one request to a sign-in that checks its own credentials (the Web Connector,
    Bill.com). Call `locked(name)` before doing any work for a sign-in, and `failed(name, ...)` when it
    is refused; both return whether the sign-in is (now) locked out, and the view then answers with its
    own lockout message."""

    def __init__(self, request: HttpRequest, *, surface: str) -> None:
        if surface not in SURFACES:
            raise ValueError(f"Unknown sign-in surface {surface!r}.")
        self.request = request
        self.surface = surface

    def _credentials(self, name: str) -> dict[str, str]:
        return {"username": name, SURFACE: self.surface}

    def locked(self, name: str) -> bool:
        if not settings.AXES_ENABLED:
            return False
        credentials = self._credentials(name)
        if AxesProxyHandler.is_allowed(self.request, credentials):
            return False
        setattr(self.request, ANSWERED, True)
        # As axes' own backend does for a locked-out sign-in: flag the request, then report the
        # failure; axes logs it as locked out without counting it (and we log a warning below).
        self.request.axes_locked_out = True
        user_login_failed.send(sender=SignInGuard, credentials=credentials, request=self.request)
        return True

    def failed(self, name: str, *, account: Account | None = None, actor: User | None = None) -> bool:
        """Count a refused sign-in. When this failure starts a lockout, the account it concerns (when
        known) gets one activity-log row; the attempts refused during the lockout are only logged."""
        if not settings.AXES_ENABLED:
            return False
        setattr(self.request, ANSWERED, True)
        user_login_failed.send(sender=SignInGuard, credentials=self._credentials(name), request=self.request)
        locked = bool(getattr(self.request, "axes_locked_out", False))
        if locked and account is not None:
            record_lockout(account=account, acting_user=actor, surface=self.surface, name=name)
        return locked


def lift_login_lockout(email: str) -> None:
    """A password reset proves the mailbox: it lifts the lockout of that login on the sign-in page (the
    lockout message says "…or reset your password"). The address's own count stays: it may be the
    one guessing at other logins."""
    AxesProxyHandler.reset_attempts(username=email.strip().lower())


def record_lockout(*, account: Account, acting_user: User | None, surface: str, name: str) -> None:
    """The activity-log row when a sign-in to the account's accounting software starts a lockout."""
    if surface == "billcom":
        summary = (
            f"Bill.com sign-in locked for {cool_off_words()} after repeated refusals "
            f"(last user name tried: {name})"
        )
    else:
        summary = f"{SURFACES[surface]} sign-in locked for {cool_off_words()} after repeated wrong passwords"
    with transaction.atomic(), scope(account=account):
        record(account=account, actor=acting_user, action="integration.signin_locked", summary=summary)


@receiver(user_locked_out)
def log_locked_out(sender: Any, request: HttpRequest, username: str | None, ip_address: str | None, **kwargs):
    """axes sends this for the failure that starts a lockout and for every attempt refused during it."""
    credentials = getattr(request, "axes_credentials", None) or {}
    surface = SURFACES.get(credentials.get(SURFACE), "sign-in page")
    logger.warning(
        "Sign-in locked out (%s): user name %r from %s, path %s. Refused without checking the password "
        "until the cool-off (%s) ends.",
        surface,
        username,
        ip_address,
        getattr(request, "path", ""),
        cool_off_words(request),
    )

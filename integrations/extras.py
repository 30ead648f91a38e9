"""What an optional app adds to the connect pages, without production code importing it.

The sandbox (the `sandbox` app, installed only while SANDBOX_ENABLED) shows each account the sign-in
its pretend provider accepts, and on the QuickBooks Desktop set-up page a button that runs its Web
Connector. The connect pages must not name it: in production it is not installed, and nothing may
import it. So the dependency points the other way, as pretix's plugins hook into its pages: the
sandbox registers its extras here from its AppConfig.ready(), and the connect pages render whatever
is registered (`{% connect_extras info.key %}`, integrations/templatetags/connect_extras.py). In
production nothing registers, and the pages are exactly the production pages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.http import HttpRequest
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from accounts.models import Account

# (request, account, provider, the page's template context) -> HTML to show on that provider's connect
# page, or "" for nothing. Plain strings are escaped; a SafeString (a rendered template) is shown as is.
ConnectExtra = Callable[[HttpRequest, Account, str, Mapping[str, Any]], str]

_connect_extras: dict[str, list[ConnectExtra]] = {}


def register_connect_extra(provider: str, extra: ConnectExtra) -> None:
    """Show `extra` on `provider`'s connect page. Registering the same callable twice (an app's ready()
    runs again in some test set-ups) keeps one."""
    extras = _connect_extras.setdefault(provider, [])
    if extra not in extras:
        extras.append(extra)


def connect_extras(
    *, request: HttpRequest, account: Account, provider: str, context: Mapping[str, Any]
) -> SafeString:
    """Everything registered for `provider`'s connect page, rendered for this account."""
    parts = [extra(request, account, provider, context) for extra in _connect_extras.get(provider, [])]
    # Safe: every part was escaped unless it already was safe HTML (a rendered template).
    return mark_safe("".join(str(conditional_escape(p)) for p in parts if p))

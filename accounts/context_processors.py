from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .permissions import (
    MANAGE_INTEGRATIONS_WHO,
    MANAGE_RULES_WHO,
    MANAGE_USERS_WHO,
    accessible_accounts,
    practices_for,
)
from .switching import section_key


def tenancy(request: HttpRequest) -> dict:
    access = getattr(request, "access", None)
    user = getattr(request, "user", None)
    section, subsection = _section(request)
    return {
        "section": section,
        "subsection": subsection,
        "account": getattr(request, "account", None),
        "access": access,
        "can": _Can(access),
        "my_practices": practices_for(user) if user is not None and user.is_authenticated else [],
        # The switcher: shown only to a user with more than one account (asked once, only when a page
        # shows the top bar: one query, at most two rows), keeping the section (accounts/switching.py).
        "switcher_many": SimpleLazyObject(lambda: _has_many_accounts(request)),
        "switch_section": section_key(section, subsection),
        # Who may do what, in one phrasing everywhere (accounts/permissions.py).
        "who_manages_integrations": MANAGE_INTEGRATIONS_WHO,
        "who_manages_rules": MANAGE_RULES_WHO,
        "who_manages_users": MANAGE_USERS_WHO,
    }


def _has_many_accounts(request: HttpRequest) -> bool:
    cached = getattr(request, "_switcher_many", None)
    if cached is None:
        user = request.user
        cached = user.is_authenticated and len(accessible_accounts(user).order_by().values("pk")[:2]) > 1
        request._switcher_many = cached
    return cached


class _Can:
    """`{% if can.integrations_manage %}` in templates, answered by the permissions module."""

    def __init__(self, access) -> None:
        self._access = access

    def __getattr__(self, name: str) -> bool:
        if self._access is None:
            return False
        return self._access.can(name.replace("_", ".", 1))


def _section(request: HttpRequest) -> tuple[str, str]:
    """Which navigation entry is current, from the URL's name (no view has to say it)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "", ""
    name, namespace = match.url_name or "", match.namespace
    if namespace == "integrations" or name in {"settings", "activity"} or name.startswith("user"):
        sub = (
            "connections" if namespace == "integrations" else ("activity" if name == "activity" else "users")
        )
        return "settings", sub
    if namespace == "costs":
        if name.startswith("sales"):
            return "sales", ""
        if name.startswith("rule"):
            return "rules", ""
        return "costs", ""
    return "", ""

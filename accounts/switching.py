"""The account switcher keeps the section you were in: from Globex's Costs inbox to Acme's, from an item
page to the other account's Costs inbox, from Connections to Connections.

The section is the one the navigation marks as current (context_processors._section, from the URL's
name); switching goes through `switch_to` under the other account's URL, so the tenancy middleware
decides whether the user may open it (404 otherwise) and the section's own view declaration decides
whether they may see that section there (else the account's home: never a 403 for switching).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, resolve, reverse

from .tenancy import _declared, account_view

HOME = "accounts:account_home"

# Section key (what the switcher carries) -> the URL name of that section's first page.
SECTIONS: dict[str, str] = {
    "home": HOME,
    "costs": "costs:inbox",
    "sales": "costs:sales_inbox",
    "rules": "costs:rules",
    "connections": "integrations:connections",
    "users": "accounts:users",
    "activity": "accounts:activity",
}


def section_key(section: str, subsection: str) -> str:
    """The key of the page's section, from what the navigation marks (`section`, `subsection`)."""
    if section == "settings":
        return subsection if subsection in SECTIONS else "connections"
    return section if section in SECTIONS else "home"


def section_url(account, key: str) -> str:
    """The account's page for section `key` (its home for an unknown key or an app not installed)."""
    try:
        return reverse(SECTIONS.get(key, HOME), kwargs={"account_slug": account.slug})
    except NoReverseMatch:
        return reverse(HOME, kwargs={"account_slug": account.slug})


@account_view("account.view")
def switch_to(request: HttpRequest, section: str) -> HttpResponse:
    """Open `section` of this account, or its home when the user may not see that section here."""
    url = section_url(request.account, section)
    permission = _declared(resolve(url).func, "account_permission")
    if not request.access.can(permission):
        url = section_url(request.account, "home")
    return redirect(url)

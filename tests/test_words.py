"""The words on the screens (issue 12 §6), checked on the demo's rendered pages as each kind of user and
on the templates themselves: no jargon ("tenant"), no nested brackets ("Bill.com (Acme Ltd
(Bill.com))"), one phrasing for who may manage integrations, the sales rule said once per page,
instructions that match the page (the preview is automatic: never "select Preview"), no native
confirm()."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django_scopes import scopes_disabled
from lxml import html as lxml_html

from accounts.models import User
from accounts.permissions import MANAGE_INTEGRATIONS_WHO, MANAGE_RULES_WHO
from costs.models import Item
from integrations.models import Connection
from tests.conftest import client_for

ROOT = Path(settings.BASE_DIR)
NESTED = re.compile(r"\([^()]*\([^()]*\)[^()]*\)")
JARGON = re.compile(r"\btenants?\b", re.IGNORECASE)
# Who may manage integrations (or rules) said any other way than the one phrasing.
OTHER_WHO = re.compile(
    r"only admins and|your accountant\b|admins of the business|the account's accountants", re.IGNORECASE
)
SALES_RULE = re.compile(r"sales items can only be published", re.IGNORECASE)


def visible_text(response) -> str:
    """What a person reads or hears: the text, and the labels, titles and placeholders."""
    tree = lxml_html.fromstring(response.content.decode())
    for dead in tree.xpath("//script|//style|//noscript"):
        dead.drop_tree()
    said = [tree.text_content()]
    for attribute in ("aria-label", "title", "placeholder", "alt"):
        said += tree.xpath(f"//@{attribute}")
    return re.sub(r"\s+", " ", " ".join(said))


@pytest.fixture
def demo(db, settings):
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    with scopes_disabled():
        acme_xero = Connection.objects.get(account__slug="acme", provider="xero")
        # A second integration, so the Integration column, the defaults and their words all show, and
        # one needing a reconnect, so the banner shows.
        Connection.objects.get_or_create(
            account=acme_xero.account,
            provider="billcom",
            defaults={"status": "needs_reconnect", "external_name": "Acme Ltd (Bill.com)", "is_main": False},
        )
        cost = Item.objects.filter(account__slug="acme").exclude(type="sales_invoice").first()
        sale = Item.objects.filter(account__slug="acme", type="sales_invoice").first()
    return {"cost": cost, "sale": sale}


PAGES = [
    "/a/acme/",
    "/a/acme/costs/",
    "/a/acme/sales/",
    "/a/acme/rules/",
    "/a/acme/settings/users/",
    "/a/acme/settings/activity/",
    "/a/acme/settings/connections/",
    "/a/acme/settings/connections/connect/",
    "/a/acme/settings/connections/connect/billcom/",
    "/a/acme/settings/connections/connect/xero/",
    "/a/initech/settings/connections/connect/qbd/",
    "/switch/",
    "/p/ledger/clients/",
]
USERS = ["admin@acme.test", "staff@acme.test", "partner@ledger.test", "bookkeeper@ledger.test"]


@pytest.mark.parametrize("email", USERS)
def test_rendered_pages_use_the_products_words(demo, email):
    client = client_for(User.objects.get(email=email))
    checked = 0
    for path in [*PAGES, f"/a/acme/costs/{demo['cost'].pk}/", f"/a/acme/sales/{demo['sale'].pk}/"]:
        response = client.get(path)
        if response.status_code == 404:
            continue  # not this user's account
        text = visible_text(response)
        checked += 1
        assert not JARGON.search(text), (path, JARGON.search(text).group(0))
        nested = NESTED.search(text)
        assert nested is None, (path, nested and nested.group(0))
        assert not OTHER_WHO.search(text), (path, OTHER_WHO.search(text).group(0))
        assert "select Preview" not in text and "select **Preview" not in text, path
        assert len(SALES_RULE.findall(text)) <= 1, path
    assert checked >= 6


def test_who_may_manage_integrations_is_said_one_way(demo):
    staff = client_for(User.objects.get(email="staff@acme.test"))
    connections = visible_text(staff.get("/a/acme/settings/connections/"))
    assert MANAGE_INTEGRATIONS_WHO in connections
    assert MANAGE_RULES_WHO in visible_text(staff.get("/a/acme/rules/"))
    refused = staff.get("/a/acme/settings/connections/connect/")
    assert refused.status_code == 403 and MANAGE_INTEGRATIONS_WHO in visible_text(refused)


def _template_text(path: Path) -> str:
    """A template's words: without its comments, tags and variables."""
    source = path.read_text()
    source = re.sub(r"\{#.*?#\}", " ", source, flags=re.S)
    source = re.sub(r"\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}", " ", source, flags=re.S)
    return re.sub(r"\{[%{].*?[%}]\}", " ", source, flags=re.S)


def test_templates_and_scripts_have_no_jargon_and_no_native_dialogs():
    templates = sorted((ROOT / "templates").rglob("*.html")) + sorted((ROOT / "sandbox").rglob("*.html"))
    assert len(templates) > 20
    for path in templates:
        text = _template_text(path)
        assert not JARGON.search(text), path
        assert not OTHER_WHO.search(text), path
        assert "data-confirm=" not in text, path
        assert "select Preview" not in text, path
    for script in (ROOT / "static" / "js").glob("*.js"):
        if script.name.endswith(".min.js"):
            continue  # vendored htmx: its hx-confirm is never used (no template has hx-confirm)
        assert not re.search(r"\b(window\.)?(confirm|alert|prompt)\(", script.read_text()), script
    assert not any("hx-confirm" in p.read_text() for p in templates)

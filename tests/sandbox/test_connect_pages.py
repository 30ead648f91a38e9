"""The connect pages know nothing of the sandbox: it adds its sign-ins and its Web Connector button
through integrations.extras, and without it the pages are the production pages."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from integrations import extras
from integrations.models import Connection
from tests.conftest import client_for
from tests.factories import AccountFactory, ConnectionFactory


def text(response) -> str:
    return html.unescape(response.content.decode())


def page_url(account, provider: str) -> str:
    return reverse("integrations:connect_start", kwargs={"account_slug": account.slug, "provider": provider})


def connect_pages(account) -> dict[str, str]:
    """Every connect page of `account` as its Admin sees it, the QuickBooks Desktop one once set up
    (its Web Connector user name and password are on it)."""
    admin = client_for(account.owner)
    pages = {p: text(admin.get(page_url(account, p))) for p in ("xero", "qbo", "approvalmax")}
    pages["qbd"] = text(admin.post(page_url(account, "qbd"), {"action": "setup"}))
    # Bill.com connects beside a main accounting software.
    Connection.objects.filter(account=account).delete()
    ConnectionFactory(account=account, provider="xero", is_main=True)
    pages["billcom"] = text(admin.get(page_url(account, "billcom")))
    return pages


@pytest.fixture
def acme(db):
    """The demo's Acme: the sandbox has sign-ins meant for it."""
    return AccountFactory(name="Acme Ltd", slug="acme")


def test_with_the_sandbox_the_connect_pages_show_its_extras(acme):
    pages = connect_pages(acme)
    assert "Sandbox sign-ins" in pages["billcom"] and "accounts@acme.test" in pages["billcom"]
    assert "Run the Web Connector" in pages["qbd"]
    assert 'action="/sandbox/webconnector/run/"' in pages["qbd"]


def test_without_the_sandbox_no_connect_page_mentions_it(acme, monkeypatch):
    """What production renders: nothing registered its extras (the sandbox app is not installed)."""
    monkeypatch.setattr(extras, "_connect_extras", {})
    pages = connect_pages(acme)
    assert "Connect Bill.com" in pages["billcom"] and "Download the Web Connector file" in pages["qbd"]
    for provider, page in pages.items():
        assert re.search(r"sandbox", page, re.IGNORECASE) is None, provider


def test_an_extra_is_escaped_unless_it_is_rendered_html(acme, monkeypatch):
    monkeypatch.setattr(extras, "_connect_extras", {})
    extras.register_connect_extra(
        "xero", lambda request, account, provider, context: f"<b>{account.slug}</b>"
    )
    assert "&lt;b&gt;acme&lt;/b&gt;" in client_for(acme.owner).get(page_url(acme, "xero")).content.decode()


def test_registering_an_extra_twice_shows_it_once(acme, monkeypatch):
    monkeypatch.setattr(extras, "_connect_extras", {})

    def hello(request, account, provider, context):
        return "Hello from an extra"

    extras.register_connect_extra("qbo", hello)
    extras.register_connect_extra("qbo", hello)
    assert text(client_for(acme.owner).get(page_url(acme, "qbo"))).count("Hello from an extra") == 1

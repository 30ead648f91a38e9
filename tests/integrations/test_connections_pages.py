"""Business settings > Connections and the software that can be connected, as each role sees them."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.errors import DomainError
from accounts.models import ActivityEntry
from integrations import catalog, services
from integrations.models import Connection
from tests.conftest import client_for


def _connections(account) -> str:
    return reverse("integrations:connections", kwargs={"account_slug": account.slug})


def _choose(account) -> str:
    return reverse("integrations:connect_choose", kwargs={"account_slug": account.slug})


def _start(account, provider: str) -> str:
    return reverse("integrations:connect_start", kwargs={"account_slug": account.slug, "provider": provider})


def _button(body: str, url: str, label: str) -> bool:
    """Is there a button `label` that opens `url`? (Buttons in GET forms: they work without JS.)"""
    return bool(
        re.search(rf'action="{re.escape(url)}"[^>]*>\s*<button[^>]*>{re.escape(label)}</button>', body)
    )


def _text(response) -> str:
    """The page's words, tags stripped and spaces collapsed: what a reader sees."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_admin_sees_connections_with_who_and_when(tenant, other_tenant, connect):
    xero = connect(tenant.account, "xero", external_name="Acme Trading Ltd")
    connect(other_tenant.account, "qbo", external_name="Other Corp Books")
    response = client_for(tenant.admin).get(_connections(tenant.account))
    assert response.status_code == 200
    body, text = response.content.decode(), _text(response)
    assert "<h2>Connections</h2>" in body
    assert "Accounting software" in text
    assert _button(body, _choose(tenant.account), "Connect")
    assert "Acme Trading Ltd" in text and tenant.admin.email in text
    assert xero.connected_at.strftime("%-d %b %Y") in text
    assert "Other Corp Books" not in text and "QuickBooks Online" not in text
    disconnect = reverse(
        "integrations:disconnect", kwargs={"account_slug": tenant.account.slug, "connection_id": xero.pk}
    )
    assert _button(body, disconnect, "Disconnect")


def test_reconnect_and_pending_rows(tenant, connect):
    connect(tenant.account, "xero", status="needs_reconnect", last_error="The refresh token was revoked.")
    connect(tenant.account, "billcom", status="pending", connected_at=None)
    response = client_for(tenant.admin).get(_connections(tenant.account))
    body, text = response.content.decode(), _text(response)
    assert "Needs reconnecting" in text and "The refresh token was revoked." in text
    assert _button(body, _start(tenant.account, "xero"), "Reconnect")
    assert "Waiting to finish connecting" in text
    assert _button(body, _start(tenant.account, "billcom"), "Finish connecting")


def test_standard_user_sees_the_page_read_only(tenant, connect):
    connect(tenant.account, "xero")
    connect(tenant.account, "billcom")
    response = client_for(tenant.staff).get(_connections(tenant.account))
    assert response.status_code == 200
    body, text = response.content.decode(), _text(response)
    assert (
        "Only Admin users and accountants or bookkeepers accessing this account can connect, disconnect or "
        "manage accounting software integrations." in text
    )
    assert "Xero" in text and "Bill.com" in text
    assert _choose(tenant.account) not in body
    assert "/disconnect/" not in body
    assert "Save defaults" not in body
    assert "Recent activity" not in text


@pytest.mark.parametrize(
    "url",
    [
        lambda t, c: _connections(t.account),
        lambda t, c: reverse("integrations:defaults_preview", kwargs={"account_slug": t.account.slug}),
        lambda t, c: _choose(t.account),
        lambda t, c: reverse(
            "integrations:disconnect", kwargs={"account_slug": t.account.slug, "connection_id": c.pk}
        ),
    ],
    ids=["connections", "defaults_preview", "connect_choose", "disconnect"],
)
def test_standard_user_posts_are_refused_and_change_nothing(url, tenant, connect):
    connect(tenant.account, "xero")
    billcom = connect(tenant.account, "billcom")
    before = sorted(Connection.objects.values_list("pk", "status"))
    activity = ActivityEntry.objects.count()
    response = client_for(tenant.staff).post(
        url(tenant, billcom), {"publishing": billcom.pk, "expense_claims": billcom.pk, "action": "save"}
    )
    assert response.status_code == 403
    assert sorted(Connection.objects.values_list("pk", "status")) == before
    assert ActivityEntry.objects.count() == activity


def test_practice_users_manage_the_clients_connections(tenant, practice_setup, connect):
    _, partner, bookkeeper = practice_setup
    connect(tenant.account, "xero")
    for user in (partner, bookkeeper):
        body = client_for(user).get(_connections(tenant.account)).content.decode()
        assert _button(body, _choose(tenant.account), "Connect")
        assert "/disconnect/" in body


def test_recent_activity_excerpt_for_managers(tenant, other_tenant, connect):
    xero = connect(tenant.account, "xero")
    billcom = connect(tenant.account, "billcom")
    connect(other_tenant.account, "xero")
    other_billcom = connect(other_tenant.account, "billcom")
    services.set_defaults(
        account=other_tenant.account,
        acting_user=other_tenant.admin,
        publishing_id=other_billcom.pk,
        expense_claims_id=None,
    )
    with pytest.raises(DomainError):
        services.disconnect(account=tenant.account, acting_user=tenant.admin, connection_id=xero.pk)
    services.set_defaults(
        account=tenant.account, acting_user=tenant.admin, publishing_id=billcom.pk, expense_claims_id=None
    )
    text = _text(client_for(tenant.admin).get(_connections(tenant.account)))
    assert "Recent activity" in text
    assert "Tried to disconnect Xero: First disconnect Bill.com, then disconnect Xero." in text
    assert "Changed the default publishing integration (Xero → Bill.com)" in text
    # The other tenant's change is not in this account's excerpt: exactly one default change shown.
    assert text.count("Changed the default publishing integration") == 1


def test_choose_with_nothing_connected_offers_the_main_software(tenant, other_tenant, connect):
    connect(other_tenant.account, "xero")  # another account's main does not count here
    response = client_for(tenant.admin).get(_choose(tenant.account))
    body, text = response.content.decode(), _text(response)
    for provider in catalog.keys(catalog.main()):
        assert _button(body, _start(tenant.account, provider), "Connect")
    for provider in catalog.keys(catalog.additional()):
        assert _start(tenant.account, provider) not in body
    assert (
        "Bill.com and ApprovalMax can be connected once your main accounting software (Xero, QuickBooks "
        "Online or QuickBooks Desktop) is connected." in text
    )


def test_choose_with_a_main_offers_the_additional_integrations(tenant, connect):
    connect(tenant.account, "xero")
    response = client_for(tenant.admin).get(_choose(tenant.account))
    body, text = response.content.decode(), _text(response)
    for provider in catalog.keys(catalog.additional()):
        assert _button(body, _start(tenant.account, provider), "Connect")
    for provider in catalog.keys(catalog.main()):
        assert _start(tenant.account, provider) not in body
    # The reasons come from services.connect_precondition.
    assert "Xero is already connected." in text
    assert (
        "Xero is already your main accounting software. Disconnect it first to connect QuickBooks Online."
        in text
    )
    assert "can be connected once your main accounting software" not in text


def test_choose_with_billcom_connected_still_offers_approvalmax(tenant, connect):
    connect(tenant.account, "xero")
    connect(tenant.account, "billcom")
    response = client_for(tenant.admin).get(_choose(tenant.account))
    assert "Bill.com is already connected." in _text(response)
    assert _button(response.content.decode(), _start(tenant.account, "approvalmax"), "Connect")
    assert _start(tenant.account, "billcom") not in response.content.decode()

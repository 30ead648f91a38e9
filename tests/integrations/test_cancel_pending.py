"""Cancel on a connection "Waiting to finish connecting", and the activity log of the QuickBooks Desktop
set-up: a never-connected pending row goes away, a once-connected one goes back to disconnected with its
options; wrong ids, other tenants' rows and Standard users change nothing."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.errors import DomainError
from accounts.models import ActivityEntry
from integrations import services
from integrations.models import Connection, ConnectionStatus
from integrations.providers import qbd
from tests.conftest import client_for
from tests.integrations.sandbox_helpers import snapshot, start_url
from tests.integrations.test_qbwc import soap


def text(response) -> str:
    return html.unescape(response.content.decode())


def cancel(client, account, provider: str, **kwargs):
    """**Cancel** next to "Waiting to finish connecting" posts action=cancel to the provider's connect URL."""
    return client.post(start_url(account, provider), {"action": "cancel"}, **kwargs)


def connections_url(account) -> str:
    return reverse("integrations:connections", kwargs={"account_slug": account.slug})


def set_up_qbd(client, account) -> str:
    response = client.post(start_url(account, "qbd"), {"action": "setup"}, follow=True)
    return re.search(r'data-testid="qbwc-password">([^<]+)<', response.content.decode()).group(1)


@pytest.fixture
def two_pending(tenant, other_tenant):
    """Both tenants started a QuickBooks Desktop set-up whose Web Connector never signed in."""
    password = set_up_qbd(client_for(tenant.admin), tenant.account)
    set_up_qbd(client_for(other_tenant.admin), other_tenant.account)
    mine = Connection.objects.get(account=tenant.account, provider="qbd")
    theirs = Connection.objects.get(account=other_tenant.account, provider="qbd")
    assert mine.status == theirs.status == ConnectionStatus.PENDING
    return mine, theirs, password


def test_the_page_offers_cancel_next_to_waiting_to_finish_connecting(two_pending, tenant):
    mine, _, _ = two_pending
    page = text(client_for(tenant.admin).get(connections_url(tenant.account)))
    assert "Waiting to finish connecting" in page
    form = re.search(
        r'<form method="post" action="([^"]+)"[^>]*>[^<]*<input[^>]*>(<button[^>]*>Cancel</button>)', page
    )
    assert form, page
    assert form.group(1) == start_url(tenant.account, "qbd")
    assert 'name="action" value="cancel"' in form.group(2)
    assert 'aria-label="Cancel connecting QuickBooks Desktop"' in form.group(2)
    # Read-only for a Standard user: the status, no Cancel.
    page = text(client_for(tenant.staff).get(connections_url(tenant.account)))
    assert "Waiting to finish connecting" in page and "Cancel connecting" not in page


def test_cancelling_a_never_connected_set_up_removes_it_and_is_logged(
    two_pending, tenant, other_tenant, client
):
    mine, _, password = two_pending
    other_before = snapshot(other_tenant.account)
    response = cancel(client_for(tenant.admin), tenant.account, "qbd", follow=True)
    assert "Stopped connecting QuickBooks Desktop." in text(response)
    assert "Cancel connecting" not in text(response)
    assert snapshot(tenant.account) == []
    assert snapshot(other_tenant.account) == other_before
    entry = ActivityEntry.objects.filter(account=tenant.account).latest("pk")
    assert (entry.actor, entry.action, entry.summary, entry.before, entry.after) == (
        tenant.admin,
        "integration.cancelled",
        "Cancelled connecting QuickBooks Desktop",
        "Waiting to finish connecting",
        "Not connected",
    )
    assert entry.created_at is not None
    assert not ActivityEntry.objects.filter(account=other_tenant.account, action="integration.cancelled")
    # The Web Connector password shown for that set-up no longer signs in.
    assert soap(client, "authenticate", strUserName=qbd.username_for(mine), strPassword=password) == [
        "",
        "nvu",
    ]
    # And QuickBooks Desktop can be set up again from scratch.
    assert set_up_qbd(client_for(tenant.admin), tenant.account)


def test_cancelling_a_once_connected_set_up_goes_back_to_disconnected_keeping_its_options(
    tenant, other_tenant, connect
):
    old = connect(
        tenant.account,
        "qbd",
        status=ConnectionStatus.DISCONNECTED,
        options={"kept": "yes"},
        connected_at=timezone.now(),
    )
    set_up_qbd(client_for(tenant.admin), tenant.account)
    old.refresh_from_db()
    assert old.status == ConnectionStatus.PENDING
    other_before = snapshot(other_tenant.account)

    cancel(client_for(tenant.admin), tenant.account, "qbd")

    old.refresh_from_db()
    assert (old.status, old.options, old.credentials) == (ConnectionStatus.DISCONNECTED, {"kept": "yes"}, {})
    assert Connection.objects.filter(account=tenant.account).count() == 1
    assert snapshot(other_tenant.account) == other_before
    entry = ActivityEntry.objects.filter(account=tenant.account, action="integration.cancelled").get()
    assert (entry.before, entry.after) == ("Waiting to finish connecting", "Disconnected")


def test_a_row_left_pending_by_an_older_oauth_flow_can_be_cancelled(tenant, other_tenant, connect):
    stuck = connect(tenant.account, "xero", status=ConnectionStatus.PENDING, connected_at=None)
    connect(other_tenant.account, "xero", status=ConnectionStatus.PENDING, connected_at=None)
    other_before = snapshot(other_tenant.account)
    cancel(client_for(tenant.admin), tenant.account, "xero")
    assert stuck.pk
    assert snapshot(tenant.account) == []
    assert snapshot(other_tenant.account) == other_before


def test_another_accounts_pending_connection_cannot_be_cancelled(tenant, other_tenant):
    set_up_qbd(client_for(other_tenant.admin), other_tenant.account)
    theirs = Connection.objects.get(account=other_tenant.account, provider="qbd")
    before, other_before = snapshot(tenant.account), snapshot(other_tenant.account)
    # From this account's page: this account has nothing waiting.
    response = cancel(client_for(tenant.admin), tenant.account, "qbd", follow=True)
    assert "That connection is not waiting to finish connecting." in text(response)
    # The service itself, handed the other account's id.
    with pytest.raises(DomainError, match="^That connection is not waiting to finish connecting.$"):
        services.cancel_pending(account=tenant.account, acting_user=tenant.admin, connection_id=theirs.pk)
    # And the other account's URL, by this account's admin: not found.
    assert cancel(client_for(tenant.admin), other_tenant.account, "qbd").status_code == 404
    assert (snapshot(tenant.account), snapshot(other_tenant.account)) == (before, other_before)
    assert not ActivityEntry.objects.filter(action="integration.cancelled").exists()


def test_an_active_connection_is_not_cancelled(tenant, other_tenant, connect):
    active = connect(tenant.account, "xero")
    before, other_before = snapshot(tenant.account), snapshot(other_tenant.account)
    response = cancel(client_for(tenant.admin), tenant.account, "xero", follow=True)
    assert "That connection is not waiting to finish connecting." in text(response)
    assert (snapshot(tenant.account), snapshot(other_tenant.account)) == (before, other_before)
    with pytest.raises(DomainError, match="^That connection is not waiting to finish connecting.$"):
        services.cancel_pending(account=tenant.account, acting_user=tenant.admin, connection_id=active.pk)
    assert not ActivityEntry.objects.filter(action="integration.cancelled").exists()


def test_a_standard_user_cannot_cancel(two_pending, tenant, other_tenant):
    mine, _, _ = two_pending
    before, other_before = snapshot(tenant.account), snapshot(other_tenant.account)
    assert mine.status == ConnectionStatus.PENDING
    assert cancel(client_for(tenant.staff), tenant.account, "qbd").status_code == 403
    assert cancel(client_for(other_tenant.admin), tenant.account, "qbd").status_code == 404
    assert cancel(client_for(tenant.admin), tenant.account, "sage").status_code == 404
    assert (snapshot(tenant.account), snapshot(other_tenant.account)) == (before, other_before)
    assert not ActivityEntry.objects.filter(action="integration.cancelled").exists()


def test_the_set_up_page_offers_cancel_while_waiting(two_pending, tenant):
    mine, _, _ = two_pending
    page = text(client_for(tenant.admin).get(start_url(tenant.account, "qbd")))
    assert "Waiting for the Web Connector" in page
    assert mine.pk
    assert 'name="action" value="cancel" aria-label="Cancel connecting QuickBooks Desktop"' in page


def test_web_connector_passwords_are_logged_who_and_when(tenant, other_tenant):
    admin = client_for(tenant.admin)
    set_up_qbd(admin, tenant.account)
    admin.post(start_url(tenant.account, "qbd"), {"action": "new_password"})
    entries = list(
        ActivityEntry.objects.filter(account=tenant.account, action="integration.qbwc_password").order_by(
            "pk"
        )
    )
    assert [(e.actor, e.summary) for e in entries] == [
        (tenant.admin, "Generated the QuickBooks Desktop Web Connector password"),
        (
            tenant.admin,
            "Generated a new QuickBooks Desktop Web Connector password (the old one stopped working)",
        ),
    ]
    assert all(e.created_at for e in entries)
    assert not ActivityEntry.objects.filter(account=other_tenant.account).exists()


def test_a_refused_new_password_is_not_logged_and_changes_nothing(tenant, other_tenant, connect):
    connect(tenant.account, "xero")
    before, other_before = snapshot(tenant.account), snapshot(other_tenant.account)
    response = client_for(tenant.admin).post(
        start_url(tenant.account, "qbd"), {"action": "setup"}, follow=True
    )
    assert "Xero is already your main accounting software" in text(response)
    assert (snapshot(tenant.account), snapshot(other_tenant.account)) == (before, other_before)
    assert not ActivityEntry.objects.filter(action="integration.qbwc_password").exists()

"""Business settings > Connections shows each connection's lists: when they were last read (or not yet),
Refresh lists for those who may manage integrations (the others see the state only), the progress of a
read on its way (polled by htmx until it is done), QuickBooks Desktop's Web Connector, ApprovalMax using
the main software's lists, and a failed read's message. Two tenants throughout."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from accounts.models import ActivityEntry
from integrations.models import ConnectionStatus, ListSync, ListSyncState
from tests.conftest import client_for

READ_AT = datetime(2026, 12, 2, 9, 14, tzinfo=UTC)


def page(client, account) -> str:
    response = client.get(reverse("integrations:connections", args=[account.slug]))
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def lists_cell(body: str, connection) -> str:
    start = body.index(f'id="lists-{connection.pk}"')
    return body[start : body.index("</div>", start)]


def status(client, connection) -> str:
    response = client.get(reverse("integrations:lists_status", args=[connection.account.slug, connection.pk]))
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def refresh_url(connection) -> str:
    return reverse("integrations:lists_refresh", args=[connection.account.slug, connection.pk])


def synced(connection, **fields) -> ListSync:
    return ListSync.objects.create(account=connection.account, connection=connection, **fields)


def test_admins_see_when_the_lists_were_read_and_refresh_lists(tenant, other_tenant, connect):
    xero = connect(tenant.account, "xero")
    synced(xero, state=ListSyncState.DONE, last_success_at=READ_AT)
    billcom = connect(tenant.account, "billcom")
    theirs = connect(other_tenant.account, "xero")
    synced(theirs, state=ListSyncState.FAILED, message="SECRET failure of the other tenant")

    body = page(client_for(tenant.admin), tenant.account)
    assert "Lists last read 2 Dec 2026 at 09:14" in lists_cell(body, xero)
    assert 'aria-label="Refresh lists of Xero"' in lists_cell(body, xero)
    assert "Not read yet" in lists_cell(body, billcom)
    assert 'aria-label="Refresh lists of Bill.com"' in lists_cell(body, billcom)
    assert "every 2s" not in body  # nothing on its way: nothing polls
    assert "SECRET" not in body and f'id="lists-{theirs.pk}"' not in body


def test_others_see_the_state_only(tenant, connect):
    xero = connect(tenant.account, "xero")
    synced(xero, state=ListSyncState.DONE, last_success_at=READ_AT)
    body = page(client_for(tenant.staff), tenant.account)
    assert "Lists last read 2 Dec 2026 at 09:14" in body
    assert "Refresh lists" not in body
    assert "Refresh lists" not in status(client_for(tenant.staff), xero)
    response = client_for(tenant.staff).post(refresh_url(xero))
    assert response.status_code == 403
    assert ListSync.objects.get(connection=xero).state == ListSyncState.DONE


def test_refresh_lists_without_javascript_queues_and_says_so(tenant, other_tenant, connect):
    xero = connect(tenant.account, "xero")
    theirs = connect(other_tenant.account, "xero")
    client = client_for(tenant.admin)
    response = client.post(refresh_url(xero), follow=True)
    body = html.unescape(response.content.decode())
    assert "Xero's lists are being read." in body
    cell = lists_cell(body, xero)
    assert "Waiting to be read" in cell and "Refresh lists" not in cell
    assert 'hx-trigger="every 2s"' in cell
    assert ListSync.objects.get(connection=xero).state == ListSyncState.QUEUED
    assert not ListSync.objects.filter(connection=theirs).exists()
    entry = ActivityEntry.objects.get(action="integration.lists_requested")
    assert (entry.account, entry.actor, entry.summary) == (
        tenant.account,
        tenant.admin,
        "Asked for Xero's lists to be read again (Refresh lists)",
    )
    assert "Asked for Xero's lists to be read again" in page(client, tenant.account)  # recent activity


def test_refresh_lists_with_htmx_answers_the_lists_and_polls_until_done(tenant, connect):
    xero = connect(tenant.account, "xero")
    client = client_for(tenant.admin)
    response = client.post(refresh_url(xero), HTTP_HX_REQUEST="true")
    part = html.unescape(response.content.decode())
    assert part.lstrip().startswith("<div") and "<html" not in part
    poll = reverse("integrations:lists_status", args=[tenant.account.slug, xero.pk])
    assert f'hx-get="{poll}"' in part and 'hx-trigger="every 2s"' in part and "Waiting to be read" in part

    row = ListSync.objects.get(connection=xero)
    row.state = ListSyncState.RUNNING
    row.started_at = READ_AT
    row.lease_until = datetime(2999, 1, 1, tzinfo=UTC)
    row.progress = {"account": {"read": 41, "done": True}, "tax_rate": {"read": 3, "done": False}}
    row.save()
    running = status(client, xero)
    assert "Reading the lists…" in running and 'hx-trigger="every 2s"' in running
    assert "Chart of accounts: 41 read" in running
    assert "Tax rates: reading (3 so far)" in running
    assert "Suppliers: waiting" in running

    ListSync.objects.filter(pk=row.pk).update(
        state=ListSyncState.DONE, last_success_at=READ_AT, lease_until=None, progress={}
    )
    done = status(client, xero)
    assert "hx-trigger" not in done  # the answer that finds it done stops the polling
    assert "Lists last read 2 Dec 2026 at 09:14" in done and "Refresh lists" in done


def test_a_failed_read_says_what_failed_and_that_the_earlier_lists_are_kept(tenant, connect):
    xero = connect(tenant.account, "xero")
    message = (
        "Could not read the tax rates from Xero: Xero is not answering (HTTP 503). Try again later. "
        "The lists read on 2 Dec 2026 at 09:14 are kept."
    )
    synced(xero, state=ListSyncState.FAILED, last_success_at=READ_AT, message=message)
    for user in (tenant.admin, tenant.staff):
        cell = lists_cell(page(client_for(user), tenant.account), xero)
        assert message in cell and 'role="alert"' in cell
    assert "Refresh lists" in lists_cell(page(client_for(tenant.admin), tenant.account), xero)


def test_quickbooks_desktop_reads_its_lists_with_the_web_connector(tenant, connect):
    qbd = connect(tenant.account, "qbd")
    client = client_for(tenant.admin)
    cell = lists_cell(page(client, tenant.account), qbd)
    assert "QuickBooks Desktop reads its lists the next time the Web Connector runs." in cell
    response = client.post(refresh_url(qbd), follow=True)
    body = html.unescape(response.content.decode())
    assert "QuickBooks Desktop reads its lists the next time the Web Connector runs." in body
    cell = lists_cell(body, qbd)
    assert "Waiting to be read" in cell
    assert "hx-trigger" not in cell  # it may wait for days: not polled while it waits
    ListSync.objects.filter(connection=qbd).update(
        state=ListSyncState.RUNNING, lease_until=datetime(2999, 1, 1, tzinfo=UTC)
    )
    assert 'hx-trigger="every 2s"' in status(client, qbd)  # the Web Connector is reading: watched


def test_approvalmax_uses_the_main_software_lists(tenant, connect):
    connect(tenant.account, "xero")
    approvalmax = connect(tenant.account, "approvalmax")
    client = client_for(tenant.admin)
    cell = lists_cell(page(client, tenant.account), approvalmax)
    assert "Uses Xero's lists" in cell and "Refresh lists" not in cell
    response = client.post(refresh_url(approvalmax), follow=True)
    assert "ApprovalMax has no lists of its own to read." in html.unescape(response.content.decode())
    assert not ListSync.objects.exists()


@pytest.mark.parametrize("status_", [ConnectionStatus.NEEDS_RECONNECT, ConnectionStatus.PENDING])
def test_a_connection_not_working_offers_no_refresh_and_refuses_one(tenant, connect, status_):
    xero = connect(tenant.account, "xero", status=status_)
    client = client_for(tenant.admin)
    cell = lists_cell(page(client, tenant.account), xero)
    assert "Not read yet" in cell and "Refresh lists" not in cell
    response = client.post(refresh_url(xero), HTTP_HX_REQUEST="true")
    assert "Xero must be connected and working before its lists can be read." in html.unescape(
        response.content.decode()
    )
    assert not ListSync.objects.exists() and not ActivityEntry.objects.exists()


def test_a_disconnected_or_foreign_connection_is_not_found(tenant, other_tenant, connect):
    gone = connect(tenant.account, "xero", status=ConnectionStatus.DISCONNECTED)
    theirs = connect(other_tenant.account, "xero")
    client = client_for(tenant.admin)
    for connection in (gone, theirs):
        url = reverse("integrations:lists_status", args=[tenant.account.slug, connection.pk])
        assert client.get(url).status_code == 404
        refresh = reverse("integrations:lists_refresh", args=[tenant.account.slug, connection.pk])
        assert client.post(refresh).status_code == 404
    assert not ListSync.objects.exists()

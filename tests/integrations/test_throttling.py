"""Sign-in throttling for the two sign-ins that are not the sign-in page: the QuickBooks Web Connector's
SOAP `authenticate` and the Bill.com sign-in form (each guess there is relayed to Bill.com)."""

from __future__ import annotations

import html
import logging
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth.hashers import get_hasher
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled
from lxml import etree

from accounts.models import ActivityEntry
from integrations.models import Connection, ConnectionStatus
from integrations.providers import qbd
from sandbox import webconnector
from sandbox.models import RequestLogEntry
from tests.conftest import client_for
from tests.factories import ConnectionFactory
from tests.integrations.sandbox_helpers import sandbox, start_url  # noqa: F401

LOCKED_BILLCOM = (
    "Too many failed sign-ins to Bill.com. For your security, this form is locked for 15 minutes."
)


def text(response) -> str:
    return html.unescape(response.content.decode())


def activity(account, action: str) -> list[ActivityEntry]:
    with scopes_disabled():
        return list(ActivityEntry.objects.filter(account=account, action=action))


# --- QuickBooks Web Connector ----------------------------------------------------------------------


def qbd_connection(account, status=ConnectionStatus.PENDING) -> tuple[Connection, str]:
    with scopes_disabled():
        conn = ConnectionFactory(account=account, provider="qbd", status=status, external_name="")
        return conn, qbd.new_password(connection=conn)


def authenticate(client, username: str, password: str, ip: str = "192.0.2.20") -> list[str]:
    response = client.post(
        reverse("integrations:qbwc"),
        data=webconnector._envelope("authenticate", {"strUserName": username, "strPassword": password}),
        content_type="text/xml; charset=utf-8",
        REMOTE_ADDR=ip,
    )
    assert response.status_code == 200, response.content
    return soap_result(response)


def soap_result(response) -> list[str]:
    root = etree.fromstring(response.content)
    return [s.text or "" for s in root.iter("{http://developer.intuit.com/}string")]


def test_the_web_connector_is_locked_after_repeated_wrong_passwords(client, tenant, other_tenant, caplog):
    conn, password = qbd_connection(tenant.account)
    username = qbd.username_for(conn)
    caplog.set_level(logging.WARNING)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for i in range(10):
            assert authenticate(client, username, "wrong", ip=f"198.51.100.{i + 1}") == ["", "nvu"]

        # The right password is refused while locked: no ticket, the connection stays pending.
        assert authenticate(client, username, password, ip="203.0.113.60") == ["", "nvu"]
        conn.refresh_from_db()
        assert conn.status == ConnectionStatus.PENDING
        messages = [r.getMessage() for r in caplog.records if r.name == "accounts.throttling"]
        assert any(f"qbwc:{username}" in m and "203.0.113.60" in m for m in messages)

        clock.shift(timedelta(minutes=16))
        ticket, status = authenticate(client, username, password, ip="203.0.113.60")
        assert ticket and status == ""
        conn.refresh_from_db()
        assert conn.status == ConnectionStatus.ACTIVE


def test_a_web_connector_lockout_writes_one_activity_row_on_its_account(client, tenant, other_tenant):
    conn, password = qbd_connection(tenant.account)
    qbd_connection(other_tenant.account)
    for i in range(25):
        authenticate(client, qbd.username_for(conn), "wrong", ip=f"198.51.100.{i + 1}")

    rows = activity(tenant.account, "integration.signin_locked")
    assert len(rows) == 1
    assert rows[0].summary == (
        "QuickBooks Web Connector sign-in locked for 15 minutes after repeated wrong passwords"
    )
    assert rows[0].actor is None
    assert activity(other_tenant.account, "integration.signin_locked") == []


def test_failures_from_one_address_lock_the_web_connector_for_every_user_name(client, tenant, other_tenant):
    conn, password = qbd_connection(tenant.account)
    for i in range(10):
        authenticate(client, f"dext-guess-{i}", "wrong", ip="203.0.113.7")

    assert authenticate(client, qbd.username_for(conn), password, ip="203.0.113.7") == ["", "nvu"]
    ticket, status = authenticate(client, qbd.username_for(conn), password, ip="203.0.113.8")
    assert ticket and status == ""


def test_a_sign_in_page_cannot_spend_the_web_connector_s_count(client, tenant):
    """The Django admin's sign-in takes any user name, even one written like the Web Connector's
    count ("qbwc:<user name>"): it is counted apart, so it cannot lock the Web Connector out."""
    conn, password = qbd_connection(tenant.account)
    username = qbd.username_for(conn)
    for i in range(10):
        client.post(
            "/admin/login/",
            {"username": f"qbwc:{username}", "password": "x"},
            REMOTE_ADDR=f"198.51.100.{i + 1}",
        )
    assert AccessAttempt.objects.exists()
    ticket, _ = authenticate(client, username, password, ip="203.0.113.9")
    assert ticket


@pytest.mark.parametrize(
    "who",
    [
        "right password",
        "wrong password",
        "unknown connection id",
        "not a Web Connector user name",
        "another account's slug",
        "disconnected connection",
        "set up without a password yet",
    ],
)
def test_every_user_name_costs_exactly_one_password_hash(client, tenant, who):
    """Unknown user names must not answer faster than known ones (which would tell a guesser which
    Web Connector user names exist): every answer hashes the password once, as Django's ModelBackend
    does for an unknown user."""
    conn, password = qbd_connection(tenant.account)
    username = qbd.username_for(conn)
    if who == "disconnected connection":
        with scopes_disabled():
            Connection.objects.filter(pk=conn.pk).update(status=ConnectionStatus.DISCONNECTED)
    if who == "set up without a password yet":
        with scopes_disabled():
            bare = ConnectionFactory(provider="qbd", status=ConnectionStatus.PENDING)
        username = qbd.username_for(bare)
    user, secret = {
        "right password": (username, password),
        "wrong password": (username, "wrong"),
        "unknown connection id": ("dext-acme-999999", password),
        "not a Web Connector user name": ("admin", password),
        "another account's slug": (username.replace(tenant.account.slug, "someone-else"), password),
        "disconnected connection": (username, password),
        "set up without a password yet": (username, password),
    }[who]

    hasher = type(get_hasher())
    with mock.patch.object(hasher, "encode", autospec=True, side_effect=hasher.encode) as encode:
        result = authenticate(client, user, secret)

    assert encode.call_count == 1
    assert (result[1] == "") == (who == "right password")


# --- Bill.com --------------------------------------------------------------------------------------

ACME = {
    "username": "accounts@acme.test",
    "password": "billcom-demo-2026",
    "organisation_id": "00801ACMEDEMO01",
}


def bill_com_logins() -> int:
    return RequestLogEntry.objects.filter(provider="billcom", path__endswith="/v3/login").count()


@pytest.fixture
def billcom_form(sandbox, tenant, connect):  # noqa: F811
    connect(tenant.account, "xero")
    return client_for(tenant.admin), start_url(tenant.account, "billcom")


def test_the_bill_com_form_locks_and_does_not_ask_bill_com_while_locked(billcom_form, tenant, other_tenant):
    client, url = billcom_form
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for i in range(9):
            response = client.post(url, {**ACME, "password": f"guess-{i}"}, REMOTE_ADDR=f"198.51.100.{i + 1}")
            assert response.status_code == 200
            assert "Bill.com did not accept" in text(response)
        response = client.post(url, {**ACME, "password": "guess-9"}, REMOTE_ADDR="198.51.100.10")
        assert response.status_code == 429 and LOCKED_BILLCOM in text(response)
        assert bill_com_logins() == 10

        # The right sign-in, while locked: refused here, never relayed to Bill.com.
        response = client.post(url, ACME, REMOTE_ADDR="203.0.113.70")
        assert response.status_code == 429 and LOCKED_BILLCOM in text(response)
        assert bill_com_logins() == 10
        with scopes_disabled():
            assert not Connection.objects.filter(account=tenant.account, provider="billcom").exists()

        rows = activity(tenant.account, "integration.signin_locked")
        assert [(r.summary, r.actor) for r in rows] == [
            (
                "Bill.com sign-in locked for 15 minutes after repeated refusals (last user name tried: "
                "accounts@acme.test)",
                tenant.admin,
            )
        ]
        assert activity(other_tenant.account, "integration.signin_locked") == []

        clock.shift(timedelta(minutes=16))
        response = client.post(url, ACME, REMOTE_ADDR="203.0.113.70", follow=True)
        assert "Bill.com is connected" in text(response)
        assert bill_com_logins() == 11


def test_bill_com_guesses_from_one_address_lock_it_for_every_user_name(billcom_form):
    client, url = billcom_form
    for i in range(10):
        client.post(url, {**ACME, "username": f"guess-{i}@acme.test"}, REMOTE_ADDR="203.0.113.7")
    logins = bill_com_logins()

    response = client.post(url, ACME, REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 429 and LOCKED_BILLCOM in text(response)
    assert bill_com_logins() == logins

    # Another address is not locked. (Per-address and per-Bill.com-user counts only.)
    response = client.post(url, ACME, REMOTE_ADDR="203.0.113.8", follow=True)
    assert "Bill.com is connected" in text(response)

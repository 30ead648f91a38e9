"""The sandbox plays the providers' side by their rules (RFC 6749/7636, Xero's /connections, Bill.com
v3 errors); the demo's Xero connection holds tokens the sandbox really issued."""

from __future__ import annotations

import base64
import hashlib
import html
import os
from datetime import timedelta

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Account
from integrations.models import Connection, ConnectionStatus
from integrations.providers import GrantRevoked
from integrations.providers.xero import Xero
from integrations.tokens import access_token_for
from sandbox import data
from sandbox.models import AuthorizationCode, IssuedToken, RequestLogEntry
from tests.conftest import client_for
from tests.integrations.sandbox_helpers import XERO_ACME, org_ids, other_tenant_untouched, sandbox  # noqa: F401

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_untouched")

VERIFIER = "v" * 64
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


def token_url(settings) -> str:
    return f"{settings.SANDBOX_BASE_URL}/xero/identity/connect/token"


def redirect_uri(settings) -> str:
    return f"{settings.SITE_URL}/connect/callback/xero/"


def a_code(settings, **fields) -> AuthorizationCode:
    """A consent to Acme, as the sandbox's authorize page records it."""
    return data.record_consent(
        provider="xero",
        client_id=settings.XERO_CLIENT_ID,
        redirect_uri=redirect_uri(settings),
        code_challenge=CHALLENGE,
        org_ids=org_ids("xero", XERO_ACME),
        scope=Xero.scope,
        user_key="user-a",
        code=fields.pop("code", "code-1"),
        **fields,
    )


def exchange(settings, code: str = "code-1", verifier: str = VERIFIER, secret: str | None = None):
    return requests.post(
        token_url(settings),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri(settings),
            "code_verifier": verifier,
        },
        auth=(settings.XERO_CLIENT_ID, settings.XERO_CLIENT_SECRET if secret is None else secret),
        timeout=10,
    )


def test_a_code_is_exchanged_once_with_the_right_verifier(settings):
    a_code(settings)
    first = exchange(settings)
    assert first.status_code == 200
    body = first.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 1800 and body["refresh_token"]
    again = exchange(settings)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_pkce_verification(settings):
    a_code(settings)
    wrong = exchange(settings, verifier="w" * 64)
    assert wrong.status_code == 400 and wrong.json() == {
        "error": "invalid_grant",
        "error_description": "PKCE verification failed (code_verifier).",
    }


def test_a_xero_code_lives_five_minutes(settings):
    a_code(settings, created_at=timezone.now() - timedelta(minutes=5, seconds=1))
    assert exchange(settings).json()["error"] == "invalid_grant"


def test_client_authentication(settings):
    a_code(settings)
    response = exchange(settings, secret="wrong")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert AuthorizationCode.objects.get().used_at is None


def test_refresh_tokens_rotate_and_the_old_one_stops_working(settings):
    a_code(settings)
    first = exchange(settings).json()
    rotated = Xero().refresh(refresh_token=first["refresh_token"])
    assert rotated.refresh_token != first["refresh_token"]
    with pytest.raises(GrantRevoked):
        Xero().refresh(refresh_token=first["refresh_token"])
    assert Xero().refresh(refresh_token=rotated.refresh_token).access_token


def test_xero_connections_follow_the_identity_spec(settings):
    a_code(settings)
    access = exchange(settings).json()["access_token"]
    response = requests.get(
        f"{settings.SANDBOX_BASE_URL}/xero/connections",
        headers={"Authorization": f"Bearer {access}"},
        timeout=10,
    )
    [connection] = response.json()
    assert set(connection) == {
        "id",
        "authEventId",
        "tenantId",
        "tenantType",
        "tenantName",
        "createdDateUtc",
        "updatedDateUtc",
    }
    assert (connection["tenantName"], connection["tenantType"]) == (XERO_ACME, "ORGANISATION")
    unauthorised = requests.get(
        f"{settings.SANDBOX_BASE_URL}/xero/connections", headers={"Authorization": "Bearer nope"}, timeout=10
    )
    assert unauthorised.status_code == 401


def test_an_expired_access_token_is_refused(settings):
    a_code(settings)
    access = exchange(settings).json()["access_token"]
    IssuedToken.objects.update(access_expires_at=timezone.now() - timedelta(seconds=1))
    response = requests.get(
        f"{settings.SANDBOX_BASE_URL}/xero/connections",
        headers={"Authorization": f"Bearer {access}"},
        timeout=10,
    )
    assert response.status_code == 401


def test_an_unregistered_redirect_uri_is_shown_not_followed(client, settings):
    response = client.get(
        "/sandbox/xero/identity/connect/authorize",
        {
            "response_type": "code",
            "client_id": settings.XERO_CLIENT_ID,
            "redirect_uri": "https://evil.example/steal",
            "state": "s",
            "code_challenge": CHALLENGE,
            "code_challenge_method": "S256",
        },
    )
    assert response.status_code == 400
    assert "is not registered for this app" in html.unescape(response.content.decode())


def test_authorize_requires_pkce(client, settings):
    response = client.get(
        "/sandbox/xero/identity/connect/authorize",
        {
            "response_type": "code",
            "client_id": settings.XERO_CLIENT_ID,
            "redirect_uri": redirect_uri(settings),
            "state": "s",
        },
    )
    assert response.status_code == 302 and "error=invalid_request" in response["Location"]


def test_bill_com_login_errors_look_like_bill_com(settings):
    response = requests.post(
        f"{settings.SANDBOX_BASE_URL}/billcom/connect/v3/login",
        json={
            "username": "accounts@acme.test",
            "password": "x",
            "organizationId": "00801ACMEDEMO01",
            "devKey": settings.BILLCOM_DEV_KEY,
        },
        timeout=10,
    )
    assert response.status_code == 400
    [error] = response.json()
    # https://developer.bill.com/docs/faq: BDC_1101 "User name and/or password do not match our records."
    assert error["code"] == "BDC_1101" and error["severity"] == "ERROR"


def test_the_sandbox_page_lists_what_it_received_and_the_demo_credentials(settings, tenant, connect):
    a_code(settings)
    exchange(settings)
    # The viewer's account is connected to the organisation the code was for, and is the demo's Acme.
    Account.objects.filter(pk=tenant.account.pk).update(slug="acme")
    connect(tenant.account, "xero", external_id=org_ids("xero", XERO_ACME)[0])
    page = html.unescape(client_for(tenant.admin).get("/sandbox/").content.decode())
    assert "What each sandbox received" in page
    assert "POST /sandbox/xero/identity/connect/token" in page and "code exchanged for tokens" in page
    assert "accounts@acme.test" in page and "billcom-demo-2026" in page
    assert XERO_ACME in page
    assert RequestLogEntry.objects.filter(provider="xero").exists()


def test_seed_demo_connects_acme_to_the_xero_sandbox_and_nothing_else(settings):
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    acme = Account.objects.get(slug="acme")
    conn = Connection.objects.get(account=acme)
    assert (conn.provider, conn.status, conn.external_name) == ("xero", ConnectionStatus.ACTIVE, XERO_ACME)
    assert conn.connected_by.email == "admin@acme.test"
    assert not Connection.objects.exclude(account=acme).exists()  # Globex and Initech: nothing connected
    before = list(Connection.objects.values())
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    assert list(Connection.objects.values()) == before  # idempotent

    # The tokens are the sandbox's own: a refresh works against it.
    old = conn.credentials
    Connection.objects.filter(pk=conn.pk).update(access_expires_at=timezone.now() + timedelta(minutes=1))
    conn.refresh_from_db()
    assert access_token_for(conn) != old["access_token"]
    assert Connection.objects.get(pk=conn.pk).status == ConnectionStatus.ACTIVE


def test_bill_com_login_needs_our_developer_key(settings):
    response = requests.post(
        f"{settings.SANDBOX_BASE_URL}/billcom/connect/v3/login",
        json={
            "username": "accounts@acme.test",
            "password": "billcom-demo-2026",
            "organizationId": "00801ACMEDEMO01",
            "devKey": "someone-elses-key",
        },
        timeout=10,
    )
    # https://developer.bill.com/docs/faq: BDC_1102 "Developer key is invalid."
    assert response.status_code == 401 and response.json()[0]["code"] == "BDC_1102"

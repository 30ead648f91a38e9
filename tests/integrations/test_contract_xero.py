"""Xero as documented, our adapter against the sandbox over real HTTP: granular scopes, no `scope` on
refresh, the tenants of THIS consent only (authEventId), per-endpoint scopes, DELETE /connections/{id}
and revocation on disconnect (unless another connection of ours needs the grant), and a disconnect
that stands when Xero cannot be told. Sources: docs/providers.md, "Provider calls and their
documentation"."""

from __future__ import annotations

import html
import logging
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from django.urls import reverse
from django.utils import timezone

from accounts.models import ActivityEntry
from integrations import services
from integrations.models import Connection, ConnectionStatus
from integrations.providers import GrantRevoked, TokenSet
from integrations.providers.xero import Xero
from sandbox import data
from sandbox.models import IssuedToken, RequestLogEntry, XeroConnection
from tests.conftest import client_for
from tests.integrations.sandbox_helpers import (  # noqa: F401  (fixtures: other_tenant_untouched, sandbox)
    XERO_ACME,
    XERO_GLOBEX,
    a_consent,
    callback_uri,
    consent,
    exchanged,
    local,
    org_ids,
    other_tenant_untouched,
    provider_answering,
    sandbox,
    start,
    xero_connection,
)

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_untouched")


def invoices_url(settings) -> str:
    return f"{settings.SANDBOX_BASE_URL}/xero/api.xro/2.0/Invoices"


INVOICE = {
    "Type": "ACCPAY",
    "Contact": {"Name": "Paper Co"},
    "LineItems": [{"Description": "A4", "LineAmount": 5}],
}


def put_invoice(settings, access_token: str, tenant_id: str) -> requests.Response:
    return requests.put(
        invoices_url(settings),
        json={"Invoices": [INVOICE]},
        headers={"Authorization": f"Bearer {access_token}", "xero-tenant-id": tenant_id},
        timeout=10,
    )


def connected(connect, account, tokens: TokenSet, name: str) -> Connection:
    """A Xero connection holding `tokens`, as the connect flow leaves it (with Xero's connection id)."""
    return xero_connection(connect, account, name, tokens=tokens)


# --- scopes ------------------------------------------------------------------------------------------


def test_xero_asks_for_the_granular_scopes_a_new_app_may_use(client, settings):
    url = Xero().authorization_url(redirect_uri=callback_uri("xero"), state="s", code_verifier="v" * 64)
    scope = parse_qs(urlsplit(url).query)["scope"][0].split()
    assert set(scope) == {
        "offline_access",
        "accounting.invoices",
        "accounting.contacts",
        "accounting.settings",
        "accounting.attachments",
    }
    # The sandbox plays an app created after 2 March 2026: the broad scope is refused on Xero's page.
    old = url.replace("accounting.invoices", "accounting.transactions")
    refused = client.get(local(old))
    assert refused.status_code == 400
    assert "You've requested an invalid scope: accounting.transactions." in html.unescape(
        refused.content.decode()
    )
    assert client.get(local(url)).status_code == 200


def test_a_refresh_sends_no_scope(settings):
    tokens = exchanged("xero", a_consent("xero", [XERO_ACME]))
    Xero().refresh(refresh_token=tokens.refresh_token)
    [entry] = RequestLogEntry.objects.filter(summary__startswith="refresh token rotated")
    assert "(no scope sent)" in entry.summary


def test_a_grant_made_before_the_scope_list_grew_keeps_refreshing(settings):
    """A wider scope on refresh is refused (RFC 6749 §6): a client that sends its current scope list
    loses every grant consented to a shorter list. Ours sends none."""
    narrow = "offline_access accounting.contacts accounting.settings"
    older = exchanged("xero", a_consent("xero", [XERO_ACME], scope=narrow))

    with (
        OAuth2Session(
            client_id=settings.XERO_CLIENT_ID, client_secret=settings.XERO_CLIENT_SECRET, scope=Xero().scope
        ) as with_scope,
        pytest.raises(OAuthError) as refused,
    ):
        with_scope.refresh_token(
            f"{settings.SANDBOX_BASE_URL}/xero/identity/connect/token", older.refresh_token
        )
    assert refused.value.error == "invalid_scope"

    rotated = Xero().refresh(refresh_token=older.refresh_token)
    assert IssuedToken.objects.get(refresh_token=rotated.refresh_token).scope == narrow


def test_xero_checks_scopes_per_endpoint(settings):
    tenant = org_ids("xero", XERO_ACME)[0]
    no_invoices = exchanged(
        "xero", a_consent("xero", [XERO_ACME], scope="offline_access accounting.contacts")
    )
    refused = put_invoice(settings, no_invoices.access_token, tenant)
    assert refused.status_code == 401
    assert refused.json() == {
        "Type": None,
        "Title": "Unauthorized",
        "Status": 401,
        "Detail": "AuthorizationUnsuccessful",
    }
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]

    ours = exchanged("xero", a_consent("xero", [XERO_ACME], user_key="user-b"))
    assert put_invoice(settings, ours.access_token, tenant).status_code == 200


# --- the tenants of this consent -------------------------------------------------------------------


def test_only_the_tenants_of_this_consent_are_offered(settings):
    first = exchanged("xero", a_consent("xero", [XERO_ACME]))
    second = exchanged("xero", a_consent("xero", [XERO_GLOBEX]))  # the same Xero user, later

    everything = requests.get(
        f"{settings.SANDBOX_BASE_URL}/xero/connections",
        headers={"Authorization": f"Bearer {second.access_token}"},
        timeout=10,
    ).json()
    assert {c["tenantName"] for c in everything} == {XERO_ACME, XERO_GLOBEX}  # Xero lists every grant's

    [org] = Xero().organisations(tokens=second, callback={})
    connection = XeroConnection.objects.get(org_id=org.id)
    assert (org.name, org.grant["xero_connection_id"]) == (XERO_GLOBEX, connection.connection_id)
    assert org.grant["xero_auth_event_id"] == second.jwt_claims()["authentication_event_id"]
    assert RequestLogEntry.objects.filter(summary="listed 1 connection(s) for this authEventId").exists()
    assert [o.name for o in Xero().organisations(tokens=first, callback={})] == [XERO_ACME]


def test_the_tenants_are_filtered_by_auth_event_on_our_side_too(settings):
    # A /connections that ignores ?authEventId= and lists two consents' tenants.
    every_consent = [
        {
            "id": "c-1",
            "authEventId": "event-old",
            "tenantId": "t-1",
            "tenantType": "ORGANISATION",
            "tenantName": "Old",
        },
        {
            "id": "c-2",
            "authEventId": "event-new",
            "tenantId": "t-2",
            "tenantType": "ORGANISATION",
            "tenantName": "New",
        },
    ]
    with provider_answering(200, every_consent) as url:
        settings.XERO_CONNECTIONS_URL = f"{url}/connections"
        access = data.xero_access_token(
            client_id="c", user_key="u", auth_event_id="event-new", scope=Xero().scope, expires=timezone.now()
        )
        orgs = Xero().organisations(
            tokens=TokenSet(access_token=access, refresh_token="r", expires_at=timezone.now()), callback={}
        )
    assert [(o.id, o.grant["xero_connection_id"]) for o in orgs] == [("t-2", "c-2")]


def test_the_connect_flow_keeps_xero_s_connection_id(tenant):
    client = client_for(tenant.admin)
    callback = consent(client, start(client, tenant.account, "xero"), orgs=org_ids("xero", XERO_ACME))
    client.get(local(callback))
    conn = Connection.objects.get(account=tenant.account, provider="xero")
    xero_side = XeroConnection.objects.get(org_id=conn.external_id)
    assert conn.credentials["xero_connection_id"] == xero_side.connection_id
    assert conn.options == {}  # grant details live with the tokens, not in the kept settings


# --- disconnect --------------------------------------------------------------------------------------


def disconnect_url(connection: Connection) -> str:
    return reverse(
        "integrations:disconnect",
        kwargs={"account_slug": connection.account.slug, "connection_id": connection.pk},
    )


def messages_after(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_disconnect_removes_the_connection_in_xero_and_revokes_the_grant(tenant, connect, settings):
    tokens = exchanged("xero", a_consent("xero", [XERO_ACME]))
    conn = connected(connect, tenant.account, tokens, XERO_ACME)
    tenant_id = conn.external_id
    assert put_invoice(settings, tokens.access_token, tenant_id).status_code == 200

    response = client_for(tenant.admin).post(disconnect_url(conn), follow=True)

    assert messages_after(response) == [
        "Xero is disconnected. Published items keep the record of where they were published."
    ]
    assert Connection.objects.get(pk=conn.pk).status == ConnectionStatus.DISCONNECTED
    assert not XeroConnection.objects.exists()
    log = list(RequestLogEntry.objects.filter(provider="xero").values_list("method", "summary"))
    assert ("DELETE", f"connection to {tenant_id} deleted") in log
    assert any(m == "POST" and s.startswith("grant revoked") for m, s in log)
    with pytest.raises(GrantRevoked):
        Xero().refresh(refresh_token=tokens.refresh_token)
    # Later calls for that tenant fail, even with an access token that has not expired.
    IssuedToken.objects.filter(access_token=tokens.access_token).update(revoked=False)
    assert put_invoice(settings, tokens.access_token, tenant_id).status_code == 403
    told = ActivityEntry.objects.get(account=tenant.account, action="integration.provider_told")
    assert told.summary == (
        "Told Xero about the disconnect: removed the connection and revoked Dext Connect's access"
    )


def test_disconnect_keeps_the_grant_another_connection_of_ours_needs(tenant, other_tenant, connect, settings):
    """One Xero user connected Acme for one account and Globex for another: revoking would remove
    both (revocation removes all the user's connections), so only Acme's connection goes."""
    acme_tokens = exchanged("xero", a_consent("xero", [XERO_ACME], user_key="practice-user"))
    globex_tokens = exchanged("xero", a_consent("xero", [XERO_GLOBEX], user_key="practice-user"))
    acme = connected(connect, tenant.account, acme_tokens, XERO_ACME)
    globex = connected(connect, other_tenant.account, globex_tokens, XERO_GLOBEX)

    disconnected = services.disconnect(
        account=tenant.account, acting_user=tenant.admin, connection_id=acme.pk
    )

    assert disconnected.provider_notice == ""
    assert list(XeroConnection.objects.values_list("org_id", flat=True)) == [globex.external_id]
    assert put_invoice(settings, globex_tokens.access_token, globex.external_id).status_code == 200
    assert put_invoice(settings, acme_tokens.access_token, acme.external_id).status_code == 403
    assert Xero().refresh(refresh_token=acme_tokens.refresh_token).access_token  # not revoked
    assert ActivityEntry.objects.get(account=tenant.account, action="integration.provider_told").summary == (
        "Told Xero about the disconnect: removed the connection; access kept, because the same Xero "
        "user's other connections to Dext Connect are still in use"
    )
    assert Connection.objects.get(pk=globex.pk).status == ConnectionStatus.ACTIVE


def test_a_connection_made_before_its_id_was_kept_is_found_by_tenant(tenant, connect):
    tokens = exchanged("xero", a_consent("xero", [XERO_ACME]))
    conn = connect(
        tenant.account,
        "xero",
        external_id=org_ids("xero", XERO_ACME)[0],
        credentials=tokens.as_credentials(),  # no xero_connection_id
        access_expires_at=tokens.expires_at,
    )
    services.disconnect(account=tenant.account, acting_user=tenant.admin, connection_id=conn.pk)
    assert not XeroConnection.objects.exists()


def test_an_expired_access_token_is_refreshed_to_tell_xero(tenant, connect):
    tokens = exchanged("xero", a_consent("xero", [XERO_ACME]))
    tokens.expires_at = timezone.now() - timedelta(minutes=1)
    conn = connected(connect, tenant.account, tokens, XERO_ACME)
    services.disconnect(account=tenant.account, acting_user=tenant.admin, connection_id=conn.pk)
    assert not XeroConnection.objects.exists()
    assert RequestLogEntry.objects.filter(summary__startswith="refresh token rotated").count() == 1


def test_when_xero_cannot_be_told_our_disconnect_still_happens(tenant, connect, settings, caplog):
    tokens = exchanged("xero", a_consent("xero", [XERO_ACME]))
    conn = connected(connect, tenant.account, tokens, XERO_ACME)
    settings.XERO_CONNECTIONS_URL = "http://127.0.0.1:9/connections"  # nothing listens on the discard port
    settings.PROVIDER_HTTP_TIMEOUT = 2

    with caplog.at_level(logging.ERROR, logger="integrations.services"):
        response = client_for(tenant.admin).post(disconnect_url(conn), follow=True)

    notice = "Disconnected here; Xero could not be told — remove the app in Xero > Settings > Connected apps."
    assert messages_after(response)[-1] == notice
    after = Connection.objects.get(pk=conn.pk)
    assert (after.status, after.credentials) == (ConnectionStatus.DISCONNECTED, {})
    assert ActivityEntry.objects.filter(account=tenant.account, action="integration.disconnected").exists()
    not_told = ActivityEntry.objects.get(account=tenant.account, action="integration.provider_not_told")
    assert not_told.summary.startswith(notice) and "could not be reached" in not_told.summary
    assert any("could not be told" in r.getMessage() for r in caplog.records)
    assert XeroConnection.objects.count() == 1  # nothing happened in Xero


# --- codes -------------------------------------------------------------------------------------------


def test_a_xero_code_is_refused_after_five_minutes():
    stale = a_consent("xero", [XERO_ACME], created_at=timezone.now() - timedelta(minutes=5, seconds=1))
    with pytest.raises(GrantRevoked):
        exchanged("xero", stale)
    fresh = a_consent("xero", [XERO_ACME], created_at=timezone.now() - timedelta(minutes=4, seconds=50))
    assert exchanged("xero", fresh).access_token


def test_a_grant_xero_had_already_ended_needs_nothing_more(tenant, connect):
    tokens = exchanged("xero", a_consent("xero", [XERO_ACME]))
    conn = connected(connect, tenant.account, tokens, XERO_ACME)
    IssuedToken.objects.update(revoked=True)  # e.g. removed in Xero's Connected apps

    disconnected = services.disconnect(
        account=tenant.account, acting_user=tenant.admin, connection_id=conn.pk
    )

    assert disconnected.provider_notice == ""
    assert ActivityEntry.objects.get(account=tenant.account, action="integration.provider_told").summary == (
        "Told Xero about the disconnect: Xero had already ended Dext Connect's access"
    )

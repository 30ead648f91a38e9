"""No secret at rest in plain text: the one-time Web Connector password never sits in the session table,
pages that show a secret are never cached, and the OAuth flow keeps its PKCE verifier and the tokens
waiting for an organisation choice encrypted in the database, never in the session."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection as db
from django.utils import timezone

from integrations.models import Connection, OAuthState
from sandbox.models import IssuedToken
from tests.conftest import client_for
from tests.integrations.sandbox_helpers import (  # noqa: F401  (fixtures: other_tenant_untouched, sandbox)
    XERO_ACME,
    XERO_GLOBEX,
    consent,
    local,
    org_ids,
    other_tenant_untouched,
    sandbox,
    start,
    start_url,
)

pytestmark = pytest.mark.usefixtures("other_tenant_untouched")

PASSWORD_SHOWN = re.compile(r'data-testid="qbwc-password">([^<]+)<')


def everything_in_the_session_table() -> str:
    return "\n".join(json.dumps(s.get_decoded()) + s.session_data for s in Session.objects.all())


def shown_password(client, response) -> str:
    """The password the set-up page shows, wherever the page is (the POST's own answer, or the page
    a redirect leads to)."""
    page = client.get(response["Location"]) if response.status_code == 302 else response
    return PASSWORD_SHOWN.search(page.content.decode()).group(1)


def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


@pytest.mark.parametrize("action", ["setup", "new_password"])
def test_the_web_connector_password_never_sits_in_the_session_table(tenant, connect, action):
    client = client_for(tenant.admin)
    if action == "new_password":
        connect(tenant.account, "qbd", status="pending")
        client.post(start_url(tenant.account, "qbd"), {"action": "setup"})

    response = client.post(start_url(tenant.account, "qbd"), {"action": action})
    sessions_after_the_post = everything_in_the_session_table()

    password = shown_password(client, response)
    assert password not in sessions_after_the_post
    assert password not in everything_in_the_session_table()


def test_the_password_is_shown_in_the_answer_to_the_post_and_never_cached(tenant):
    client = client_for(tenant.admin)
    response = client.post(start_url(tenant.account, "qbd"), {"action": "setup"})
    assert response.status_code == 200
    assert PASSWORD_SHOWN.search(response.content.decode())
    assert "Copy it now: it is shown only once." in html.unescape(response.content.decode())
    assert no_store(response)
    # A later visit shows that the password exists, never the password.
    again = client.get(start_url(tenant.account, "qbd"))
    assert not PASSWORD_SHOWN.search(again.content.decode())
    assert no_store(again)


def test_the_pages_showing_demo_sign_ins_and_client_secrets_are_not_cached(tenant, connect, settings):
    settings.SANDBOX_ENABLED = True
    connect(tenant.account, "xero")
    assert no_store(client_for(tenant.admin).get(start_url(tenant.account, "billcom")))
    superuser = tenant.admin
    superuser.is_superuser = True
    superuser.save(update_fields=["is_superuser"])
    page = client_for(superuser).get("/sandbox/")
    assert "Client secret" in page.content.decode()
    assert no_store(page)


# --- the OAuth flow --------------------------------------------------------------------------------


def raw_column(table: str, column: str, pk: int) -> str:
    with db.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608 - fixed names
        return cursor.fetchone()[0]


@pytest.mark.usefixtures("sandbox")
def test_the_pkce_verifier_is_kept_encrypted_in_the_database_not_in_the_session(tenant):
    client = client_for(tenant.admin)
    authorize = start(client, tenant.account, "xero")
    state = authorize.split("state=")[1].split("&")[0]
    row = OAuthState.objects.get()
    verifier = row.secrets["verifier"]
    assert len(verifier) > 40
    raw = raw_column("integrations_oauthstate", "secrets", row.pk)
    assert verifier not in raw and raw.startswith("gAAAA")  # a Fernet token
    assert state not in json.dumps(list(OAuthState.objects.values()), default=str)  # only its hash
    assert verifier not in everything_in_the_session_table()


@pytest.mark.usefixtures("sandbox")
def test_the_tokens_waiting_for_the_organisation_choice_are_encrypted_in_the_database(tenant):
    client = client_for(tenant.admin)
    callback = consent(
        client, start(client, tenant.account, "xero"), orgs=org_ids("xero", XERO_ACME, XERO_GLOBEX)
    )
    client.get(local(callback))
    issued = IssuedToken.objects.latest("pk")
    waiting = OAuthState.objects.get()
    assert waiting.secrets["tokens"]["access_token"] == issued.access_token
    raw = raw_column("integrations_oauthstate", "secrets", waiting.pk)
    assert issued.access_token not in raw and issued.refresh_token not in raw
    sessions = everything_in_the_session_table()
    assert issued.access_token not in sessions and issued.refresh_token not in sessions
    assert not Connection.objects.exists()


@pytest.mark.usefixtures("sandbox")
def test_used_and_expired_flows_leave_no_rows_behind(tenant, other_tenant):
    walked_away = client_for(other_tenant.admin)
    start(walked_away, other_tenant.account, "xero")
    OAuthState.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    client = client_for(tenant.admin)
    authorize = start(client, tenant.account, "xero")
    # Walked away from: the next flow anyone starts clears it.
    assert list(OAuthState.objects.values_list("account", flat=True)) == [tenant.account.pk]

    client.get(local(consent(client, authorize, orgs=org_ids("xero", XERO_ACME))))
    assert Connection.objects.get(account=tenant.account).status == "active"
    assert not OAuthState.objects.exists()  # used: gone


@pytest.mark.usefixtures("sandbox")
def test_a_handful_of_flows_per_browser_is_kept(tenant):
    client = client_for(tenant.admin)
    for _ in range(12):
        start(client, tenant.account, "xero")
    assert OAuthState.objects.count() == 10

"""`invalid_client` / `unauthorized_client` from a token endpoint mean THIS SERVER is misconfigured
(RFC 6749 §5.2), not that a customer revoked anything: logged loudly, connections keep their status,
admins are told. `invalid_grant` still means reconnect (test_tokens.py). Every OAuth provider, against
the sandbox over real HTTP."""

from __future__ import annotations

import html
import io
import logging
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import ActivityEntry
from integrations.models import Connection, ConnectionStatus
from integrations.providers import ProviderMisconfigured, oauth_provider
from integrations.tokens import access_token_for
from tests.conftest import client_for
from tests.integrations.sandbox_helpers import (  # noqa: F401  (fixtures: other_tenant_untouched, sandbox)
    XERO_ACME,
    a_consent,
    consent,
    exchanged,
    local,
    org_ids,
    other_tenant_untouched,
    provider_answering,
    sandbox,
    snapshot,
    start,
)

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_untouched")

ORGANISATION = {"xero": XERO_ACME, "qbo": "Sandbox Company US", "approvalmax": "Acme Approvals"}
PROVIDERS = ["xero", "qbo", "approvalmax"]


def misconfigured(provider: str) -> str:
    label = oauth_provider(provider).label
    return (
        f"{label} is misconfigured on this server (the client id or secret is wrong). Your connection is "
        f"unchanged; tell your Dext Connect administrator."
    )


def wrong_secret(settings, provider: str) -> None:
    setattr(settings, f"{oauth_provider(provider).prefix}_CLIENT_SECRET", "not-the-secret")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_connecting_with_a_wrong_client_secret_says_the_server_is_misconfigured(
    provider, tenant, connect, settings, caplog
):
    if provider == "approvalmax":
        connect(tenant.account, "xero")
    client = client_for(tenant.admin)
    callback = consent(
        client, start(client, tenant.account, provider), orgs=org_ids(provider, ORGANISATION[provider])
    )
    before = snapshot(tenant.account)
    wrong_secret(settings, provider)

    with caplog.at_level(logging.ERROR, logger="integrations.providers"):
        response = client.get(local(callback), follow=True)

    assert misconfigured(provider) in [str(m) for m in response.context["messages"]]
    assert snapshot(tenant.account) == before
    [logged] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "invalid_client" in logged.getMessage() and oauth_provider(provider).prefix in logged.getMessage()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_refresh_refused_for_our_client_keeps_the_connection_and_warns(
    provider, tenant, connect, settings, caplog
):
    if provider == "approvalmax":
        connect(tenant.account, "xero")
    tokens = exchanged(provider, a_consent(provider, [ORGANISATION[provider]]))
    conn = connect(
        tenant.account,
        provider,
        external_id=org_ids(provider, ORGANISATION[provider])[0],
        credentials=tokens.as_credentials(),
        access_expires_at=timezone.now() + timedelta(minutes=1),
    )
    secret = getattr(settings, f"{oauth_provider(provider).prefix}_CLIENT_SECRET")
    wrong_secret(settings, provider)

    with (
        caplog.at_level(logging.ERROR, logger="integrations.providers"),
        pytest.raises(ProviderMisconfigured) as refused,
    ):
        access_token_for(conn)
    with pytest.raises(ProviderMisconfigured):
        access_token_for(conn)  # every try fails the same way, and is told once in the activity log

    assert refused.value.message == misconfigured(provider)
    after = Connection.objects.get(pk=conn.pk)
    assert (after.status, after.last_error) == (ConnectionStatus.ACTIVE, misconfigured(provider))
    assert after.credentials == conn.credentials
    assert (
        ActivityEntry.objects.filter(account=tenant.account, action="integration.misconfigured").count() == 1
    )
    assert not ActivityEntry.objects.filter(action="integration.needs_reconnect").exists()
    assert any(r.levelno == logging.ERROR and "OUR CLIENT" in r.getMessage() for r in caplog.records)
    page = html.unescape(
        client_for(tenant.admin)
        .get(reverse("integrations:connections", kwargs={"account_slug": tenant.account.slug}))
        .content.decode()
    )
    assert "Server configuration problem" in page and misconfigured(provider) in page

    # Fixed by the operator: the next refresh works and the warning goes.
    setattr(settings, f"{oauth_provider(provider).prefix}_CLIENT_SECRET", secret)
    access_token_for(Connection.objects.get(pk=conn.pk))
    assert Connection.objects.get(pk=conn.pk).last_error == ""


def test_the_refresh_command_reports_it_and_marks_nothing(tenant, connect, settings):
    tokens = exchanged("xero", a_consent("xero", [XERO_ACME]))
    conn = connect(
        tenant.account, "xero", credentials=tokens.as_credentials(), access_expires_at=timezone.now()
    )
    wrong_secret(settings, "xero")
    out = io.StringIO()
    call_command("refresh_tokens", stdout=out)
    assert misconfigured("xero") in out.getvalue()
    assert Connection.objects.get(pk=conn.pk).status == ConnectionStatus.ACTIVE


def test_unauthorized_client_is_a_configuration_error_too(settings):
    # A token endpoint that does not let our app use this grant type.
    refusal = {"error": "unauthorized_client", "error_description": "Invalid scope for client"}
    with provider_answering(400, refusal) as url:
        settings.XERO_TOKEN_URL = f"{url}/connect/token"
        with pytest.raises(ProviderMisconfigured) as refused:
            oauth_provider("xero").refresh(refresh_token="r")
    assert refused.value.code == "unauthorized_client"
    assert refused.value.message == (
        "Xero is misconfigured on this server (the app is not allowed this kind of access). Your "
        "connection is unchanged; tell your Dext Connect administrator."
    )

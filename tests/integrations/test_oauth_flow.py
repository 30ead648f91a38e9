"""OAuth 2.0 + PKCE connect flows (Xero, QuickBooks Online, ApprovalMax) against the sandbox over HTTP,
and every refused callback: each says what to do and creates or changes no connection."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import ActivityEntry, Membership, Role
from integrations import catalog
from integrations.connect_common import EXPIRED, connections_url
from integrations.models import Connection, ConnectionStatus, OAuthState
from sandbox.models import IssuedToken, RequestLogEntry
from tests.conftest import client_for
from tests.integrations.sandbox_helpers import (  # noqa: F401  (fixtures: other_tenant_untouched, sandbox)
    XERO_ACME,
    XERO_GLOBEX,
    consent,
    local,
    org_ids,
    other_tenant_untouched,
    raw_credentials,
    sandbox,
    snapshot,
    start,
    start_url,
)

# The sandbox on live_server for every test here (imported above so pytest finds the fixture).
pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_untouched")


def text(response) -> str:
    return html.unescape(response.content.decode())


def choose_url(account, provider: str) -> str:
    return reverse(
        "integrations:choose_organisation", kwargs={"account_slug": account.slug, "provider": provider}
    )


def test_xero_connects_the_organisation_the_user_chooses(tenant, other_tenant):
    client = client_for(tenant.admin)
    callback = consent(
        client, start(client, tenant.account, "xero"), orgs=org_ids("xero", XERO_ACME, XERO_GLOBEX)
    )
    response = client.get(local(callback))
    assert response["Location"] == choose_url(tenant.account, "xero")
    # Waiting for the choice lives in the session: no row until the organisation is chosen.
    assert not Connection.objects.filter(account=tenant.account).exists()

    page = client.get(choose_url(tenant.account, "xero"))
    assert XERO_ACME in text(page) and XERO_GLOBEX in text(page)
    response = client.post(
        choose_url(tenant.account, "xero"), {"organisation": org_ids("xero", XERO_GLOBEX)[0]}, follow=True
    )

    assert f"Xero is connected – {XERO_GLOBEX}." in text(response)
    conn = Connection.objects.get(account=tenant.account, provider="xero")
    assert conn.status == ConnectionStatus.ACTIVE
    assert (conn.external_id, conn.external_name) == (org_ids("xero", XERO_GLOBEX)[0], XERO_GLOBEX)
    assert conn.connected_by == tenant.admin
    creds = conn.credentials
    assert IssuedToken.objects.filter(
        access_token=creds["access_token"], refresh_token=creds["refresh_token"]
    )
    assert creds["access_token"] not in raw_credentials(conn)  # encrypted at rest
    assert 29 * 60 < (conn.access_expires_at - conn.connected_at).total_seconds() <= 30 * 60
    assert RequestLogEntry.objects.filter(provider="xero", path__endswith="/xero/connections").exists()
    assert not Connection.objects.filter(account=other_tenant.account).exists()


def test_the_waiting_tokens_are_kept_for_this_user_and_browser_only(tenant):
    # (Encrypted in the database, never in the session: tests/integrations/test_secrets_at_rest.py.)
    client = client_for(tenant.admin)
    callback = consent(
        client, start(client, tenant.account, "xero"), orgs=org_ids("xero", XERO_ACME, XERO_GLOBEX)
    )
    client.get(local(callback))
    waiting = OAuthState.objects.get()
    assert (waiting.stage, waiting.user, waiting.account, waiting.provider) == (
        "choosing",
        tenant.admin,
        tenant.account,
        "xero",
    )
    assert waiting.secrets["tokens"]["access_token"] == IssuedToken.objects.latest("pk").access_token
    # The same user in another browser cannot finish it.
    response = client_for(tenant.admin).get(choose_url(tenant.account, "xero"), follow=True)
    assert EXPIRED in text(response)
    assert client.get(choose_url(tenant.account, "xero")).status_code == 200


def test_xero_with_one_organisation_connects_straight_away(tenant):
    client = client_for(tenant.admin)
    callback = consent(client, start(client, tenant.account, "xero"), orgs=org_ids("xero", XERO_ACME))
    response = client.get(local(callback), follow=True)
    assert f"Xero is connected – {XERO_ACME}." in text(response)
    assert Connection.objects.get(account=tenant.account).status == ConnectionStatus.ACTIVE


def test_quickbooks_online_keeps_the_realm_id_from_the_callback(tenant, practice_setup):
    _, _, bookkeeper = practice_setup  # a practice user inside the client acts as its Admin
    client = client_for(bookkeeper)
    realm = org_ids("qbo", "Globex Trading (QuickBooks Demo)")
    callback = consent(client, start(client, tenant.account, "qbo"), orgs=realm)
    assert f"realmId={realm[0]}" in callback
    response = client.get(local(callback), follow=True)
    assert "QuickBooks Online is connected – Globex Trading (QuickBooks Demo)." in text(response)
    conn = Connection.objects.get(account=tenant.account, provider="qbo")
    assert (conn.status, conn.external_id, conn.connected_by) == (
        ConnectionStatus.ACTIVE,
        realm[0],
        bookkeeper,
    )


def test_approvalmax_organisation_connected_to_neither_cannot_be_chosen(tenant, connect):
    connect(tenant.account, "xero")
    client = client_for(tenant.admin)
    linked, unlinked = org_ids("approvalmax", "Acme Approvals", "Draft Organisation")
    callback = consent(client, start(client, tenant.account, "approvalmax"), orgs=[linked, unlinked])
    assert client.get(local(callback))["Location"] == choose_url(tenant.account, "approvalmax")
    page = client.get(choose_url(tenant.account, "approvalmax"))
    assert "Connected to Xero" in text(page)
    before = snapshot(tenant.account)

    refused = client.post(choose_url(tenant.account, "approvalmax"), {"organisation": unlinked})
    # Refused as a form error: the choice again with its message (HTTP 200), nothing changed.
    assert refused.status_code == 200
    assert "not connected to Xero or QuickBooks Online. Connect it in ApprovalMax first" in text(refused)
    assert snapshot(tenant.account) == before

    client.post(choose_url(tenant.account, "approvalmax"), {"organisation": linked})
    conn = Connection.objects.get(account=tenant.account, provider="approvalmax")
    assert (conn.status, conn.external_id) == (ConnectionStatus.ACTIVE, linked)


def test_a_forged_organisation_id_changes_nothing(tenant):
    client = client_for(tenant.admin)
    callback = consent(
        client, start(client, tenant.account, "xero"), orgs=org_ids("xero", XERO_ACME, XERO_GLOBEX)
    )
    client.get(local(callback))
    before = snapshot(tenant.account)
    response = client.post(
        choose_url(tenant.account, "xero"), {"organisation": org_ids("xero", "Demo Company (UK)")[0]}
    )
    assert response.status_code == 200  # the choice again with its message
    assert "Choose one of the Xero organisations listed." in text(response)
    assert snapshot(tenant.account) == before


def test_a_replayed_callback_is_refused(tenant):
    client = client_for(tenant.admin)
    callback = consent(client, start(client, tenant.account, "xero"), orgs=org_ids("xero", XERO_ACME))
    client.get(local(callback))
    before = snapshot(tenant.account)
    tokens_before = IssuedToken.objects.count()

    response = client.get(local(callback), follow=True)

    assert EXPIRED in text(response)
    assert snapshot(tenant.account) == before
    assert IssuedToken.objects.count() == tokens_before  # the code was not even tried again


def test_a_forged_state_is_refused(tenant):
    client = client_for(tenant.admin)
    response = client.get("/connect/callback/xero/?code=abc&state=forged", follow=True)
    assert EXPIRED in text(response)
    assert not Connection.objects.exists()


def test_an_expired_state_is_refused(tenant):
    client = client_for(tenant.admin)
    callback = consent(client, start(client, tenant.account, "xero"), orgs=org_ids("xero", XERO_ACME))
    OAuthState.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    before = snapshot(tenant.account)
    response = client.get(local(callback), follow=True)
    assert EXPIRED in text(response)
    assert snapshot(tenant.account) == before == []


def test_a_state_from_another_session_is_refused(tenant):
    client = client_for(tenant.admin)
    callback = consent(client, start(client, tenant.account, "xero"), orgs=org_ids("xero", XERO_ACME))
    before = snapshot(tenant.account)
    # Same user, another browser: the state lives in the first session only.
    response = client_for(tenant.admin).get(local(callback), follow=True)
    assert EXPIRED in text(response)
    assert snapshot(tenant.account) == before


def test_a_state_for_another_provider_is_refused(tenant):
    client = client_for(tenant.admin)
    callback = consent(client, start(client, tenant.account, "xero"), orgs=org_ids("xero", XERO_ACME))
    before = snapshot(tenant.account)
    response = client.get(local(callback).replace("/callback/xero/", "/callback/qbo/"), follow=True)
    assert EXPIRED in text(response)
    assert snapshot(tenant.account) == before


def test_a_callback_for_an_account_the_user_can_no_longer_manage_is_refused(tenant, other_tenant):
    client = client_for(tenant.admin)
    callback = consent(client, start(client, tenant.account, "xero"), orgs=org_ids("xero", XERO_ACME))
    Membership.objects.filter(account=tenant.account, user=tenant.admin).update(role=Role.STANDARD)
    before, other_before = snapshot(tenant.account), snapshot(other_tenant.account)
    response = client.get(local(callback), follow=True)
    assert f"You can no longer connect accounting software for {tenant.account.name}" in text(response)
    assert snapshot(tenant.account) == before
    assert snapshot(other_tenant.account) == other_before


def test_a_state_cannot_carry_a_code_into_another_account(tenant, other_tenant):
    """The other tenant's admin cannot finish a flow someone started for this tenant."""
    client = client_for(tenant.admin)
    callback = consent(client, start(client, tenant.account, "xero"), orgs=org_ids("xero", XERO_ACME))
    stranger = client_for(other_tenant.admin)
    response = stranger.get(local(callback), follow=True)
    assert EXPIRED in text(response)
    assert not Connection.objects.filter(account=other_tenant.account).exists()
    assert snapshot(tenant.account) == []


def test_a_reused_code_is_refused_by_the_provider(tenant, other_tenant):
    client = client_for(tenant.admin)
    callback = consent(client, start(client, tenant.account, "xero"), orgs=org_ids("xero", XERO_ACME))
    client.get(local(callback))
    before = snapshot(tenant.account)
    # Someone replays the used code with a fresh, valid state of their own (another account).
    stranger = client_for(other_tenant.admin)
    authorize = start(stranger, other_tenant.account, "xero")
    other_before = snapshot(other_tenant.account)
    new_state = authorize.split("state=")[1].split("&")[0]
    old_code = callback.split("code=")[1].split("&")[0]
    response = stranger.get(f"/connect/callback/xero/?code={old_code}&state={new_state}", follow=True)
    assert "Xero did not accept the sign-in" in text(response)
    assert snapshot(tenant.account) == before
    assert snapshot(other_tenant.account) == other_before
    # RFC 6749: the tokens the reused code issued are revoked on the provider's side.
    assert IssuedToken.objects.get(code__code=old_code).revoked


def test_cancelling_on_the_consent_screen(tenant, other_tenant):
    # Taken before the start: pressing Continue, cancelling at the provider and coming back must
    # leave no trace at all (no "Waiting to finish connecting" row that nobody can finish).
    before, other_before = snapshot(tenant.account), snapshot(other_tenant.account)
    activity_before = ActivityEntry.objects.count()
    client = client_for(tenant.admin)
    callback = consent(client, start(client, tenant.account, "xero"), cancel=True)
    assert "error=access_denied" in callback
    response = client.get(local(callback), follow=True)
    assert "You cancelled connecting Xero." in text(response)
    assert snapshot(tenant.account) == before == []
    assert snapshot(other_tenant.account) == other_before
    assert ActivityEntry.objects.count() == activity_before
    assert "Waiting to finish connecting" not in text(client.get(connections_url(tenant.account)))


def test_walking_away_from_the_consent_screen_leaves_nothing(tenant):
    client = client_for(tenant.admin)
    authorize = start(client, tenant.account, "xero")
    assert "/xero/identity/connect/authorize" in authorize
    assert snapshot(tenant.account) == []
    page = text(client.get(connections_url(tenant.account)))
    assert "No accounting software is connected yet." in page


def test_two_abandoned_main_connects_never_show_two_waiting_rows(tenant, other_tenant):
    client = client_for(tenant.admin)
    start(client, tenant.account, "xero")
    start(client, tenant.account, "qbo")
    assert snapshot(tenant.account) == []
    # And the user can still finish either one: the other main is refused only when one is active.
    callback = consent(
        client, start(client, tenant.account, "qbo"), orgs=org_ids("qbo", "Sandbox Company US")
    )
    assert "QuickBooks Online is connected" in text(client.get(local(callback), follow=True))
    assert [row[1:3] for row in snapshot(tenant.account)] == [("qbo", ConnectionStatus.ACTIVE)]
    assert snapshot(other_tenant.account) == []


def test_an_unknown_provider_is_not_found(tenant):
    client = client_for(tenant.admin)
    assert client.get(start_url(tenant.account, "sage")).status_code == 404
    assert client.post(start_url(tenant.account, "sage")).status_code == 404
    assert client.get("/connect/callback/sage/?code=x&state=y").status_code == 404
    assert not Connection.objects.exists()


def test_a_second_main_software_is_refused_before_leaving_for_the_provider(tenant, connect):
    connect(tenant.account, "xero")
    before = snapshot(tenant.account)
    client = client_for(tenant.admin)
    response = client.post(start_url(tenant.account, "qbo"), follow=True)
    assert (
        "Xero is already your main accounting software. Disconnect it first to connect QuickBooks Online."
        in (text(response))
    )
    assert snapshot(tenant.account) == before


def test_additional_software_without_a_main_is_refused(tenant):
    client = client_for(tenant.admin)
    page = client.get(start_url(tenant.account, "approvalmax"))
    assert "Connect your main accounting software" in text(page)
    assert "Continue to ApprovalMax" not in text(page)
    response = client.post(start_url(tenant.account, "approvalmax"), follow=True)
    assert "Connect your main accounting software" in text(response)
    assert not Connection.objects.exists()


def test_a_standard_user_cannot_start_connecting(tenant):
    client = client_for(tenant.staff)
    assert client.get(start_url(tenant.account, "xero")).status_code == 403
    assert client.post(start_url(tenant.account, "xero")).status_code == 403
    assert not Connection.objects.exists()


def test_reconnect_keeps_the_row_and_its_settings(tenant, connect):
    conn = connect(tenant.account, "xero", status=ConnectionStatus.NEEDS_RECONNECT, options={"kept": "yes"})
    client = client_for(tenant.admin)
    page = client.get(start_url(tenant.account, "xero"))
    assert "Continue to Xero" in text(page)
    callback = consent(client, start(client, tenant.account, "xero"), orgs=org_ids("xero", XERO_ACME))
    response = client.get(local(callback), follow=True)
    assert f"Xero is connected – {XERO_ACME}." in text(response)
    conn.refresh_from_db()
    assert (conn.status, conn.options) == (ConnectionStatus.ACTIVE, {"kept": "yes"})
    assert Connection.objects.filter(account=tenant.account).count() == 1


def test_the_authorize_redirect_uses_pkce_s256_and_a_one_time_state(tenant):
    client = client_for(tenant.admin)
    authorize = start(client, tenant.account, "xero")
    assert "code_challenge_method=S256" in authorize and "code_challenge=" in authorize
    entry = OAuthState.objects.get()
    assert (entry.account_id, entry.provider, entry.user_id, entry.stage) == (
        tenant.account.pk,
        "xero",
        tenant.admin.pk,
        "consent",
    )
    assert entry.secrets["verifier"] not in authorize  # only the challenge leaves our server
    assert 9 * 60 < (entry.expires_at - timezone.now()).total_seconds() <= 10 * 60


@pytest.mark.parametrize("provider", catalog.oauth_keys())
def test_the_start_page_explains_the_steps(tenant, connect, provider):
    info = catalog.provider_info(provider)
    if not info.is_main:
        connect(tenant.account, "xero")
    page = client_for(tenant.admin).get(start_url(tenant.account, provider))
    assert f"Continue to {info.label}" in text(page)
    assert "Follow the on-screen steps to complete the connection." in text(page)
    # The entry's own steps, its button names in bold (the registry's **…**).
    assert info.steps and all(f"<li>{step}</li>" in page.content.decode() for step in info.connect_steps())
    assert "<strong>Allow access</strong>" in page.content.decode()


def test_a_provider_without_client_credentials_says_so_and_changes_nothing(tenant, settings):
    settings.XERO_CLIENT_ID = ""  # as in production when XERO_CLIENT_ID is not set
    response = client_for(tenant.admin).post(start_url(tenant.account, "xero"), follow=True)
    assert "Xero is not set up on this server yet (XERO_CLIENT_ID is missing)." in text(response)
    assert not Connection.objects.exists()


def test_choosing_twice_is_refused_the_second_time(tenant):
    client = client_for(tenant.admin)
    callback = consent(
        client, start(client, tenant.account, "xero"), orgs=org_ids("xero", XERO_ACME, XERO_GLOBEX)
    )
    client.get(local(callback))
    client.post(choose_url(tenant.account, "xero"), {"organisation": org_ids("xero", XERO_ACME)[0]})
    before = snapshot(tenant.account)
    again = client.post(
        choose_url(tenant.account, "xero"), {"organisation": org_ids("xero", XERO_GLOBEX)[0]}, follow=True
    )
    assert EXPIRED in text(again)
    assert snapshot(tenant.account) == before
    assert before[0][4] == XERO_ACME


def test_organisations_shared_for_one_account_cannot_be_connected_to_another(
    tenant, other_tenant, practice_setup
):
    _, partner, _ = practice_setup  # a practice admin reaches both accounts
    client = client_for(partner)
    callback = consent(
        client, start(client, tenant.account, "xero"), orgs=org_ids("xero", XERO_ACME, XERO_GLOBEX)
    )
    client.get(local(callback))
    other_before = snapshot(other_tenant.account)
    response = client.post(
        choose_url(other_tenant.account, "xero"), {"organisation": org_ids("xero", XERO_ACME)[0]}, follow=True
    )
    assert EXPIRED in text(response)
    assert snapshot(other_tenant.account) == other_before
    # The flow for the first account is still there to finish.
    assert client.get(choose_url(tenant.account, "xero")).status_code == 200


def test_a_signed_out_callback_goes_to_sign_in_and_changes_nothing(client, tenant):
    response = client.get("/connect/callback/xero/?code=abc&state=whatever")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert not Connection.objects.exists()


GLOBEX_ON_QBO = (
    "Globex Approvals is connected to QuickBooks Online in ApprovalMax, but this account's main accounting "
    "software is Xero. Choose an ApprovalMax organisation connected to Xero."
)


def test_approvalmax_organisation_on_another_main_software_is_disabled_and_refused(
    tenant, other_tenant, connect
):
    # Acme's main software is Xero; "Globex Approvals" is connected to QuickBooks Online in ApprovalMax.
    connect(tenant.account, "xero")
    connect(other_tenant.account, "qbo")
    client = client_for(tenant.admin)
    acme_approvals, globex_approvals = org_ids("approvalmax", "Acme Approvals", "Globex Approvals")
    callback = consent(
        client, start(client, tenant.account, "approvalmax"), orgs=[acme_approvals, globex_approvals]
    )
    assert client.get(local(callback))["Location"] == choose_url(tenant.account, "approvalmax")

    page = text(client.get(choose_url(tenant.account, "approvalmax")))
    # Shown, but disabled with the reason; the other one can be chosen.
    assert f'value="{globex_approvals}" disabled' in page
    assert f'value="{acme_approvals}" required' in page
    assert GLOBEX_ON_QBO in page
    before = (snapshot(tenant.account), snapshot(other_tenant.account))
    activity = ActivityEntry.objects.count()

    refused = client.post(choose_url(tenant.account, "approvalmax"), {"organisation": globex_approvals})

    assert refused.status_code == 200  # the choice again with its message
    assert GLOBEX_ON_QBO in text(refused)
    assert (snapshot(tenant.account), snapshot(other_tenant.account)) == before
    assert ActivityEntry.objects.count() == activity
    assert not Connection.objects.filter(provider="approvalmax").exists()

    response = client.post(
        choose_url(tenant.account, "approvalmax"), {"organisation": acme_approvals}, follow=True
    )
    assert "ApprovalMax is connected (Acme Approvals)." in text(response)
    conn = Connection.objects.get(account=tenant.account, provider="approvalmax")
    assert (conn.status, conn.external_id, conn.options) == (
        ConnectionStatus.ACTIVE,
        acme_approvals,
        {"linked_to": "xero"},
    )
    assert snapshot(other_tenant.account) == before[1]


def test_the_main_software_is_rechecked_when_the_approvalmax_organisation_is_chosen(
    tenant, other_tenant, connect
):
    # The consent happened while the main software was QuickBooks Online; by the time the user chooses,
    # it is Xero: the organisation connected to QuickBooks Online is refused, at the view and the service.
    qbo = connect(tenant.account, "qbo")
    connect(other_tenant.account, "qbo")
    client = client_for(tenant.admin)
    (globex_approvals,) = org_ids("approvalmax", "Globex Approvals")
    callback = consent(client, start(client, tenant.account, "approvalmax"), orgs=[globex_approvals])
    client.get(local(callback))
    assert f'value="{globex_approvals}" required' in text(
        client.get(choose_url(tenant.account, "approvalmax"))
    )
    Connection.objects.filter(pk=qbo.pk).update(status=ConnectionStatus.DISCONNECTED)
    connect(tenant.account, "xero")
    before = (snapshot(tenant.account), snapshot(other_tenant.account))

    refused = client.post(choose_url(tenant.account, "approvalmax"), {"organisation": globex_approvals})

    assert refused.status_code == 200 and GLOBEX_ON_QBO in text(refused)
    assert (snapshot(tenant.account), snapshot(other_tenant.account)) == before


def test_activation_refuses_an_approvalmax_organisation_on_another_main_software(
    tenant, other_tenant, connect
):
    from accounts.errors import DomainError
    from integrations import services

    connect(tenant.account, "xero")
    connect(other_tenant.account, "qbo")
    before = (snapshot(tenant.account), snapshot(other_tenant.account))
    with pytest.raises(DomainError) as refused:
        services.activate_connection(
            account=tenant.account,
            acting_user=tenant.admin,
            provider="approvalmax",
            external_id="a7d0b1c2-0000-4000-8000-000000000002",
            external_name="Globex Approvals",
            credentials={"access_token": "a"},
            options={"linked_to": "qbo"},
        )
    assert refused.value.message == GLOBEX_ON_QBO
    assert (snapshot(tenant.account), snapshot(other_tenant.account)) == before
    assert not ActivityEntry.objects.filter(account=tenant.account).exists()
    # The same organisation is fine for the account whose main software is QuickBooks Online.
    services.activate_connection(
        account=other_tenant.account,
        acting_user=other_tenant.admin,
        provider="approvalmax",
        external_id="a7d0b1c2-0000-4000-8000-000000000002",
        external_name="Globex Approvals",
        credentials={"access_token": "a"},
        options={"linked_to": "qbo"},
    )
    assert Connection.objects.get(account=other_tenant.account, provider="approvalmax").status == "active"
    assert snapshot(tenant.account) == before[0]


def test_approvalmax_cannot_follow_quickbooks_desktop(tenant, other_tenant, connect):
    from accounts.errors import DomainError
    from integrations import services

    connect(tenant.account, "qbd")
    connect(other_tenant.account, "xero")
    before = (snapshot(tenant.account), snapshot(other_tenant.account))
    with pytest.raises(DomainError) as refused:
        services.activate_connection(
            account=tenant.account,
            acting_user=tenant.admin,
            provider="approvalmax",
            external_id="a7d0b1c2-0000-4000-8000-000000000001",
            external_name="Acme Approvals",
            credentials={"access_token": "a"},
            options={"linked_to": "xero"},
        )
    assert refused.value.message == (
        "Acme Approvals is connected to Xero in ApprovalMax, but this account's main accounting software is "
        "QuickBooks Desktop, which ApprovalMax does not connect to. ApprovalMax works with Xero or "
        "QuickBooks Online as the main accounting software."
    )
    assert (snapshot(tenant.account), snapshot(other_tenant.account)) == before


def test_a_web_connector_run_before_the_sandbox_is_seeded_leaves_the_consent_screens_full(tenant):
    from sandbox import data
    from sandbox.models import SandboxClient, SandboxOrganisation

    SandboxOrganisation.objects.all().delete()
    SandboxClient.objects.all().delete()
    SandboxOrganisation.objects.create(provider="qbd", org_id="dext-x-1", name="X company file")
    data.ensure_seeded()
    assert SandboxOrganisation.objects.filter(provider="approvalmax").count() == len(
        [o for o in data.ORGANISATIONS if o[0] == "approvalmax"]
    )
    assert SandboxClient.objects.exists()


def test_when_no_approvalmax_organisation_fits_the_page_says_what_to_do(tenant, other_tenant, connect):
    connect(tenant.account, "qbo")
    client = client_for(tenant.admin)
    acme_approvals, draft = org_ids("approvalmax", "Acme Approvals", "Draft Organisation")
    callback = consent(client, start(client, tenant.account, "approvalmax"), orgs=[acme_approvals, draft])
    client.get(local(callback))
    page = text(client.get(choose_url(tenant.account, "approvalmax")))
    assert (
        "None of these organisations can be connected: the reason is shown under each. Connect one to "
        "QuickBooks Online in ApprovalMax, then start again." in page
    )
    assert (
        "Acme Approvals is connected to Xero in ApprovalMax, but this account's main accounting software is "
        "QuickBooks Online. Choose an ApprovalMax organisation connected to QuickBooks Online." in page
    )
    assert 'class="primary" disabled' in page
    assert not Connection.objects.filter(provider="approvalmax").exists()

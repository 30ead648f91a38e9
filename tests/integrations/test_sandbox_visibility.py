"""/sandbox/ shows each person only what concerns the organisations their accounts are connected to
(and the Bill.com sign-ins meant for their accounts); a stranger sees nothing of Acme's, signed-out
visitors are sent to sign in, superusers see everything. The providers' own endpoints keep their own
authentication. The Bill.com sign-in page shows only the current account's sandbox sign-in."""

from __future__ import annotations

import html

import pytest
import requests
from django.urls import reverse

from accounts.models import Account
from accounts.permissions import MANAGE_INTEGRATIONS_WHO
from integrations.models import Connection
from integrations.providers import qbd
from sandbox import data, users, webconnector
from sandbox.log import log_request
from sandbox.models import IssuedToken, RequestLogEntry, SandboxBill
from tests.conftest import client_for
from tests.factories import AccountFactory, UserFactory
from tests.integrations.sandbox_helpers import (  # noqa: F401  (fixture: sandbox)
    XERO_ACME,
    XERO_GLOBEX,
    consent,
    local,
    org_ids,
    sandbox,
    snapshot,
    start,
)

pytestmark = pytest.mark.usefixtures("sandbox")

ACME_BILLCOM = ("accounts@acme.test", "billcom-demo-2026", "00801ACMEDEMO01", "Acme Ltd (Bill.com)")
GLOBEX_BILLCOM = ("ap@globex.test", "billcom-demo-2026", "00801GLOBEXDM02", "Globex Inc (Bill.com)")


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def acme_and_globex(tenant, other_tenant):
    """The two demo tenants: Acme connects Xero to "Acme Ltd (Demo)" through the sandbox and publishes a
    bill there; Globex has nothing connected."""
    Account.objects.filter(pk=tenant.account.pk).update(slug="acme")
    Account.objects.filter(pk=other_tenant.account.pk).update(slug="globex")
    tenant.account.refresh_from_db()
    other_tenant.account.refresh_from_db()
    client = client_for(tenant.admin)
    callback = consent(client, start(client, tenant.account, "xero"), orgs=org_ids("xero", XERO_ACME))
    assert "Xero is connected" in text(client.get(local(callback), follow=True))
    access = IssuedToken.objects.latest("pk").access_token
    created = requests.put(
        f"{data.settings.SANDBOX_BASE_URL}/xero/api.xro/2.0/Invoices",
        params={"summarizeErrors": "false"},
        json={
            "Invoices": [
                {
                    "Type": "ACCPAY",
                    "Contact": {"Name": "Acme Supplies"},
                    "InvoiceNumber": "INV-1",
                    "LineItems": [
                        {"Description": "Paper", "Quantity": 1, "UnitAmount": 12.5, "AccountCode": "429"}
                    ],
                }
            ]
        },
        headers={"Authorization": f"Bearer {access}", "xero-tenant-id": org_ids("xero", XERO_ACME)[0]},
        timeout=10,
    )
    assert created.status_code == 200, created.text
    bill = SandboxBill.objects.get()
    return tenant, other_tenant, bill


def test_a_signed_out_visitor_is_sent_to_sign_in_and_sees_nothing(client, acme_and_globex):
    _, _, bill = acme_and_globex
    response = client.get("/sandbox/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert bill.bill_id not in text(response)


def test_a_stranger_sees_nothing_of_acmes(acme_and_globex):
    acme, globex, bill = acme_and_globex
    before = (snapshot(acme.account), snapshot(globex.account))
    page = text(client_for(globex.admin).get("/sandbox/"))
    assert "What each sandbox received" in page
    for secret in (
        bill.bill_id,
        XERO_ACME,
        org_ids("xero", XERO_ACME)[0],
        "code exchanged for tokens",
        "/xero/api.xro/2.0/Invoices",
        ACME_BILLCOM[0],
        ACME_BILLCOM[2],
        ACME_BILLCOM[3],
        "consent given",
        data.settings.XERO_CLIENT_SECRET,
    ):
        assert secret not in page, secret
    assert "Revoke Dext Connect's access" not in page
    assert "No bills yet." in page and "Nothing received yet." in page
    # Globex's own sandbox Bill.com sign-in is listed for Globex.
    assert GLOBEX_BILLCOM[0] in page and GLOBEX_BILLCOM[2] in page
    assert (snapshot(acme.account), snapshot(globex.account)) == before


def test_acme_sees_its_requests_bills_and_sign_in(acme_and_globex):
    acme, _, bill = acme_and_globex
    page = text(client_for(acme.admin).get("/sandbox/"))
    assert bill.bill_id in page
    assert "code exchanged for tokens" in page and "consent given for 1 organisation(s)" in page
    assert "POST /sandbox/xero/identity/connect/token" in page
    assert XERO_ACME in page and "Revoke Dext Connect's access to Acme Ltd (Demo)" in page
    assert XERO_GLOBEX not in page
    assert ACME_BILLCOM[0] in page and ACME_BILLCOM[1] in page
    assert GLOBEX_BILLCOM[0] not in page
    # Our app's client secret is for operators only.
    assert data.settings.XERO_CLIENT_SECRET not in page
    # Requests that name no organisation (e.g. a consent screen shown) are operators' only.
    assert "consent screen shown" not in page


def test_a_bookkeeper_sees_what_the_accounts_they_can_open_are_connected_to(acme_and_globex, practice_setup):
    _, _, bill = acme_and_globex
    _, _, bookkeeper = practice_setup  # assigned to Acme only
    assert bill.bill_id in text(client_for(bookkeeper).get("/sandbox/"))


def test_another_organisation_of_the_same_provider_stays_hidden(acme_and_globex):
    acme, globex, bill = acme_and_globex
    # Globex connects Xero too, to its own organisation: it sees its own lines, still none of Acme's.
    client = client_for(globex.admin)
    callback = consent(client, start(client, globex.account, "xero"), orgs=org_ids("xero", XERO_GLOBEX))
    client.get(local(callback))
    page = text(client.get("/sandbox/"))
    assert XERO_GLOBEX in page and "code exchanged for tokens" in page
    assert XERO_ACME not in page and bill.bill_id not in page


def test_a_superuser_sees_everything(acme_and_globex):
    _, _, bill = acme_and_globex
    operator = UserFactory(is_superuser=True, is_staff=True)
    page = text(client_for(operator).get("/sandbox/"))
    assert bill.bill_id in page and XERO_ACME in page and XERO_GLOBEX in page
    assert ACME_BILLCOM[0] in page and GLOBEX_BILLCOM[0] in page
    assert "consent screen shown" in page
    assert data.settings.XERO_CLIENT_SECRET in page


def test_a_stranger_cannot_revoke_acmes_access(acme_and_globex):
    acme, globex, _ = acme_and_globex
    before = list(IssuedToken.objects.values_list("pk", "revoked", "refresh_used_at"))
    snapshots = (snapshot(acme.account), snapshot(globex.account))
    response = client_for(globex.admin).post(
        reverse("sandbox:revoke"), {"provider": "xero", "org_id": org_ids("xero", XERO_ACME)[0]}
    )
    assert response.status_code == 404
    assert list(IssuedToken.objects.values_list("pk", "revoked", "refresh_used_at")) == before
    assert (snapshot(acme.account), snapshot(globex.account)) == snapshots
    # Signed out: to the sign-in page, nothing revoked.
    signed_out = client_for(globex.admin)
    signed_out.logout()
    assert signed_out.post(reverse("sandbox:revoke"), {"provider": "xero"}).status_code == 302
    assert list(IssuedToken.objects.values_list("pk", "revoked", "refresh_used_at")) == before


def test_acme_can_revoke_its_own_access(acme_and_globex):
    acme, _, _ = acme_and_globex
    response = client_for(acme.admin).post(
        reverse("sandbox:revoke"), {"provider": "xero", "org_id": org_ids("xero", XERO_ACME)[0]}
    )
    assert response.status_code == 302
    assert IssuedToken.objects.filter(revoked=True).exists()


def test_the_web_connector_run_is_shown_to_its_account_only(tenant, other_tenant):
    admin = client_for(tenant.admin)
    response = admin.post(
        reverse("integrations:connect_start", args=[tenant.account.slug, "qbd"]),
        {"action": "setup"},
        follow=True,
    )
    password = response.content.decode().split('data-testid="qbwc-password">')[1].split("<")[0]
    conn = Connection.objects.select_related("account").get(account=tenant.account)
    run = webconnector.run(
        app_url=webconnector.our_app_url(), username=qbd.username_for(conn), password=password
    )
    assert run.ok, run.message
    assert "sent authenticate" in text(admin.get("/sandbox/"))
    assert "sent authenticate" not in text(client_for(other_tenant.admin).get("/sandbox/"))


def test_untagged_lines_are_for_operators_only(tenant, other_tenant):
    log_request(provider="xero", method="GET", path="/sandbox/x", summary="nobody's", status=401)
    assert "nobody's" not in text(client_for(tenant.admin).get("/sandbox/"))
    assert RequestLogEntry.objects.filter(summary="nobody's").exists()


def test_the_providers_endpoints_keep_their_own_authentication(acme_and_globex):
    """No sign-in to our site: the token endpoint takes client credentials, the APIs bearer tokens,
    Bill.com a developer key and session id."""
    base = data.settings.SANDBOX_BASE_URL
    assert requests.post(f"{base}/xero/identity/connect/token", data={}, timeout=10).status_code == 401
    assert requests.get(f"{base}/xero/connections", timeout=10).status_code == 401
    login = requests.post(
        f"{base}/billcom/connect/v3/login",
        json={
            "username": ACME_BILLCOM[0],
            "password": ACME_BILLCOM[1],
            "organizationId": ACME_BILLCOM[2],
            "devKey": data.settings.BILLCOM_DEV_KEY,
        },
        timeout=10,
    )
    assert login.status_code == 200 and login.json()["sessionId"]


# --- the Bill.com sign-in page ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "slug, shown, hidden",
    [
        ("acme", ACME_BILLCOM, GLOBEX_BILLCOM),
        ("globex", GLOBEX_BILLCOM, ACME_BILLCOM),
        ("initech", None, None),
    ],
)
def test_the_billcom_page_shows_only_this_accounts_sandbox_sign_in(tenant, connect, slug, shown, hidden):
    account = AccountFactory(name=f"{slug} demo", slug=slug)
    other = AccountFactory(name="Someone else", slug="someone-else")
    connect(account, "xero")
    connect(other, "xero")
    before = (snapshot(account), snapshot(other))
    page = text(client_for(account.owner).get(reverse("integrations:connect_start", args=[slug, "billcom"])))
    assert "Connect Bill.com" in page
    if shown is None:
        assert "Sandbox sign-ins" not in page
        assert ACME_BILLCOM[0] not in page and GLOBEX_BILLCOM[0] not in page
        assert "billcom-demo-2026" not in page
    else:
        assert f"{shown[0]} / {shown[1]} / {shown[2]}" in page
        assert hidden[0] not in page and hidden[2] not in page
    assert (snapshot(account), snapshot(other)) == before


def test_every_sandbox_billcom_sign_in_is_bound_to_a_demo_account():
    assert {u[0] for u in data.BILLCOM_USERS} == set(data.BILLCOM_USER_ACCOUNTS)
    assert data.BILLCOM_USER_ACCOUNTS == {"accounts@acme.test": "acme", "ap@globex.test": "globex"}
    assert data.billcom_users_for({"acme"}) == [ACME_BILLCOM]
    assert data.billcom_users_for({"initech"}) == []


# --- acceptance defects: sign-in lines, live connections only, managers only, QuickBooks Desktop ------

ACME_APPROVALS = "a7d0b1c2-0000-4000-8000-000000000001"


def _billcom_form(client, account, username: str, password: str, organisation_id: str):
    return client.post(
        reverse("integrations:connect_start", args=[account.slug, "billcom"]),
        {"username": username, "password": password, "organisation_id": organisation_id},
    )


def test_billcom_sign_ins_typed_into_another_accounts_form_stay_with_no_one(acme_and_globex, connect):
    acme, globex, _ = acme_and_globex
    connect(globex.account, "qbo")
    before = (snapshot(acme.account), snapshot(globex.account))
    globex_admin = client_for(globex.admin)
    # Globex's admin types Acme's sandbox user name into Globex's Bill.com form: both refused.
    for organisation_id, password in ((GLOBEX_BILLCOM[2], ACME_BILLCOM[1]), (ACME_BILLCOM[2], "wrong")):
        refused = _billcom_form(globex_admin, globex.account, ACME_BILLCOM[0], password, organisation_id)
        assert refused.status_code == 200  # the form again with its message: no HTTP error
        assert "User name and/or password do not match our records." in text(refused)
    assert (snapshot(acme.account), snapshot(globex.account)) == before
    assert RequestLogEntry.objects.filter(summary=f"login refused for {ACME_BILLCOM[0]!r}").count() == 2

    for viewer in (globex.admin, acme.admin):
        page = text(client_for(viewer).get("/sandbox/"))
        assert f"login refused for {ACME_BILLCOM[0]!r}" not in page
    assert ACME_BILLCOM[0] not in text(globex_admin.get("/sandbox/"))

    # Acme signs in to its own Bill.com organisation: the line belongs to Acme's organisation only.
    signed_in = _billcom_form(client_for(acme.admin), acme.account, *ACME_BILLCOM[:3])
    assert signed_in.status_code == 302
    line = f"login for {ACME_BILLCOM[0]}: session issued"
    assert line in text(client_for(acme.admin).get("/sandbox/"))
    assert line not in text(globex_admin.get("/sandbox/"))
    assert snapshot(globex.account) == before[1]


def test_a_disconnected_organisation_is_no_longer_listed(acme_and_globex, connect):
    acme, globex, _ = acme_and_globex
    approvalmax = connect(acme.account, "approvalmax", external_id=ACME_APPROVALS)
    log_request(
        provider="approvalmax",
        method="GET",
        path="/sandbox/approvalmax/api/v1/companies",
        summary="approvals listed",
        status=200,
        org_ids=[ACME_APPROVALS],
    )
    admin = client_for(acme.admin)
    page = text(admin.get("/sandbox/"))
    assert "Acme Approvals" in page and "approvals listed" in page

    from integrations import services

    services.disconnect(account=acme.account, acting_user=acme.admin, connection_id=approvalmax.pk)
    page = text(admin.get("/sandbox/"))
    assert "Acme Approvals" not in page and ACME_APPROVALS not in page and "approvals listed" not in page
    # Xero, still connected, stays listed.
    assert XERO_ACME in page
    assert "Acme Approvals" not in text(client_for(globex.admin).get("/sandbox/"))


def test_a_standard_user_sees_no_secrets_and_no_revoke(acme_and_globex, connect):
    acme, globex, _ = acme_and_globex
    connect(acme.account, "billcom", external_id=ACME_BILLCOM[2])
    staff = client_for(acme.staff)
    page = text(staff.get("/sandbox/"))
    # The organisations and requests of the account are visible to its Standard user ...
    assert XERO_ACME in page and "code exchanged for tokens" in page
    # ... but no sandbox password and no Revoke access.
    assert ACME_BILLCOM[1] not in page and ACME_BILLCOM[0] not in page
    assert "Revoke Dext Connect's access" not in page and "Revoke access</button>" not in page
    # The Admin sees both.
    admin_page = text(client_for(acme.admin).get("/sandbox/"))
    assert ACME_BILLCOM[1] in admin_page and "Revoke Dext Connect's access to Acme Ltd (Demo)" in admin_page


def test_a_standard_users_revoke_is_refused_and_changes_nothing(acme_and_globex):
    acme, globex, _ = acme_and_globex
    before = list(IssuedToken.objects.order_by("pk").values_list("pk", "revoked", "refresh_used_at"))
    snapshots = (snapshot(acme.account), snapshot(globex.account))
    response = client_for(acme.staff).post(
        reverse("sandbox:revoke"), {"provider": "xero", "org_id": org_ids("xero", XERO_ACME)[0]}
    )
    assert response.status_code == 403
    assert MANAGE_INTEGRATIONS_WHO in text(response)
    assert list(IssuedToken.objects.order_by("pk").values_list("pk", "revoked", "refresh_used_at")) == before
    assert (snapshot(acme.account), snapshot(globex.account)) == snapshots


def test_a_bookkeeper_manages_the_clients_sandbox_organisations(acme_and_globex, practice_setup):
    _, _, bookkeeper = practice_setup  # assigned to Acme only; acts as its Admin
    page = text(client_for(bookkeeper).get("/sandbox/"))
    assert "Revoke Dext Connect's access to Acme Ltd (Demo)" in page
    assert ACME_BILLCOM[1] in page and GLOBEX_BILLCOM[0] not in page


def test_an_account_connected_to_quickbooks_desktop_sees_its_company_file(acme_and_globex):
    acme, globex, _ = acme_and_globex
    initech = AccountFactory(name="Initech", slug="initech")
    client = client_for(initech.owner)
    response = client.post(
        reverse("integrations:connect_start", args=["initech", "qbd"]), {"action": "setup"}, follow=True
    )
    password = response.content.decode().split('data-testid="qbwc-password">')[1].split("<")[0]
    conn = Connection.objects.select_related("account").get(account=initech)
    before = (snapshot(acme.account), snapshot(globex.account))
    client.post(
        reverse("sandbox:webconnector_run"),
        {"username": qbd.username_for(conn), "password": password, "account_name": "Initech"},
    )
    conn.refresh_from_db()
    assert (conn.status, conn.external_name) == ("active", "Initech company file")

    page = text(client.get("/sandbox/"))
    assert "None of your accounts is connected" not in page
    assert "Initech company file" in page and qbd.username_for(conn) in page
    assert "sent authenticate" in page
    assert "Acme Furniture" not in page and XERO_ACME not in page
    # Nobody else sees Initech's company file.
    for other in (acme.admin, globex.admin):
        assert "Initech company file" not in text(client_for(other).get("/sandbox/"))
    assert (snapshot(acme.account), snapshot(globex.account)) == before


def test_revoking_from_one_account_leaves_another_accounts_grant_to_the_same_organisation(acme_and_globex):
    """Globex connects Xero to Acme's sandbox organisation too, with a Xero login of its own that may
    (a Xero organisation has several users); Globex's Revoke ends Globex's grant only, never Acme's."""
    acme, globex, _ = acme_and_globex
    acme_tokens = set(IssuedToken.objects.filter(revoked=False).values_list("pk", flat=True))
    globex_login = users.ProviderUser(
        "xero", "also@globex.test", "", tuple(org_ids("xero", XERO_ACME)), "pw-2026"
    )
    users.PROVIDER_USERS.append(globex_login)  # removed after the test (tests/integrations/conftest.py)
    client = client_for(globex.admin)
    callback = consent(
        client, start(client, globex.account, "xero"), orgs=org_ids("xero", XERO_ACME), login=globex_login
    )
    assert "Xero is connected" in text(client.get(local(callback), follow=True))
    globex_tokens = set(IssuedToken.objects.filter(revoked=False).values_list("pk", flat=True)) - acme_tokens
    assert globex_tokens

    response = client.post(
        reverse("sandbox:revoke"), {"provider": "xero", "org_id": org_ids("xero", XERO_ACME)[0]}
    )
    assert response.status_code == 302
    assert set(IssuedToken.objects.filter(revoked=True).values_list("pk", flat=True)) == globex_tokens
    assert not IssuedToken.objects.filter(pk__in=acme_tokens, revoked=True).exists()


@pytest.mark.parametrize("secret", ["sécret", "秘密"])
def test_a_non_ascii_client_secret_is_refused_not_a_crash(secret):
    response = requests.post(
        f"{data.settings.SANDBOX_BASE_URL}/xero/identity/connect/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "x",
            "client_id": "sandbox-xero-client",
            "client_secret": secret,
        },
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_a_non_ascii_billcom_password_is_a_wrong_password_not_a_crash():
    response = requests.post(
        f"{data.settings.SANDBOX_BASE_URL}/billcom/connect/v3/login",
        json={
            "username": "accounts@acme.test",
            "password": "pässwörd",
            "organizationId": "00801ACMEDEMO01",
            "devKey": "sandbox-billcom-devkey",
        },
        timeout=10,
    )
    assert response.status_code in (400, 401)

"""ApprovalMax as documented, our adapter against the sandbox over real HTTP: client credentials in the
token request's body, a code that lives five minutes, the documented /companies answer (name and
companyId only) as well as the one with an accounting-system field, and a disconnect that says what is
left to do in ApprovalMax (it documents no revocation endpoint)."""

from __future__ import annotations

import html
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from accounts.models import ActivityEntry
from integrations.models import Connection, ConnectionStatus
from integrations.providers import LINKED_UNKNOWN, GrantRevoked
from integrations.providers.approvalmax import ApprovalMax
from sandbox.models import RequestLogEntry
from tests.conftest import client_for
from tests.integrations.sandbox_helpers import (  # noqa: F401  (fixtures: other_tenant_untouched, sandbox)
    CHALLENGE,
    a_consent,
    callback_uri,
    consent,
    exchanged,
    local,
    org_ids,
    other_tenant_untouched,
    sandbox,
    start,
)

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_untouched")

ACME_APPROVALS = "Acme Approvals"


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_the_token_endpoint_gets_the_client_credentials_in_the_body():
    exchanged("approvalmax", a_consent("approvalmax", [ACME_APPROVALS]))
    [entry] = RequestLogEntry.objects.filter(path__endswith="/approvalmax/connect/token")
    assert entry.summary == "code exchanged for tokens [client authentication: client_secret_post]"


def test_the_sandbox_also_accepts_basic_which_approvalmax_does_not_document_refusing(settings):
    code = a_consent("approvalmax", [ACME_APPROVALS])
    response = requests.post(
        f"{settings.SANDBOX_BASE_URL}/approvalmax/connect/token",
        data={
            "grant_type": "authorization_code",
            "code": code.code,
            "redirect_uri": callback_uri("approvalmax"),
            "code_verifier": "v" * 64,
        },
        auth=(settings.APPROVALMAX_CLIENT_ID, settings.APPROVALMAX_CLIENT_SECRET),
        timeout=10,
    )
    assert response.status_code == 200
    assert RequestLogEntry.objects.get(path__endswith="/connect/token").summary.endswith(
        "[client authentication: client_secret_basic]"
    )


def test_approvalmax_asks_only_for_documented_scopes():
    url = ApprovalMax().authorization_url(
        redirect_uri=callback_uri("approvalmax"), state="s", code_verifier=CHALLENGE
    )
    assert parse_qs(urlsplit(url).query)["scope"] == [
        "offline_access https://www.approvalmax.com/scopes/public_api/read"
    ]


def test_an_approvalmax_code_is_refused_after_five_minutes():
    stale = a_consent(
        "approvalmax", [ACME_APPROVALS], created_at=timezone.now() - timedelta(minutes=5, seconds=1)
    )
    with pytest.raises(GrantRevoked):
        exchanged("approvalmax", stale)


# --- /companies as documented: name and companyId only -----------------------------------------------


class _DocumentedCompanies(BaseHTTPRequestHandler):
    companies: list[dict] = []

    def do_GET(self):  # noqa: N802  (http.server's name)
        body = json.dumps(self.companies).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def documented_api(request, settings):
    """ApprovalMax's API answering /companies with only the documented fields."""
    request.getfixturevalue("sandbox")  # seeded first: the answer names a sandbox organisation
    _DocumentedCompanies.companies = [
        {"companyId": org_ids("approvalmax", ACME_APPROVALS)[0], "name": ACME_APPROVALS},
    ]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DocumentedCompanies)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.APPROVALMAX_API_URL = f"http://127.0.0.1:{server.server_address[1]}/api/v1"
    yield
    server.shutdown()
    server.server_close()


def choose_url(account) -> str:
    return reverse(
        "integrations:choose_organisation", kwargs={"account_slug": account.slug, "provider": "approvalmax"}
    )


@pytest.mark.usefixtures("documented_api")
def test_an_organisation_without_the_accounting_system_field_can_be_chosen(tenant, connect):
    connect(tenant.account, "xero")
    client = client_for(tenant.admin)
    callback = consent(
        client, start(client, tenant.account, "approvalmax"), orgs=org_ids("approvalmax", ACME_APPROVALS)
    )
    client.get(local(callback))
    page = client.get(choose_url(tenant.account))
    assert "ApprovalMax does not say which accounting software it is connected to" in text(page)
    assert 'name="organisation" value="' in text(page) and "disabled" not in text(page).split("<fieldset>")[1]

    client.post(choose_url(tenant.account), {"organisation": org_ids("approvalmax", ACME_APPROVALS)[0]})

    conn = Connection.objects.get(account=tenant.account, provider="approvalmax")
    assert (conn.status, conn.options["linked_to"]) == (ConnectionStatus.ACTIVE, LINKED_UNKNOWN)


@pytest.mark.usefixtures("documented_api")
def test_without_the_field_quickbooks_desktop_as_main_is_still_refused(tenant, connect):
    connect(tenant.account, "qbd")
    client = client_for(tenant.admin)
    callback = consent(
        client, start(client, tenant.account, "approvalmax"), orgs=org_ids("approvalmax", ACME_APPROVALS)
    )
    client.get(local(callback))
    page = client.get(choose_url(tenant.account))
    assert "QuickBooks Desktop, which ApprovalMax does not connect to" in text(page)
    client.post(choose_url(tenant.account), {"organisation": org_ids("approvalmax", ACME_APPROVALS)[0]})
    assert not Connection.objects.filter(account=tenant.account, provider="approvalmax").exists()


def test_with_the_field_an_organisation_on_other_software_stays_disabled(tenant, connect):
    """The sandbox sends the (undocumented) integrationType: the other shape is still handled."""
    orgs = {
        o.name: o
        for o in ApprovalMax().organisations(
            tokens=exchanged("approvalmax", a_consent("approvalmax", [ACME_APPROVALS, "Draft Organisation"])),
            callback={},
        )
    }
    assert (orgs[ACME_APPROVALS].linked, orgs[ACME_APPROVALS].selectable) == ("xero", True)
    assert (orgs["Draft Organisation"].linked, orgs["Draft Organisation"].selectable) == ("", False)


# --- disconnect --------------------------------------------------------------------------------------


def test_disconnect_says_how_to_end_the_access_in_approvalmax(tenant, connect):
    connect(tenant.account, "xero")
    tokens = exchanged("approvalmax", a_consent("approvalmax", [ACME_APPROVALS]))
    conn = connect(
        tenant.account,
        "approvalmax",
        external_id=org_ids("approvalmax", ACME_APPROVALS)[0],
        credentials=tokens.as_credentials(),
    )
    response = client_for(tenant.admin).post(
        reverse(
            "integrations:disconnect", kwargs={"account_slug": tenant.account.slug, "connection_id": conn.pk}
        ),
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [
        "ApprovalMax is disconnected. Published items keep the record of where they were published.",
        "Disconnected here; to end Dext Connect's access in ApprovalMax too, delete Dext Connect's "
        "connection in ApprovalMax's Connections list.",
    ]
    assert Connection.objects.get(pk=conn.pk).status == ConnectionStatus.DISCONNECTED
    assert ActivityEntry.objects.get(account=tenant.account, action="integration.provider_told").summary == (
        "Told ApprovalMax about the disconnect: ApprovalMax has no way for an app to end its own access"
    )

"""A provider that answers 2xx with something that is not JSON (a proxy's HTML page, a maintenance
notice) gets a clear message, never a 500 from the OAuth callback, and no connection is created."""

from __future__ import annotations

import html
import inspect
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from accounts.models import ActivityEntry
from integrations import services, views
from integrations.providers import ProviderError, TokenSet
from integrations.providers.qbo import QuickBooksOnline
from integrations.providers.xero import Xero
from tests.conftest import client_for
from tests.integrations.sandbox_helpers import (  # noqa: F401  (fixture: sandbox)
    XERO_ACME,
    consent,
    local,
    org_ids,
    sandbox,
    snapshot,
    start,
)

NOT_READABLE = "Xero sent an answer we could not read. Try again in a few minutes, or contact support if it"


class _Html(BaseHTTPRequestHandler):
    body = b"<html><body>Service temporarily unavailable for maintenance</body></html>"

    def do_GET(self):  # noqa: N802  (http.server's name)
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def html_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Html)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _tokens() -> TokenSet:
    from django.utils import timezone

    return TokenSet(access_token="a", refresh_token="r", expires_at=timezone.now())


def test_get_json_turns_a_non_json_answer_into_a_provider_error(html_server):
    with pytest.raises(ProviderError) as refused:
        Xero()._get_json(f"{html_server}/connections", _tokens())
    assert refused.value.message.startswith(NOT_READABLE)
    assert refused.value.code == "bad_response"


def test_every_oauth_provider_shares_the_check(html_server):
    with pytest.raises(ProviderError, match="QuickBooks Online sent an answer we could not read"):
        QuickBooksOnline()._get_json(f"{html_server}/companyinfo", _tokens())


@pytest.mark.usefixtures("sandbox")
def test_the_oauth_callback_says_so_and_connects_nothing(tenant, other_tenant, html_server, settings):
    settings.XERO_CONNECTIONS_URL = f"{html_server}/connections"
    before, other_before = snapshot(tenant.account), snapshot(other_tenant.account)
    client = client_for(tenant.admin)
    callback = consent(client, start(client, tenant.account, "xero"), orgs=org_ids("xero", XERO_ACME))
    response = client.get(local(callback), follow=True)
    assert response.status_code == 200
    assert NOT_READABLE in html.unescape(response.content.decode())
    assert (snapshot(tenant.account), snapshot(other_tenant.account)) == (before, other_before)
    assert not ActivityEntry.objects.filter(action__startswith="integration.").exists()


def test_one_and_join_lives_in_services():
    assert views.and_join is services.and_join
    assert "def and_join" not in inspect.getsource(views) and "def _and_join" not in inspect.getsource(views)
    assert services.and_join(["Bill.com"]) == "Bill.com"
    assert services.and_join(["Bill.com", "ApprovalMax"]) == "Bill.com and ApprovalMax"
    assert services.and_join(["A", "B", "C"]) == "A, B and C"

"""Helpers for the connect-flow tests: the sandbox on live_server, and driving its consent screen.

Our views run in the Django test client; the protocol calls they make (token exchange, /connections,
Bill.com login) go over real HTTP to the sandbox served by pytest-django's threaded live_server.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client
from django.urls import reverse

from integrations.models import Connection
from integrations.providers import TokenSet
from sandbox import data, users
from sandbox.models import SandboxOrganisation

XERO_ACME, XERO_GLOBEX = "Acme Ltd (Demo)", "Globex Holdings (Demo)"


@pytest.fixture
def sandbox(live_server, settings):
    """Our server and the sandbox on live_server, as in `make run`."""
    settings.SITE_URL = live_server.url
    settings.SANDBOX_BASE_URL = f"{live_server.url}/sandbox"
    data.ensure_seeded()
    return live_server


@pytest.fixture
def other_tenant_untouched(request, other_tenant):
    """Every test has a second tenant; unless the test itself works with it, it must not change."""
    before = snapshot(other_tenant.account)
    yield other_tenant
    if "other_tenant" not in inspect.signature(request.function).parameters:
        assert snapshot(other_tenant.account) == before, "the other tenant's connections changed"


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def start_url(account, provider: str) -> str:
    return reverse("integrations:connect_start", kwargs={"account_slug": account.slug, "provider": provider})


def start(client: Client, account, provider: str) -> str:
    """POST "Continue to <provider>": returns the provider's authorize URL we were sent to."""
    response = client.post(start_url(account, provider))
    assert response.status_code == 302, response
    return response["Location"]


def org_ids(provider: str, *names: str) -> list[str]:
    return [SandboxOrganisation.objects.get(provider=provider, name=n).org_id for n in names]


def provider_of(authorize_url: str) -> str:
    """xero, qbo or approvalmax: the sandbox's authorize URLs are /sandbox/<provider>/…"""
    return urlsplit(authorize_url).path.removeprefix("/sandbox/").split("/")[0]


def login_for(provider: str, orgs: list[str] | None = None) -> users.ProviderUser:
    """The sandbox login to consent with: a demo login that has all of `orgs` (the first of the
    provider's without them), or else a login made for this test with exactly those organisations
    (meant for no account; tests/integrations/conftest.py removes it after the test)."""
    candidates = [u for u in users.PROVIDER_USERS if u.provider == provider]
    fitting = [u for u in candidates if set(orgs or ()) <= set(u.org_ids)]
    if fitting:
        return fitting[0]
    made = users.ProviderUser(
        provider, f"test-{len(users.PROVIDER_USERS)}@{provider}.test", "", tuple(orgs), "test-pass-2026"
    )
    users.PROVIDER_USERS.append(made)
    return made


def sign_in_at_provider(
    client: Client, authorize_url: str, login: users.ProviderUser, password: str | None = None
):
    """Sign in on the sandbox provider's sign-in page (the first page of its authorize URL), with the
    login's own password unless another is given."""
    params = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    typed = login.password if password is None else password
    return client.post(
        urlsplit(authorize_url).path, {**params, "email": login.username, "password": typed, "sign_in": "1"}
    )


def consent(
    client: Client,
    authorize_url: str,
    *,
    orgs: list[str] | None = None,
    cancel: bool = False,
    login: users.ProviderUser | None = None,
) -> str:
    """Play the user at the sandbox provider: sign in (as `login`, or a login that has `orgs`, see
    login_for) unless signed in already or cancelling, then the consent screen; returns the callback
    URL it redirects to."""
    page = client.get(local(authorize_url))
    assert page.status_code == 200, page.content[:500]
    if b"Allow access" not in page.content and not cancel:
        signed_in = sign_in_at_provider(
            client, authorize_url, login or login_for(provider_of(authorize_url), orgs)
        )
        assert signed_in.status_code == 302, signed_in.content[:500]
        page = client.get(signed_in["Location"])
        assert b"Allow access" in page.content, page.content[:500]
    params = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    form = {**params, ("cancel" if cancel else "allow"): "1"}
    if orgs is not None:
        form["org"] = orgs
    response = client.post(urlsplit(authorize_url).path, form)
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def snapshot(account) -> list[tuple]:
    """Everything about an account's connections that a refused request must not change."""
    return list(
        Connection.objects.filter(account=account)
        .order_by("pk")
        .values_list("pk", "provider", "status", "external_id", "external_name", "credentials", "options")
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def raw_credentials(connection) -> str:
    """A connection's credentials column as the database holds it, past the ORM (which decrypts)."""
    from django.db import connection as db

    with db.cursor() as cursor:
        cursor.execute("SELECT credentials FROM integrations_connection WHERE id = %s", [connection.pk])
        return cursor.fetchone()[0]


# --- a consent and its tokens, through our adapter (the sandbox's authorize page records consents) --

VERIFIER = "v" * 64
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


def callback_uri(provider: str) -> str:
    from django.conf import settings

    return f"{settings.SITE_URL}/connect/callback/{provider}/"


def a_consent(
    provider: str, org_names: list[str], *, user_key: str = "user-a", scope: str | None = None, **fields
):
    """The user `user_key` allowed access to these organisations on the sandbox's consent page."""
    from django.conf import settings

    from integrations.providers import oauth_provider

    return data.record_consent(
        provider=provider,
        client_id=getattr(settings, f"{oauth_provider(provider).prefix}_CLIENT_ID"),
        redirect_uri=callback_uri(provider),
        code_challenge=CHALLENGE,
        org_ids=org_ids(provider, *org_names),
        scope=oauth_provider(provider).scope if scope is None else scope,
        user_key=user_key,
        **fields,
    )


def exchanged(provider: str, code) -> TokenSet:
    """Our adapter exchanges the consent's code with the sandbox's token endpoint, over HTTP."""
    from integrations.providers import oauth_provider

    return oauth_provider(provider).exchange_code(
        code=code.code, redirect_uri=callback_uri(provider), code_verifier=VERIFIER
    )


@contextmanager
def provider_answering(status: int, payload) -> Iterator[str]:
    """A stand-in provider over real HTTP that answers every GET and POST with `payload` as JSON and
    `status`: for answers the sandbox never gives (a /connections that ignores its filter, a token
    endpoint refusing our app). Yields its base URL."""
    body = json.dumps(payload).encode()

    class Answer(BaseHTTPRequestHandler):
        def _answer(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer  # noqa: N815  (http.server's names)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def provider_relaying(
    upstream: str,
    *,
    fails: Callable[[str, str, dict[str, list[str]]], bool],
    status: int,
    payload,
    headers=None,
) -> Iterator[str]:
    """A stand-in provider over real HTTP in front of the sandbox at `upstream`: it passes every request
    on and returns the sandbox's answer, except those for which `fails(method, path, query)` is true,
    which get `status`, `payload` as JSON and `headers` instead (a 500 on the second page of a read, a
    429 with Retry-After): answers the sandbox never gives, at the moment a test needs them. Yields its
    base URL; a path under it is the same path under `upstream`."""
    body = json.dumps(payload).encode()

    class Relay(BaseHTTPRequestHandler):
        def _relay(self):
            sent = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parts = urlsplit(self.path)
            if fails(self.command, parts.path, parse_qs(parts.query)):
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            kept = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "content-length"}}
            answer = requests.request(self.command, upstream + self.path, headers=kept, data=sent, timeout=30)
            self.send_response(answer.status_code)
            for name, value in answer.headers.items():
                if name.lower() not in {
                    "content-length",
                    "transfer-encoding",
                    "connection",
                    "content-encoding",
                }:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_POST = do_PUT = do_DELETE = _relay  # noqa: N815  (http.server's names)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def xero_connection(
    connect, account, name: str = XERO_ACME, *, scope: str | None = None, tokens: TokenSet | None = None
) -> Connection:
    """An active Xero connection holding real sandbox tokens for the tenant `name` (from a fresh consent,
    or `tokens`), as the connect flow leaves it: Xero's connection id kept, the organisation's lists
    seeded in the sandbox (it seeds them lazily; tests look first)."""
    from integrations.providers.xero import Xero
    from sandbox.listdata import ensure_lists

    tokens = tokens or exchanged("xero", a_consent("xero", [name], scope=scope))
    [org] = [o for o in Xero().organisations(tokens=tokens, callback={}) if o.name == name]
    ensure_lists("xero", org.id)
    return connect(
        account,
        "xero",
        external_id=org.id,
        external_name=org.name,
        credentials={**tokens.as_credentials(), **org.grant},
        access_expires_at=tokens.expires_at,
    )

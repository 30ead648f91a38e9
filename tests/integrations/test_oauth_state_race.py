"""The OAuth `state` is single-use under real concurrency (PostgreSQL): the same callback delivered twice
at the same moment (a double click, a browser retry, a proxy replay) connects once, exchanges the code
once, and the other delivery is told the link was already used. The same holds for the organisation
choice posted twice at once."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from integrations.connect_common import EXPIRED, connections_url
from integrations.models import Connection, ConnectionStatus
from sandbox.models import IssuedToken, RequestLogEntry
from tests.concurrency import race
from tests.conftest import client_for
from tests.factories import AccountFactory
from tests.integrations.sandbox_helpers import (  # noqa: F401  (fixture: sandbox)
    XERO_ACME,
    XERO_GLOBEX,
    consent,
    local,
    org_ids,
    sandbox,
    start,
)

ROUNDS = 5

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sandbox"),
]


def choose_url(account, provider: str) -> str:
    return reverse(
        "integrations:choose_organisation", kwargs={"account_slug": account.slug, "provider": provider}
    )


def same_browser(client: Client) -> Client:
    """A second client on the same session: two requests from one browser at once."""
    twin = Client()
    twin.cookies[settings.SESSION_COOKIE_NAME] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return twin


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def token_exchanges() -> int:
    return RequestLogEntry.objects.filter(path__endswith="/xero/identity/connect/token").count()


def both(client: Client, method: str, url: str, data: dict | None = None) -> list:
    """Send the same request from two clients of one browser session at the same moment."""
    responses: list = [None, None]
    clients = [client, same_browser(client)]

    def send(i: int) -> None:
        responses[i] = getattr(clients[i], method)(url, data or {})

    outcomes = race(lambda: send(0), lambda: send(1))
    assert outcomes == ["ok", "ok"], outcomes
    return responses


def test_the_same_callback_delivered_twice_at_once_connects_once():
    for n in range(ROUNDS):
        account = AccountFactory(name=f"Race {n}")
        client = client_for(account.owner)
        callback = consent(client, start(client, account, "xero"), orgs=org_ids("xero", XERO_ACME))
        exchanges = token_exchanges()

        responses = both(client, "get", local(callback))

        said = sorted(messages_of(r) for r in responses)
        assert said == sorted([[f"Xero is connected – {XERO_ACME}."], [EXPIRED]]), (n, said)
        winner = next(r for r in responses if messages_of(r) != [EXPIRED])
        assert winner["Location"] == connections_url(account)
        # One token exchange at the provider: the loser never spent the code a second time, so the
        # provider revoked nothing and the Active connection's tokens still work.
        assert token_exchanges() == exchanges + 1, n
        code = callback.split("code=")[1].split("&")[0]
        issued = IssuedToken.objects.filter(code__code=code)
        assert [t.revoked for t in issued] == [False], n
        conn = Connection.objects.get(account=account)
        assert conn.status == ConnectionStatus.ACTIVE
        assert conn.credentials["access_token"] == issued.get().access_token


def test_the_organisation_choice_posted_twice_at_once_connects_once():
    for n in range(ROUNDS):
        account = AccountFactory(name=f"Choice race {n}")
        client = client_for(account.owner)
        acme, globex = org_ids("xero", XERO_ACME, XERO_GLOBEX)
        callback = consent(client, start(client, account, "xero"), orgs=[acme, globex])
        assert client.get(local(callback))["Location"] == choose_url(account, "xero")

        responses = both(client, "post", choose_url(account, "xero"), {"organisation": globex})

        said = sorted(messages_of(r) for r in responses)
        assert said == sorted([[f"Xero is connected – {XERO_GLOBEX}."], [EXPIRED]]), (n, said)
        conn = Connection.objects.get(account=account)
        assert (conn.status, conn.external_id) == (ConnectionStatus.ACTIVE, globex)

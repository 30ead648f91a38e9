"""A sixth provider added through the registry alone: one entry (integrations/catalog.py) naming an
adapter class, nothing else touched. It is offered on the Connections pages with Connect, its choice and
label are the model's, the connect dispatch sends it through the OAuth flow, and refresh_tokens
refreshes its tokens."""

from __future__ import annotations

import html
from datetime import timedelta
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from integrations import catalog
from integrations.models import Connection, ConnectionStatus, OAuthState
from integrations.providers import OAuthProvider, Organisation, TokenSet, oauth_provider
from tests.conftest import client_for

CALLS: list[tuple[str, str]] = []


class FakeSage(OAuthProvider):
    """Sage Accounting as far as the connect flow and the token refresh need it (no network)."""

    key = "sage"

    def authorization_url(self, *, redirect_uri: str, state: str, code_verifier: str) -> str:
        CALLS.append(("authorize", redirect_uri))
        return f"https://www.sageone.example/oauth2/auth?state={state}"

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> TokenSet:
        CALLS.append(("exchange", code))
        return TokenSet("sage-access-1", "sage-refresh-1", timezone.now() + timedelta(minutes=5))

    def organisations(self, *, tokens: TokenSet, callback: dict[str, str]) -> list[Organisation]:
        return [Organisation(id="sage-business-1", name="Sage Trading Ltd")]

    def refresh(self, *, refresh_token: str) -> TokenSet:
        CALLS.append(("refresh", refresh_token))
        return TokenSet("sage-access-2", "sage-refresh-2", timezone.now() + timedelta(hours=1))


SAGE = catalog.ProviderInfo(
    key="sage",
    label="Sage Accounting",
    is_main=True,
    connect_kind="oauth",
    adapter=FakeSage,
    scopes=("full_access",),
    publishes={"bill": "purchase invoice", "receipt": "purchase invoice", "sales_invoice": "sales invoice"},
    blurb="Sign in to Sage and choose the business.",
    steps=("Sign in to Sage.", "Select **Allow** for Dext Connect.", "Choose the business to connect."),
)


@pytest.fixture
def sage():
    CALLS.clear()
    with catalog.registered(SAGE) as info:
        yield info
    assert catalog.provider_info("sage") is None  # gone with the block: nothing else was changed


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_a_sixth_provider_is_offered_and_labelled_everywhere(sage, tenant):
    assert ("sage", "Sage Accounting") in Connection._meta.get_field("provider").choices
    assert ("sage", "Sage Accounting") in OAuthState._meta.get_field("provider").choices
    assert Connection(provider="sage").get_provider_display() == "Sage Accounting"
    assert catalog.is_main("sage") and "sage" in catalog.oauth_keys()
    assert isinstance(oauth_provider("sage"), FakeSage)

    client = client_for(tenant.admin)
    page = text(client.get(reverse("integrations:connect_choose", args=[tenant.account.slug])))
    main_table = page[page.index('aria-label="Main accounting software"') : page.index("additional-software")]
    assert "Sage Accounting" in main_table and 'aria-label="Connect Sage Accounting"' in main_table
    assert "Sign in to Sage and choose the business." in main_table
    assert "(Xero, QuickBooks Online, QuickBooks Desktop or Sage Accounting)" in page
    listing = text(client.get(reverse("integrations:connections", args=[tenant.account.slug])))
    assert "(Xero, QuickBooks Online, QuickBooks Desktop or Sage Accounting)" in listing


def test_a_sixth_oauth_provider_connects_through_the_oauth_flow_and_its_tokens_are_refreshed(sage, tenant):
    client = client_for(tenant.admin)
    start = reverse("integrations:connect_start", args=[tenant.account.slug, "sage"])

    # The dispatch picks the OAuth start page for its connect kind, with the entry's own steps.
    page = client.get(start)
    assert "Continue to Sage Accounting" in text(page)
    assert "<li>Select <strong>Allow</strong> for Dext Connect.</li>" in page.content.decode()

    # Continue: to the adapter's authorisation URL, with the flow remembered as for any OAuth provider.
    response = client.post(start)
    assert response.status_code == 302
    assert response["Location"].startswith("https://www.sageone.example/oauth2/auth?state=")
    assert CALLS == [("authorize", f"{settings.SITE_URL}/connect/callback/sage/")]
    assert OAuthState.objects.filter(provider="sage", account=tenant.account).count() == 1
    state = parse_qs(urlsplit(response["Location"]).query)["state"][0]

    # The provider sends the user back: one organisation, so it is connected straight away.
    back = client.get(reverse("integrations:oauth_callback", args=["sage"]), {"state": state, "code": "c-1"})
    assert back["Location"] == reverse("integrations:connections", args=[tenant.account.slug])
    connection = Connection.objects.get(account=tenant.account, provider="sage")
    assert (connection.status, connection.is_main) == (ConnectionStatus.ACTIVE, True)
    assert (connection.external_id, connection.external_name) == ("sage-business-1", "Sage Trading Ltd")
    assert connection.credentials["refresh_token"] == "sage-refresh-1"
    listing = text(client.get(back["Location"]))
    assert "Sage Accounting is connected (Sage Trading Ltd)." in listing
    assert 'aria-label="Disconnect Sage Accounting"' in listing

    # Its access token expires within five minutes: the scheduled refresh picks it up.
    out = StringIO()
    call_command("refresh_tokens", stdout=out)
    assert ("refresh", "sage-refresh-1") in CALLS
    assert f"{tenant.account.name}: Sage Accounting: token valid until" in out.getvalue()
    connection.refresh_from_db()
    assert connection.credentials["access_token"] == "sage-access-2"
    assert connection.credentials["refresh_token"] == "sage-refresh-2"

"""Provider sign-in is per tenant: the sandbox's Xero, Intuit and ApprovalMax consent screens sign in a
pretend provider login first, as the real ones do, and list only that login's organisations. Each
demo account's connect page shows its own login; another tenant's works only with its password, which
only that tenant's pages show."""

from __future__ import annotations

import html
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from accounts.models import Account
from integrations.models import Connection
from sandbox import data, users
from sandbox.models import AuthorizationCode, SandboxOrganisation
from tests.conftest import client_for
from tests.factories import AccountFactory, ConnectionFactory
from tests.integrations.sandbox_helpers import local, sign_in_at_provider, start

OAUTH = ["xero", "qbo", "approvalmax"]


def text(response) -> str:
    return html.unescape(response.content.decode())


def names(provider: str, login: users.ProviderUser) -> set[str]:
    return set(
        SandboxOrganisation.objects.filter(provider=provider, org_id__in=login.org_ids).values_list(
            "name", flat=True
        )
    )


def login_of(slug: str, provider: str) -> users.ProviderUser:
    (login,) = users.users_for({slug}, provider)
    return login


@pytest.fixture
def acme_and_globex(tenant, other_tenant):
    """The demo's Acme and Globex (the sandbox has logins meant for them), nothing connected."""
    Account.objects.filter(pk=tenant.account.pk).update(slug="acme")
    Account.objects.filter(pk=other_tenant.account.pk).update(slug="globex")
    tenant.account.refresh_from_db()
    other_tenant.account.refresh_from_db()
    data.ensure_seeded()
    return tenant, other_tenant


def begin(client, account, provider: str) -> str:
    """Press "Continue to <provider>": the sandbox authorize URL. ApprovalMax works beside a main
    accounting software, so the account gets one first."""
    if provider == "approvalmax" and not Connection.objects.filter(account=account).exists():
        ConnectionFactory(account=account, provider="xero", is_main=True)
    return start(client, account, provider)


def consent_page(client, authorize_url: str):
    return client.get(local(authorize_url))


def connect_page(client, account, provider: str) -> str:
    url = reverse("integrations:connect_start", kwargs={"account_slug": account.slug, "provider": provider})
    return text(client.get(url))


@pytest.mark.parametrize("provider", OAUTH)
def test_the_consent_screen_signs_in_first_and_shows_no_organisation_before(acme_and_globex, provider):
    acme, _ = acme_and_globex
    client = client_for(acme.admin)
    page = consent_page(client, begin(client, acme.account, provider))
    assert page.status_code == 200
    brand = users.SIGN_IN_BRANDS[provider]
    assert f"Sign in to {brand}" in text(page)
    assert "Allow access" not in text(page)
    for org in SandboxOrganisation.objects.filter(provider=provider):
        assert org.name not in text(page) and org.org_id not in text(page)


@pytest.mark.parametrize("provider", OAUTH)
@pytest.mark.parametrize("slug", ["acme", "globex"])
def test_a_login_sees_only_its_own_organisations(acme_and_globex, provider, slug):
    acme, globex = acme_and_globex
    tenant = {"acme": acme, "globex": globex}[slug]
    login = login_of(slug, provider)
    client = client_for(tenant.admin)
    authorize = begin(client, tenant.account, provider)
    signed_in = sign_in_at_provider(client, authorize, login)
    assert signed_in.status_code == 302 and signed_in["Location"] == local(authorize)

    page = text(client.get(signed_in["Location"]))
    assert "Allow access" in page and f"Signed in as <strong>{login.username}</strong>" in page
    own = names(provider, login)
    assert own
    others = set(SandboxOrganisation.objects.filter(provider=provider).values_list("name", flat=True)) - own
    assert others  # there is something to hide
    for name in own:
        assert name in page
    for name in others:
        assert name not in page, name


@pytest.mark.parametrize("provider", OAUTH)
def test_another_tenants_login_works_only_with_its_password_shown_only_on_its_page(acme_and_globex, provider):
    acme, globex = acme_and_globex
    theirs = login_of("globex", provider)
    mine = login_of("acme", provider)
    # Each account's connect page shows its own login, never the other's.
    for tenant in (acme, globex):
        if provider == "approvalmax":
            ConnectionFactory(account=tenant.account, provider="xero", is_main=True)
    acme_page = connect_page(client_for(acme.admin), acme.account, provider)
    globex_page = connect_page(client_for(globex.admin), globex.account, provider)
    assert f"{mine.username} / {mine.password}" in acme_page
    assert f"{theirs.username} / {theirs.password}" in globex_page
    assert theirs.username not in acme_page and theirs.password not in acme_page
    assert mine.username not in globex_page and mine.password not in globex_page
    assert mine.password != theirs.password

    # Acme's Admin tries Globex's login at the consent screen: without its password, nothing.
    client = client_for(acme.admin)
    authorize = begin(client, acme.account, provider)
    for guess in (mine.password, "", "billcom-demo-2026", theirs.password.upper()):
        refused = sign_in_at_provider(client, authorize, theirs, password=guess)
        # The sign-in page again with its message (a form error, not an HTTP error), still not signed in.
        assert refused.status_code == 200
        assert "Incorrect email address or password." in text(refused)
        again = text(consent_page(client, authorize))
        assert "Allow access" not in again
        assert not any(name in again for name in names(provider, theirs))

    # Only with the password from Globex's own page does it sign in, as the real provider would.
    accepted = sign_in_at_provider(client, authorize, theirs, password=theirs.password)
    assert accepted.status_code == 302
    assert all(name in text(client.get(accepted["Location"])) for name in names(provider, theirs))


@pytest.mark.parametrize("provider", OAUTH)
def test_a_forged_organisation_in_the_consent_is_refused(acme_and_globex, provider):
    acme, _ = acme_and_globex
    client = client_for(acme.admin)
    authorize = begin(client, acme.account, provider)
    sign_in_at_provider(client, authorize, login_of("acme", provider))
    params = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    globex_org = login_of("globex", provider).org_ids[0]

    response = client.post(urlsplit(authorize).path, {**params, "allow": "1", "org": [globex_org]})

    assert response.status_code == 400
    assert not AuthorizationCode.objects.exists()
    assert not Connection.objects.exclude(provider="xero").exists()


def test_a_consent_posted_without_signing_in_gets_the_sign_in_page(acme_and_globex):
    acme, _ = acme_and_globex
    client = client_for(acme.admin)
    authorize = start(client, acme.account, "xero")
    params = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    response = client.post(
        urlsplit(authorize).path, {**params, "allow": "1", "org": list(login_of("acme", "xero").org_ids)}
    )
    assert response.status_code == 200 and "Sign in to Xero" in text(response)
    assert not AuthorizationCode.objects.exists()


def test_not_you_signs_out_and_another_login_signs_in(acme_and_globex):
    acme, _ = acme_and_globex
    client = client_for(acme.admin)
    authorize = start(client, acme.account, "xero")
    first = login_of("acme", "xero")
    sign_in_at_provider(client, authorize, first)
    params = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    out = client.post(urlsplit(authorize).path, {**params, "sign_out": "1"})
    assert out.status_code == 302 and out["Location"] == local(authorize)
    assert "Sign in to Xero" in text(client.get(out["Location"]))


def test_the_sign_in_is_the_browsers_not_the_accounts(acme_and_globex):
    """Signing out of Dext Connect ends the sandbox login too (it lives in the session): the next person
    at that browser signs in again."""
    acme, globex = acme_and_globex
    client = client_for(acme.admin)
    authorize = start(client, acme.account, "xero")
    sign_in_at_provider(client, authorize, login_of("acme", "xero"))
    client.post(reverse("accounts:logout"))
    client.force_login(globex.admin)
    authorize = start(client, globex.account, "xero")
    assert "Sign in to Xero" in text(consent_page(client, authorize))


def test_an_account_without_a_demo_login_is_shown_none(db):
    account = AccountFactory(name="Newcomer Ltd")
    page = connect_page(client_for(account.owner), account, "xero")
    assert "Sandbox sign-ins" not in page
    assert all(u.username not in page for u in users.PROVIDER_USERS)


def test_every_demo_account_has_one_login_per_provider_and_no_two_accounts_share_an_organisation():
    for provider in OAUTH:
        logins = [u for u in users.PROVIDER_USERS if u.provider == provider]
        assert sorted(u.account for u in logins) == ["acme", "globex", "initech"]
        org_ids = [o for u in logins for o in u.org_ids]
        assert len(org_ids) == len(set(org_ids))
        assert set(org_ids) <= {o[1] for o in data.ORGANISATIONS if o[0] == provider}
    passwords = [u.password for u in users.PROVIDER_USERS]
    assert len(set(passwords)) == len(passwords)


def test_the_passwords_come_from_the_servers_secret_key(settings):
    login = users.PROVIDER_USERS[0]
    before = login.password
    settings.SECRET_KEY = "another-deployment-" + "s" * 40
    assert login.password != before

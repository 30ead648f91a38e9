"""Tenancy: every tenant URL, walked from the resolver, is closed to strangers and anonymous users."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django_scopes import ScopeError, scope

from accounts.activity import record
from accounts.models import Membership
from tests.conftest import client_for
from tests.tenant_world import ids_for, populate, snapshot
from tests.urlwalk import all_routes, fill, tenant_routes

ACCOUNT_ROUTES = list(tenant_routes("account_slug"))
PRACTICE_ROUTES = list(tenant_routes("practice_slug"))


def test_resolver_finds_the_tenant_pages():
    names = {r.name for r in ACCOUNT_ROUTES}
    assert {"accounts:account_home", "accounts:users", "accounts:activity"} <= names
    assert {r.name for r in PRACTICE_ROUTES} == {"accounts:practice_clients"}


def test_every_tenant_page_declares_its_permission():
    for route in ACCOUNT_ROUTES:
        view = route.callback
        target = getattr(view, "view_class", view)
        assert hasattr(view, "account_permission") or hasattr(target, "account_permission"), route


def test_tenant_urls_live_under_the_account():
    # A page that takes an object id must also take the account: /a/<account>/... or /p/<practice>/...
    for route in all_routes():
        if "<int:" in route.pattern and not route.pattern.startswith(("admin/", "sandbox/")):
            assert route.pattern.startswith(("a/<slug:account_slug>/", "p/<slug:practice_slug>/")), route


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("route", ACCOUNT_ROUTES, ids=str)
def test_stranger_gets_404_and_sees_nothing(route, method, tenant, other_tenant):
    """The other tenant's Admin, with the real ids of this tenant's objects in the URL."""
    world = populate(tenant)
    populate(other_tenant)
    record(account=tenant.account, actor=tenant.admin, action="x", summary="SECRET-ACME-ACTIVITY")
    before = snapshot()
    response = getattr(client_for(other_tenant.admin), method)(
        fill(route, account_slug=tenant.account.slug, **ids_for(route, world))
    )
    assert response.status_code == 404
    body = response.content.decode()
    for secret in (
        tenant.account.name,
        "SECRET-ACME-ACTIVITY",
        "SECRET-REF",
        "Secret Supplier",
        "Secret Category",
        "Secret Tax",
        "Secret Practice",
    ):
        assert secret not in body
    assert snapshot() == before


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("route", [r for r in ACCOUNT_ROUTES if "<int:" in r.pattern], ids=str)
def test_ids_of_another_account_change_nothing_and_show_nothing(route, method, tenant, other_tenant):
    """This tenant's own Admin, in their own account, with the other tenant's real object ids."""
    populate(tenant)
    foreign = populate(other_tenant)
    before = snapshot()
    response = getattr(client_for(tenant.admin), method)(
        fill(route, account_slug=tenant.account.slug, **ids_for(route, foreign)), {"integration": ""}
    )
    assert response.status_code in (302, 404, 405), response.status_code
    assert snapshot() == before
    body = response.content.decode()
    assert other_tenant.account.name not in body and "SECRET-REF" not in body


# The lists' endpoints answer the account's own ids (so the walks above reach their views, not a 404 of
# a badly filled address) and nothing else.
LIST_ROUTES = [
    r for r in ACCOUNT_ROUTES if r.name in ("costs:choose_entries", "costs:item_lists", "costs:rule_lists")
]


def test_the_walk_covers_the_lists_endpoints():
    assert {r.name for r in LIST_ROUTES} == {"costs:choose_entries", "costs:item_lists", "costs:rule_lists"}


@pytest.mark.parametrize("route", LIST_ROUTES, ids=str)
def test_lists_endpoints_answer_own_ids_and_404_another_accounts(route, tenant, other_tenant):
    own = populate(tenant)
    foreign = populate(other_tenant)
    client = client_for(tenant.admin)
    assert client.get(fill(route, account_slug=tenant.account.slug, **ids_for(route, own))).status_code == 200
    response = client.get(fill(route, account_slug=tenant.account.slug, **ids_for(route, foreign)))
    assert response.status_code == 404
    assert other_tenant.account.name not in response.content.decode()


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("route", ACCOUNT_ROUTES, ids=str)
def test_anonymous_is_sent_to_sign_in(route, method, client, tenant):
    world = populate(tenant)
    before = snapshot()
    response = getattr(client, method)(fill(route, account_slug=tenant.account.slug, **ids_for(route, world)))
    assert response.status_code == 302
    assert response.url.startswith("/login/")
    assert snapshot() == before


@pytest.mark.parametrize("route", ACCOUNT_ROUTES, ids=str)
def test_unknown_account_is_404(route, admin_client_):
    assert admin_client_.get(fill(route, account_slug="no-such-account")).status_code == 404


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("route", PRACTICE_ROUTES, ids=str)
def test_practice_pages_are_closed_to_non_members(route, method, practice_setup, other_tenant):
    practice, _, _ = practice_setup
    response = getattr(client_for(other_tenant.admin), method)(fill(route, practice_slug=practice.slug))
    assert response.status_code == 404


def test_bookkeeper_cannot_open_unassigned_client(practice_setup, tenant, other_tenant):
    _, _, bookkeeper = practice_setup
    c = client_for(bookkeeper)
    assert c.get(f"/a/{tenant.account.slug}/").status_code == 200
    assert c.get(f"/a/{other_tenant.account.slug}/").status_code == 404


def test_practice_admin_opens_every_client(practice_setup, tenant, other_tenant):
    _, partner, _ = practice_setup
    c = client_for(partner)
    for t in (tenant, other_tenant):
        assert c.get(f"/a/{t.account.slug}/").status_code == 200


def test_removed_client_closes_to_the_practice(practice_setup, tenant):
    practice, partner, bookkeeper = practice_setup
    practice.clients.remove(tenant.account)
    for user in (partner, bookkeeper):
        assert client_for(user).get(f"/a/{tenant.account.slug}/").status_code == 404


def test_query_outside_a_scope_raises(tenant):
    with pytest.raises(ScopeError):
        list(Membership.objects.all())


def test_scope_shows_only_its_own_account(tenant, other_tenant):
    with scope(account=tenant.account):
        users = {m.user_id for m in Membership.objects.all()}
    assert users == {tenant.admin.pk, tenant.staff.pk}


def test_view_without_declared_permission_fails_loudly(rf, admin_user, tenant):
    from accounts.tenancy import AccountMiddleware

    def undeclared(request):  # pragma: no cover - must never run
        raise AssertionError

    request = rf.get("/")
    request.user = admin_user
    with pytest.raises(ImproperlyConfigured):
        AccountMiddleware(lambda r: None).process_view(
            request, undeclared, (), {"account_slug": tenant.account.slug}
        )


def test_session_remembers_last_account_only_as_a_hint(practice_setup, tenant, other_tenant):
    practice, partner, _ = practice_setup
    c = client_for(partner)
    c.get(f"/a/{other_tenant.account.slug}/")
    assert c.get("/").url == f"/a/{other_tenant.account.slug}/"
    # Two tabs, two clients: each URL names its own account whatever the session says.
    assert tenant.account.name in c.get(f"/a/{tenant.account.slug}/").content.decode()
    assert other_tenant.account.name in c.get(f"/a/{other_tenant.account.slug}/").content.decode()

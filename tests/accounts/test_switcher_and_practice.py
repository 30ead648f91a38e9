import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import PracticeRole
from accounts.permissions import access_for
from accounts.selectors import switcher_accounts
from tests.conftest import client_for
from tests.factories import AccountFactory, PracticeFactory, PracticeMembershipFactory


def test_switcher_lists_only_what_the_user_may_open(practice_setup, tenant, other_tenant):
    _, partner, bookkeeper = practice_setup
    assert {a.slug for a in switcher_accounts(bookkeeper)} == {tenant.account.slug}
    assert {a.slug for a in switcher_accounts(partner)} == {tenant.account.slug, other_tenant.account.slug}
    assert {a.slug for a in switcher_accounts(tenant.staff)} == {tenant.account.slug}


def test_switcher_search(practice_setup, tenant, other_tenant):
    _, partner, _ = practice_setup
    body = client_for(partner).get("/switch/", {"q": "other"}).content.decode()
    assert other_tenant.account.name in body and tenant.account.name not in body
    partial = client_for(partner).get("/switch/", {"q": "zzz"}, HTTP_HX_REQUEST="true").content.decode()
    assert "No account matches" in partial and "<html" not in partial


@pytest.mark.django_db
def test_switcher_is_one_bounded_query_with_500_clients():
    practice = PracticeFactory()
    partner = PracticeMembershipFactory(practice=practice, role=PracticeRole.PRACTICE_ADMIN).user
    # Named here, not by the factory's sequence (which other tests have moved on by then).
    practice.clients.add(*(AccountFactory(name=f"Client {n:03d} Ltd") for n in range(500)))
    with CaptureQueriesContext(connection) as ctx:
        found = list(switcher_accounts(partner, "Client 4"))
    assert len(ctx.captured_queries) == 1
    assert found and all(a.name.startswith("Client 4") for a in found)
    assert len(list(switcher_accounts(partner))) == 50  # bounded; the page says to narrow the search


def test_practice_admin_assigns_bookkeeper(practice_setup, tenant, other_tenant):
    practice, partner, bookkeeper = practice_setup
    c = client_for(partner)
    membership = bookkeeper.practice_memberships.get()
    r = c.post(
        f"/p/{practice.slug}/clients/",
        {"membership": membership.pk, "clients": [other_tenant.account.pk]},
        follow=True,
    )
    assert "Saved the clients" in r.content.decode()
    assert client_for(bookkeeper).get(f"/a/{other_tenant.account.slug}/").status_code == 200
    assert client_for(bookkeeper).get(f"/a/{tenant.account.slug}/").status_code == 404


def test_assigning_a_non_client_is_refused(practice_setup):
    practice, partner, bookkeeper = practice_setup
    stranger = AccountFactory()
    membership = bookkeeper.practice_memberships.get()
    before = set(membership.assigned_clients.values_list("pk", flat=True))
    r = client_for(partner).post(
        f"/p/{practice.slug}/clients/", {"membership": membership.pk, "clients": [stranger.pk]}, follow=True
    )
    assert "Choose clients of this practice only." in r.content.decode()
    assert set(membership.assigned_clients.values_list("pk", flat=True)) == before


def test_bookkeeper_cannot_assign(practice_setup, other_tenant):
    practice, _, bookkeeper = practice_setup
    membership = bookkeeper.practice_memberships.get()
    r = client_for(bookkeeper).post(
        f"/p/{practice.slug}/clients/", {"membership": membership.pk, "clients": [other_tenant.account.pk]}
    )
    assert r.status_code == 403
    assert not membership.assigned_clients.filter(pk=other_tenant.account.pk).exists()


def test_bookkeeper_sees_only_their_own_clients_on_the_practice_page(practice_setup, tenant, other_tenant):
    practice, partner, bookkeeper = practice_setup
    body = client_for(bookkeeper).get(f"/p/{practice.slug}/clients/").content.decode()
    assert tenant.account.name in body and other_tenant.account.name not in body
    assert "Save assignments" not in body
    everything = client_for(partner).get(f"/p/{practice.slug}/clients/").content.decode()
    assert tenant.account.name in everything and other_tenant.account.name in everything


def test_practice_users_are_labelled_by_role_and_practice(practice_setup, tenant):
    practice, partner, bookkeeper = practice_setup
    assert access_for(partner, tenant.account).label == f"Practice admin, {practice.name}"
    assert access_for(bookkeeper, tenant.account).label == f"Bookkeeper, {practice.name}"


def test_forged_practice_form_values_get_a_message(practice_setup):
    practice, partner, bookkeeper = practice_setup
    membership = bookkeeper.practice_memberships.get()
    before = set(membership.assigned_clients.values_list("pk", flat=True))
    for clients in (["²"], ["99999999999999999999999"], ["-1"]):
        r = client_for(partner).post(
            f"/p/{practice.slug}/clients/", {"membership": membership.pk, "clients": clients}, follow=True
        )
        assert "Choose a bookkeeper and clients from the list." in r.content.decode()
    assert set(membership.assigned_clients.values_list("pk", flat=True)) == before

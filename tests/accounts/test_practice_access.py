"""Practice access, as the client sees and controls it (issue 7, part 4).

- A user's access to an account is the higher of their direct membership and their practice access.
- The client's Users page lists each practice that has the account as a client, and which of its staff
  can open it.
- The client's own Admin (a direct Admin, not a practice user) can end a practice's access; it is logged.
"""

from __future__ import annotations

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape
from django_scopes import scopes_disabled

from accounts import services
from accounts.errors import DomainError
from accounts.models import ActivityEntry, Practice, PracticeMembership, PracticeRole, Role
from accounts.permissions import ADMIN, PERMISSIONS, PRACTICE, STANDARD, access_for, accessible_accounts
from accounts.selectors import switcher_accounts
from tests.conftest import client_for
from tests.factories import MembershipFactory, PracticeFactory, PracticeMembershipFactory, UserFactory


def _users_url(account) -> str:
    return f"/a/{account.slug}/settings/users/"


def _end_url(account, practice) -> str:
    return f"/a/{account.slug}/settings/users/practices/{practice.pk}/end/"


def _links() -> tuple:
    """Every way in through a practice: which practice has which client, who is assigned where."""
    return (
        sorted(Practice.clients.through.objects.values_list()),
        sorted(PracticeMembership.assigned_clients.through.objects.values_list()),
    )


def _activity(account) -> list[tuple]:
    with scopes_disabled():
        return list(
            ActivityEntry.objects.filter(account=account).values_list("action", "summary", "actor_id")
        )


# --- The higher of the two ways in -------------------------------------------------------------------


def test_a_partner_with_a_direct_standard_membership_keeps_practice_access(practice_setup, tenant):
    practice, partner, _ = practice_setup
    MembershipFactory(account=tenant.account, user=partner, role=Role.STANDARD)
    access = access_for(partner, tenant.account)
    assert access.kind == PRACTICE
    assert access.can("integrations.manage") and access.can("rules.manage")
    assert not access.can("users.manage")  # direct users stay the client's own decision
    assert access.label == f"Practice admin, {practice.name}"  # says which way is used
    c = client_for(partner)
    assert c.get(f"/a/{tenant.account.slug}/settings/activity/").status_code == 200
    connect_page = f"/a/{tenant.account.slug}/settings/connections/"
    assert c.get(connect_page).status_code == 200
    assert (
        c.post(_users_url(tenant.account), {"email": "new@example.test", "role": "standard"}).status_code
        == 403
    )


def test_a_direct_admin_outranks_practice_access(practice_setup, tenant):
    _, partner, bookkeeper = practice_setup
    for user in (partner, bookkeeper):
        MembershipFactory(account=tenant.account, user=user, role=Role.ADMIN)
        access = access_for(user, tenant.account)
        assert (access.kind, access.label) == (ADMIN, "Admin")


def test_the_ways_in_form_a_chain():
    """ "Higher" is well defined only if every kind may do at least what the kind below it may:
    Standard user < practice user < Admin. A permission breaking the chain fails here."""
    for permission, allowed in PERMISSIONS.items():
        if STANDARD in allowed:
            assert PRACTICE in allowed, permission
        if PRACTICE in allowed:
            assert ADMIN in allowed, permission


MEMBERSHIPS = [None, Role.STANDARD, Role.ADMIN]
PRACTICE_WAYS = ["none", "bookkeeper_assigned", "bookkeeper_unassigned", "practice_admin"]


def _expected_kind(membership: str | None, practice_way: str) -> str | None:
    # Written out by hand, independently of accounts/permissions.py.
    opens_through_practice = practice_way in ("bookkeeper_assigned", "practice_admin")
    if membership == Role.ADMIN:
        return ADMIN
    if opens_through_practice:
        return PRACTICE
    if membership == Role.STANDARD:
        return STANDARD
    return None


@pytest.mark.parametrize(("membership", "practice_way"), list(itertools.product(MEMBERSHIPS, PRACTICE_WAYS)))
def test_access_for_and_accessible_accounts_agree_on_every_combination(
    membership, practice_way, tenant, other_tenant
):
    practice = PracticeFactory()
    practice.clients.add(tenant.account, other_tenant.account)
    user = UserFactory()
    if membership is not None:
        MembershipFactory(account=tenant.account, user=user, role=membership)
    if practice_way != "none":
        role = PracticeRole.PRACTICE_ADMIN if practice_way == "practice_admin" else PracticeRole.BOOKKEEPER
        pm = PracticeMembershipFactory(practice=practice, user=user, role=role)
        if practice_way == "bookkeeper_assigned":
            pm.assigned_clients.add(tenant.account)

    access = access_for(user, tenant.account)
    expected = _expected_kind(membership, practice_way)
    assert (access.kind if access else None) == expected
    for permission in PERMISSIONS:
        in_sql = accessible_accounts(user, permission).filter(pk=tenant.account.pk).exists()
        in_python = access is not None and access.can(permission)
        assert in_sql == in_python, permission


# --- The client's Users page lists its practices ------------------------------------------------------


@pytest.fixture
def rival(tenant, other_tenant):
    """A second practice: a client of the other tenant only, with a partner and a bookkeeper."""
    practice = PracticeFactory(name="Rival Ledgers")
    practice.clients.add(other_tenant.account)
    partner = PracticeMembershipFactory(practice=practice, role=PracticeRole.PRACTICE_ADMIN).user
    bk = PracticeMembershipFactory(practice=practice, role=PracticeRole.BOOKKEEPER)
    bk.assigned_clients.add(other_tenant.account)
    return practice, partner, bk.user


def test_users_page_lists_the_practice_and_the_staff_who_can_open_the_account(
    practice_setup, rival, tenant, other_tenant
):
    practice, partner, bookkeeper = practice_setup
    unassigned = PracticeMembershipFactory(practice=practice, role=PracticeRole.BOOKKEEPER)
    unassigned.assigned_clients.add(other_tenant.account)
    body = client_for(tenant.admin).get(_users_url(tenant.account)).content.decode()
    assert "Accountants and bookkeepers" in body
    assert escape(practice.name) in body  # "Books &amp; Co"
    assert f'{partner.email}</td><td data-label="Role">Practice admin' in body.replace("\n", "").replace(
        "  ", ""
    )
    assert f'{bookkeeper.email}</td><td data-label="Role">Bookkeeper' in body.replace("\n", "").replace(
        "  ", ""
    )
    assert unassigned.user.email not in body
    # The other tenant's practice and its people are never shown.
    rival_practice, rival_partner, rival_bookkeeper = rival
    for secret in (rival_practice.name, rival_partner.email, rival_bookkeeper.email):
        assert secret not in body


def test_a_practice_admin_with_assignments_is_listed_once(practice_setup, tenant, other_tenant):
    practice, partner, _ = practice_setup
    partner.practice_memberships.get().assigned_clients.add(tenant.account, other_tenant.account)
    body = client_for(tenant.admin).get(_users_url(tenant.account)).content.decode()
    assert body.count(partner.email) == 1


def test_users_page_without_a_practice_says_so(tenant):
    body = client_for(tenant.admin).get(_users_url(tenant.account)).content.decode()
    assert "Accountants and bookkeepers" in body
    assert "No accountant or bookkeeping practice can open" in body


def test_only_the_direct_admin_is_offered_end_access(practice_setup, tenant):
    practice, partner, bookkeeper = practice_setup
    assert "End access" in client_for(tenant.admin).get(_users_url(tenant.account)).content.decode()
    for user in (tenant.staff, partner, bookkeeper):
        body = client_for(user).get(_users_url(tenant.account)).content.decode()
        assert escape(practice.name) in body  # everyone who may open the account sees who else can
        assert "End access" not in body


def test_the_listing_costs_a_fixed_number_of_queries(practice_setup, tenant):
    def queries() -> int:
        c = client_for(tenant.admin)
        with CaptureQueriesContext(connection) as ctx:
            assert c.get(_users_url(tenant.account)).status_code == 200
        return len(ctx.captured_queries)

    one_practice = queries()
    for _ in range(3):
        more = PracticeFactory()
        more.clients.add(tenant.account)
        PracticeMembershipFactory.create_batch(2, practice=more, role=PracticeRole.PRACTICE_ADMIN)
        for bk in PracticeMembershipFactory.create_batch(2, practice=more, role=PracticeRole.BOOKKEEPER):
            bk.assigned_clients.add(tenant.account)
    assert queries() == one_practice


# --- The client's Admin ends a practice's access ------------------------------------------------------


def test_confirm_page_says_what_ending_changes(practice_setup, tenant):
    practice, partner, bookkeeper = practice_setup
    before, log = _links(), _activity(tenant.account)
    r = client_for(tenant.admin).get(_end_url(tenant.account, practice))
    body = r.content.decode()
    assert r.status_code == 200
    assert f"End access for {escape(practice.name)}" in body
    assert partner.email in body and bookkeeper.email in body
    assert _links() == before and _activity(tenant.account) == log  # looking changes nothing


def test_admin_ends_a_practices_access(practice_setup, rival, tenant, other_tenant):
    practice, partner, bookkeeper = practice_setup
    bk_membership = bookkeeper.practice_memberships.get()
    bk_membership.assigned_clients.add(other_tenant.account)
    rival_practice, rival_partner, rival_bookkeeper = rival

    r = client_for(tenant.admin).post(_end_url(tenant.account, practice), follow=True)

    assert f"{escape(practice.name)} can no longer open {tenant.account.name}." in r.content.decode()
    assert not practice.clients.filter(pk=tenant.account.pk).exists()
    assert not bk_membership.assigned_clients.filter(pk=tenant.account.pk).exists()
    assert (
        "practice.access_ended",
        f"Ended access for {practice.name} (practice)",
        tenant.admin.pk,
    ) in _activity(tenant.account)
    # Its people are out: 404, and the account leaves their switcher.
    for user in (partner, bookkeeper):
        assert client_for(user).get(f"/a/{tenant.account.slug}/").status_code == 404
        assert tenant.account.slug not in {a.slug for a in switcher_accounts(user)}
    # The practice's link to the other tenant is untouched, and so is the rival practice.
    assert practice.clients.filter(pk=other_tenant.account.pk).exists()
    assert bk_membership.assigned_clients.filter(pk=other_tenant.account.pk).exists()
    for user in (partner, bookkeeper, rival_partner, rival_bookkeeper):
        assert client_for(user).get(f"/a/{other_tenant.account.slug}/").status_code == 200
    assert _activity(other_tenant.account) == []


def test_ending_access_keeps_a_direct_membership(practice_setup, tenant):
    """Practice staff whom the client also made direct users keep that (direct) access: the client
    removes them above, under Users, if it wants them out too. The confirm page says so."""
    practice, partner, _ = practice_setup
    MembershipFactory(account=tenant.account, user=partner, role=Role.STANDARD)
    body = client_for(tenant.admin).get(_end_url(tenant.account, practice)).content.decode()
    assert "keeps their own access as a user of" in body
    services.end_practice_access(account=tenant.account, acting_user=tenant.admin, practice_id=practice.pk)
    assert access_for(partner, tenant.account).kind == STANDARD


@pytest.mark.parametrize("who", ["staff", "partner", "bookkeeper", "rival_partner"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_only_a_direct_admin_may_end_access(who, method, practice_setup, rival, tenant, other_tenant):
    """A Standard user may not; nor may a practice user, for their own practice or a rival's (403 for
    both: they can see the practice listed, so it is no secret that it exists)."""
    practice, partner, bookkeeper = practice_setup
    rival_practice, rival_partner, _ = rival
    rival_practice.clients.add(tenant.account)
    user = {
        "staff": tenant.staff,
        "partner": partner,
        "bookkeeper": bookkeeper,
        "rival_partner": rival_partner,
    }[who]
    before, log = _links(), _activity(tenant.account)
    for target in (practice, rival_practice):
        r = getattr(client_for(user), method)(_end_url(tenant.account, target))
        assert r.status_code == 403
    assert _links() == before and _activity(tenant.account) == log


def test_the_service_refuses_a_practice_user(practice_setup, tenant):
    practice, partner, _ = practice_setup
    before = _links()
    with pytest.raises(DomainError, match="Only an Admin of") as exc:
        services.end_practice_access(account=tenant.account, acting_user=partner, practice_id=practice.pk)
    assert exc.value.code == "forbidden"
    assert _links() == before


def test_a_partner_who_is_also_a_direct_admin_may_end_it(practice_setup, tenant):
    """The client made them an Admin itself, so they act as the client."""
    practice, partner, _ = practice_setup
    MembershipFactory(account=tenant.account, user=partner, role=Role.ADMIN)
    client_for(partner).post(_end_url(tenant.account, practice))
    assert not practice.clients.filter(pk=tenant.account.pk).exists()


def test_forged_practice_ids_change_nothing(practice_setup, rival, tenant):
    practice, _, _ = practice_setup
    rival_practice, _, _ = rival  # real, but not a client of this account
    c = client_for(tenant.admin)
    before, log = _links(), _activity(tenant.account)
    for practice_id in (rival_practice.pk, 999999, 2**63, 2**64):
        url = f"/a/{tenant.account.slug}/settings/users/practices/{practice_id}/end/"
        assert c.get(url).status_code == 404
        r = c.post(url, follow=True)
        body = r.content.decode()
        assert f"That practice has no access to {tenant.account.name}." in body
        assert rival_practice.name not in body
    assert _links() == before and _activity(tenant.account) == log


def test_ending_twice_says_it_is_already_ended(practice_setup, tenant):
    practice, _, _ = practice_setup
    services.end_practice_access(account=tenant.account, acting_user=tenant.admin, practice_id=practice.pk)
    log = _activity(tenant.account)
    with pytest.raises(DomainError, match="That practice has no access to"):
        services.end_practice_access(
            account=tenant.account, acting_user=tenant.admin, practice_id=practice.pk
        )
    assert _activity(tenant.account) == log

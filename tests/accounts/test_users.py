"""Business settings > Users: invite, change role, remove; the owner and the last Admin are protected.
Invitations in detail: test_invitations.py."""

import pytest
from django_scopes import scopes_disabled

from accounts import services
from accounts.errors import DomainError
from accounts.models import ActivityEntry, Invitation, Membership, Role, User
from tests.conftest import client_for
from tests.factories import MembershipFactory


def _members(account):
    with scopes_disabled():
        return dict(Membership.objects.filter(account=account).values_list("user__email", "role"))


def _membership(account, user):
    with scopes_disabled():
        return Membership.objects.get(account=account, user=user)


def test_admin_invites_a_new_user_who_joins_only_by_accepting(tenant, other_tenant):
    c = client_for(tenant.admin)
    r = c.post(
        f"/a/{tenant.account.slug}/settings/users/",
        {"email": "New@Example.test", "role": "admin"},
        follow=True,
    )
    assert (
        f"We sent an invitation to new@example.test. They join {tenant.account.name} when they accept it."
        in r.content.decode()
    )
    assert "password" not in " ".join(str(m) for m in r.context["messages"]).lower()
    assert "new@example.test" not in _members(tenant.account)  # not until they accept
    assert not User.objects.filter(email="new@example.test").exists()
    with scopes_disabled():
        invitation = Invitation.objects.get(email="new@example.test")
        assert invitation.account == tenant.account and invitation.role == Role.ADMIN
        assert not Invitation.objects.filter(account=other_tenant.account).exists()
        assert ActivityEntry.objects.filter(account=tenant.account, action="user.invited").count() == 1
    assert "new@example.test" not in _members(other_tenant.account)


def test_adding_an_existing_member_again_is_refused(tenant):
    c = client_for(tenant.admin)
    r = c.post(f"/a/{tenant.account.slug}/settings/users/", {"email": tenant.staff.email, "role": "admin"})
    assert r.status_code == 200
    assert "is already a user of" in r.content.decode()
    assert _members(tenant.account)[tenant.staff.email] == Role.STANDARD


def test_standard_user_cannot_add_users(tenant):
    before = _members(tenant.account)
    r = client_for(tenant.staff).post(
        f"/a/{tenant.account.slug}/settings/users/", {"email": "x@example.test", "role": "admin"}
    )
    assert r.status_code == 403
    assert _members(tenant.account) == before
    assert not User.objects.filter(email="x@example.test").exists()
    with scopes_disabled():
        assert not Invitation.objects.exists()


def test_standard_user_sees_users_read_only(tenant):
    body = client_for(tenant.staff).get(f"/a/{tenant.account.slug}/settings/users/").content.decode()
    assert tenant.admin.email in body
    assert "Send invitation" not in body and "Remove" not in body
    assert "Only Admins can add, change or remove users." in body


def test_owner_cannot_be_removed_or_demoted(tenant):
    owner = _membership(tenant.account, tenant.admin)
    with pytest.raises(DomainError, match="owner"):
        services.remove_user(account=tenant.account, acting_user=tenant.admin, membership_id=owner.pk)
    with pytest.raises(DomainError, match="owner is always an Admin"):
        services.change_role(
            account=tenant.account, acting_user=tenant.admin, membership_id=owner.pk, role=Role.STANDARD
        )
    assert _membership(tenant.account, tenant.admin).role == Role.ADMIN


def test_last_admin_cannot_be_removed(tenant):
    # The owner is an Admin, so make a second account state where a non-owner is the only admin.
    account = tenant.account
    other_admin = MembershipFactory(account=account, role=Role.ADMIN)
    owner = _membership(account, tenant.admin)
    with scopes_disabled():
        Membership.objects.filter(pk=owner.pk).update(role=Role.STANDARD)  # legacy data
    with pytest.raises(DomainError, match="last Admin"):
        # The only Admin tries to remove themselves.
        services.remove_user(account=account, acting_user=other_admin.user, membership_id=other_admin.pk)
    assert _membership(account, other_admin.user).role == Role.ADMIN


def test_change_role_and_remove_through_the_page(tenant):
    c = client_for(tenant.admin)
    m = _membership(tenant.account, tenant.staff)
    r = c.post(f"/a/{tenant.account.slug}/settings/users/{m.pk}/role/", {"role": "admin"}, follow=True)
    assert "is now Admin" in r.content.decode()
    r = c.post(f"/a/{tenant.account.slug}/settings/users/{m.pk}/remove/", follow=True)
    assert f"{tenant.staff.email} can no longer open {tenant.account.name}." in r.content.decode()
    assert tenant.staff.email not in _members(tenant.account)


def test_membership_id_of_another_account_is_refused(tenant, other_tenant):
    foreign = _membership(other_tenant.account, other_tenant.staff)
    c = client_for(tenant.admin)
    r = c.post(f"/a/{tenant.account.slug}/settings/users/{foreign.pk}/remove/", follow=True)
    assert "That user is not part of this account." in r.content.decode()
    assert other_tenant.staff.email in _members(other_tenant.account)


def test_service_query_count(tenant, django_assert_max_num_queries):
    m = _membership(tenant.account, tenant.staff)
    with django_assert_max_num_queries(8):
        services.change_role(
            account=tenant.account, acting_user=tenant.admin, membership_id=m.pk, role=Role.ADMIN
        )

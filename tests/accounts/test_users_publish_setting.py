"""Business settings > Users: "Standard users may publish" (issue 10), off by default, changed by the
account's Admins only, with a confirmation and an activity-log entry. The other account never changes."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

from accounts import services
from accounts.errors import DomainError
from accounts.models import Account, ActivityEntry
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def setting(account) -> bool:
    return Account.objects.get(pk=account.pk).standard_users_may_publish


def log(account) -> list[tuple[str, str, str]]:
    with scopes_disabled():
        return list(
            ActivityEntry.objects.filter(account=account, action="account.standard_users_may_publish")
            .order_by("pk")
            .values_list("summary", "before", "after")
        )


def url(account) -> str:
    return f"/a/{account.slug}/settings/users/publishing/"


def messages_in(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_off_by_default_and_shown_on_the_users_page(tenant, other_tenant):
    assert setting(tenant.account) is False
    body = client_for(tenant.admin).get(f"/a/{tenant.account.slug}/settings/users/").content.decode()
    assert "Standard users may publish" in body
    assert 'name="standard_users_may_publish" value="1">' in body  # unticked
    staff_page = client_for(tenant.staff).get(f"/a/{tenant.account.slug}/settings/users/").content.decode()
    assert "Standard users may publish: <strong>Off</strong>. Only Admins can change this." in staff_page
    assert 'name="standard_users_may_publish"' not in staff_page


def test_an_admin_turns_it_on_and_off_with_a_confirmation_and_a_log_entry(tenant, other_tenant):
    admin = client_for(tenant.admin)
    response = admin.post(url(tenant.account), {"standard_users_may_publish": "1"}, follow=True)
    assert "Standard users may now publish items." in messages_in(response)
    assert setting(tenant.account) is True
    assert 'name="standard_users_may_publish" value="1" checked>' in response.content.decode()
    response = admin.post(url(tenant.account), {}, follow=True)  # unticked
    assert "Standard users may no longer publish items." in messages_in(response)
    assert setting(tenant.account) is False
    assert log(tenant.account) == [
        ("Turned Standard users may publish on", "Off", "On"),
        ("Turned Standard users may publish off", "On", "Off"),
    ]
    with scopes_disabled():
        entry = ActivityEntry.objects.filter(account=tenant.account).latest("pk")
    assert entry.actor == tenant.admin
    # Saving without a change says so and logs nothing.
    response = admin.post(url(tenant.account), {}, follow=True)
    assert "No change: Standard users may not publish items already." in messages_in(response)
    assert len(log(tenant.account)) == 2
    assert setting(other_tenant.account) is False and log(other_tenant.account) == []


def test_only_the_accounts_admins_may_change_it(tenant, other_tenant, practice_setup):
    _, partner, bookkeeper = practice_setup
    for user in (tenant.staff, partner, bookkeeper):
        assert (
            client_for(user).post(url(tenant.account), {"standard_users_may_publish": "1"}).status_code == 403
        )
    # Another account's Admin: that account does not exist for them.
    assert (
        client_for(other_tenant.admin)
        .post(url(tenant.account), {"standard_users_may_publish": "1"})
        .status_code
        == 404
    )
    assert setting(tenant.account) is False and log(tenant.account) == []
    with pytest.raises(DomainError, match="Only an Admin of"):
        services.set_standard_users_may_publish(
            account=tenant.account, acting_user=tenant.staff, allowed=True
        )
    assert setting(tenant.account) is False


def test_a_forged_value_or_a_get_changes_nothing(tenant, other_tenant):
    admin = client_for(tenant.admin)
    response = admin.post(url(tenant.account), {"standard_users_may_publish": "yes please"}, follow=True)
    assert "Tick “Standard users may publish” or leave it empty, then Save." in messages_in(response)
    assert admin.get(url(tenant.account)).status_code == 405
    assert setting(tenant.account) is False and log(tenant.account) == []


def test_the_setting_decides_whether_a_standard_user_may_publish(tenant, other_tenant):
    from accounts.permissions import access_for

    assert not access_for(tenant.staff, Account.objects.get(pk=tenant.account.pk)).can("items.publish")
    client_for(tenant.admin).post(url(tenant.account), {"standard_users_may_publish": "1"})
    assert access_for(tenant.staff, Account.objects.get(pk=tenant.account.pk)).can("items.publish")
    assert not access_for(other_tenant.staff, Account.objects.get(pk=other_tenant.account.pk)).can(
        "items.publish"
    )

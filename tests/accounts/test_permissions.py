"""The role matrix, checked on the server. The expectations are written out here, independently of
accounts/permissions.py, so a change to the map that grants too much fails a test."""

import pytest

from accounts.permissions import ADMIN, PERMISSIONS, PRACTICE, STANDARD, access_for, accessible_accounts
from tests.conftest import client_for
from tests.tenant_world import ids_for, populate, snapshot
from tests.urlwalk import fill, tenant_routes

EXPECTED = {
    # permission: (admin, standard user, practice user inside the client)
    "account.view": (True, True, True),
    "items.edit": (True, True, True),
    # Standard users only while the account's "Standard users may publish" is on (off by default).
    "items.publish": (True, False, True),
    "settings.view": (True, True, True),
    "users.manage": (True, False, False),  # direct users are the client's own decision
    "integrations.manage": (True, False, True),
    "rules.manage": (True, False, True),
    "activity.view": (True, False, True),
    # Only the client's own Admins decide which practices may open the account.
    "practices.manage": (True, False, False),
}


def test_the_matrix_is_complete():
    assert set(PERMISSIONS) == set(EXPECTED)


@pytest.mark.parametrize("permission", sorted(EXPECTED))
def test_role_matrix(permission, tenant, practice_setup):
    _, partner, bookkeeper = practice_setup
    admin, standard, practice = EXPECTED[permission]
    assert access_for(tenant.admin, tenant.account).can(permission) is admin
    assert access_for(tenant.staff, tenant.account).can(permission) is standard
    for user in (partner, bookkeeper):
        who = access_for(user, tenant.account)
        assert who.kind == PRACTICE and who.can(permission) is practice


def test_access_kinds(tenant, other_tenant):
    assert access_for(tenant.admin, tenant.account).kind == ADMIN
    assert access_for(tenant.staff, tenant.account).kind == STANDARD
    assert access_for(tenant.admin, other_tenant.account) is None


# What a Standard user gets on every tenant URL, written out by hand: (GET refused?, POST refused?).
# A URL name missing here fails the test, so every new page gets a decision.
STANDARD_USER_REFUSED: dict[str, tuple[bool, bool]] = {
    "accounts:account_home": (False, False),
    # The switcher's way into the same section of an account: its home where the section is refused.
    "accounts:switch_to": (False, False),
    "accounts:settings": (False, False),
    "accounts:users": (False, True),
    "accounts:user_change_role": (True, True),
    "accounts:user_remove": (True, True),
    "accounts:user_invitation_resend": (True, True),
    "accounts:user_invitation_cancel": (True, True),
    "accounts:activity": (True, True),
    "accounts:users_practice_end": (True, True),
    # "Standard users may publish": the account's Admins decide.
    "accounts:users_publishing": (True, True),
    "integrations:connections": (False, True),
    # QuickBooks Online's payment accounts: Standard users see the choices; only managers save them.
    "integrations:payment_accounts": (False, True),
    "integrations:defaults_preview": (True, True),
    "integrations:connect_choose": (True, True),
    "integrations:disconnect": (True, True),
    # A connection's lists: everyone who sees the page sees their state; only managers refresh them.
    "integrations:lists_status": (False, False),
    "integrations:lists_refresh": (True, True),
    "integrations:connect_start": (True, True),
    "integrations:choose_organisation": (True, True),
    "integrations:qwc_download": (True, True),
    "integrations:qbd_status": (True, True),
    "costs:inbox": (False, False),
    "costs:bulk_integration": (False, False),
    # Publishing is refused to Standard users unless the account allows it (off by default); anyone who
    # sees the inbox may watch a publish's progress.
    "costs:bulk_publish": (True, True),
    "costs:publish_progress": (False, False),
    "costs:item_detail": (False, False),
    # "Attach again" (costs/attachments.py): for those who may publish (Standard users: only where the
    # account lets them, off by default).
    "costs:attach_again": (True, True),
    "costs:sales_attach_again": (True, True),
    "costs:sales_inbox": (False, False),
    "costs:sales_item_detail": (False, False),
    # The item page's publishing actions: whether a Standard user may publish is the account's setting,
    # answered by the service with a message on the page (tests/costs/test_item_publish_page.py), not 403.
    "costs:item_publish": (False, False),
    "costs:item_retry": (False, False),
    "costs:item_cancel": (False, False),
    "costs:item_status": (False, False),
    "costs:item_approval": (False, False),
    "costs:sales_item_publish": (False, False),
    "costs:sales_item_retry": (False, False),
    "costs:sales_item_cancel": (False, False),
    "costs:sales_item_status": (False, False),
    "costs:rules": (False, True),
    "costs:rule_create": (True, True),
    "costs:rule_edit": (True, True),
    "costs:rule_delete": (True, True),
    # Lists: the item page's choices follow its Integration (GET only: a POST is 405, not refused); the
    # rule page's are for those who manage rules; the type-ahead searches serve every page (GET only).
    "costs:item_lists": (False, False),
    "costs:rule_lists_new": (True, True),
    "costs:rule_lists": (True, True),
    "costs:rule_link": (True, True),
    "costs:choose_suppliers": (False, False),
    "costs:choose_entries": (False, False),
    # Items in (issue 11): staff upload, read documents, use the values read from them, mark items Ready.
    "costs:upload": (False, False),
    "costs:sales_upload": (False, False),
    "costs:document": (False, False),
    "costs:document_page": (False, False),
    "costs:thumbnail": (False, False),
    "costs:item_prefill": (False, False),
    "costs:item_ready": (False, False),
    "costs:sales_document": (False, False),
    "costs:sales_document_page": (False, False),
    "costs:sales_thumbnail": (False, False),
    "costs:sales_item_prefill": (False, False),
    "costs:sales_item_ready": (False, False),
}


def test_every_tenant_url_has_a_standard_user_decision():
    names = {r.name for r in tenant_routes("account_slug")}
    assert names == set(STANDARD_USER_REFUSED), names ^ set(STANDARD_USER_REFUSED)


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("route", list(tenant_routes("account_slug")), ids=str)
def test_standard_user_matrix_on_every_url(route, method, tenant):
    """403 exactly where the hand-written map says, whatever the views declare; nothing changes."""
    world = populate(tenant)
    refused = STANDARD_USER_REFUSED[route.name][method == "post"]
    before = snapshot()
    response = getattr(client_for(tenant.staff), method)(
        fill(route, account_slug=tenant.account.slug, **ids_for(route, world))
    )
    if refused:
        assert response.status_code == 403, f"{route} {method}: {response.status_code}"
        assert snapshot() == before
    else:
        assert response.status_code != 403, f"{route} {method} refused a Standard user"


def test_a_refusal_keeps_the_account_in_the_page(tenant):
    r = client_for(tenant.staff).get(f"/a/{tenant.account.slug}/settings/activity/")
    assert r.status_code == 403
    body = r.content.decode()
    assert f"Back to {tenant.account.name}" in body and "Business settings" in body


@pytest.mark.parametrize("permission", sorted(EXPECTED))
def test_accessible_accounts_by_permission_agrees_with_the_matrix(
    permission, tenant, other_tenant, practice_setup
):
    """The SQL form (accounts where the user has a permission) answers as AccessFor.can does."""
    _, partner, bookkeeper = practice_setup
    for user in (tenant.admin, tenant.staff, other_tenant.admin, partner, bookkeeper):
        expected = {
            a.pk
            for a in (tenant.account, other_tenant.account)
            if (access := access_for(user, a)) is not None and access.can(permission)
        }
        assert set(accessible_accounts(user, permission).values_list("pk", flat=True)) == expected


def test_standard_users_may_publish_only_where_the_account_says_so(tenant, other_tenant, practice_setup):
    """The per-account setting turns "items.publish" on for that account's Standard users only; the
    SQL form follows it; every other permission and the other tenant are unchanged."""
    staff, other_staff = tenant.staff, other_tenant.staff
    other_tenant.account.standard_users_may_publish = True
    other_tenant.account.save()
    assert not access_for(staff, tenant.account).can("items.publish")
    assert tenant.account.pk not in set(
        accessible_accounts(staff, "items.publish").values_list("pk", flat=True)
    )
    tenant.account.standard_users_may_publish = True
    tenant.account.save()
    assert access_for(staff, tenant.account).can("items.publish")
    assert not access_for(staff, tenant.account).can("rules.manage")
    assert set(accessible_accounts(staff, "items.publish").values_list("pk", flat=True)) == {
        tenant.account.pk
    }
    assert set(accessible_accounts(other_staff, "items.publish").values_list("pk", flat=True)) == {
        other_tenant.account.pk
    }

"""The role matrix, checked on the server. The expectations are written out here, independently of
accounts/permissions.py, so a change to the map that grants too much fails a test."""

import pytest

from accounts.permissions import ADMIN, PERMISSIONS, PRACTICE, STANDARD, access_for
from tests.conftest import client_for
from tests.urlwalk import fill, tenant_routes

EXPECTED = {
    # permission: (admin, standard user, practice user inside the client)
    "account.view": (True, True, True),
    "items.edit": (True, True, True),
    "items.publish": (True, True, True),
    "settings.view": (True, True, True),
    "users.manage": (True, False, True),
    "integrations.manage": (True, False, True),
    "rules.manage": (True, False, True),
    "activity.view": (True, False, True),
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


def _needs(route, method: str) -> set[str]:
    view = route.callback
    target = getattr(view, "view_class", view)
    perms = {getattr(target, "account_permission", None) or view.account_permission}
    if method == "post":
        write = getattr(view, "account_write_permission", None) or getattr(
            target, "account_write_permission", None
        )
        perms.add(write)
    return {p for p in perms if p}


STANDARD_REFUSED = {p for p, (_, standard, _) in EXPECTED.items() if not standard}


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("route", list(tenant_routes("account_slug")), ids=str)
def test_standard_user_is_refused_what_the_matrix_refuses(route, method, tenant):
    """Every tenant URL whose declared permissions a Standard user lacks answers 403 to them."""
    needs = _needs(route, method)
    if not needs & STANDARD_REFUSED:
        return
    response = getattr(client_for(tenant.staff), method)(fill(route, account_slug=tenant.account.slug))
    assert response.status_code == 403, f"{route} {method} needs {needs}"

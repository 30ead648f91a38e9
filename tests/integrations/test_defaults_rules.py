"""services.set_defaults: only this account's live connections, the main stored as "main", every
real change logged from -> to."""

from __future__ import annotations

import pytest

from accounts.errors import DomainError
from accounts.models import ActivityEntry
from integrations import selectors, services
from integrations.models import IntegrationDefaults


@pytest.fixture
def acme(tenant, connect):
    return connect(tenant.account, "xero"), connect(tenant.account, "billcom")


@pytest.fixture
def other(other_tenant, connect):
    return connect(other_tenant.account, "xero"), connect(other_tenant.account, "billcom")


def _defaults() -> list[tuple]:
    return sorted(IntegrationDefaults.objects.values_list("account_id", "publishing_id", "expense_claims_id"))


def test_set_defaults_saves_both_and_logs_from_to(tenant, acme, other, django_assert_num_queries):
    xero, billcom = acme
    # savepoint, lock, live connections, get_or_create (select, savepoint, insert, release), save,
    # one activity row for the one change, release.
    with django_assert_num_queries(10):
        services.set_defaults(
            account=tenant.account,
            acting_user=tenant.admin,
            publishing_id=billcom.pk,
            expense_claims_id=xero.pk,
        )
    defaults = IntegrationDefaults.objects.get(account=tenant.account)
    # The main software is stored as "main" (None), so it keeps meaning the main one.
    assert (defaults.publishing_id, defaults.expense_claims_id) == (billcom.pk, None)
    assert selectors.effective_defaults(tenant.account) == (billcom, xero)
    entry = ActivityEntry.objects.get(account=tenant.account)
    assert (entry.action, entry.summary, entry.before, entry.after, entry.actor) == (
        "defaults.changed",
        "Changed the default publishing integration",
        "Xero",
        "Bill.com",
        tenant.admin,
    )
    assert not IntegrationDefaults.objects.filter(account=other[0].account).exists()


def test_saving_the_same_defaults_again_logs_nothing(tenant, acme):
    xero, billcom = acme
    for _ in range(2):
        services.set_defaults(
            account=tenant.account,
            acting_user=tenant.admin,
            publishing_id=xero.pk,
            expense_claims_id=billcom.pk,
        )
    assert ActivityEntry.objects.filter(account=tenant.account).count() == 1


@pytest.mark.parametrize("which", ["other_account", "disconnected", "pending"])
@pytest.mark.parametrize("field", ["publishing_id", "expense_claims_id"])
def test_set_defaults_refuses_a_connection_that_is_not_live_here(
    which, field, tenant, other_tenant, acme, other, connect, django_assert_num_queries
):
    xero, billcom = acme
    services.set_defaults(
        account=tenant.account,
        acting_user=tenant.admin,
        publishing_id=billcom.pk,
        expense_claims_id=billcom.pk,
    )
    bad = {
        "other_account": lambda: other[1],
        "disconnected": lambda: connect(tenant.account, "approvalmax", status="disconnected"),
        "pending": lambda: connect(tenant.account, "approvalmax", status="pending"),
    }[which]()
    before, activity = _defaults(), ActivityEntry.objects.count()
    values = {"publishing_id": xero.pk, "expense_claims_id": xero.pk, field: bad.pk}

    # savepoint, lock, live connections, rollback, release: refused before anything is written.
    with django_assert_num_queries(5), pytest.raises(DomainError) as refused:
        services.set_defaults(account=tenant.account, acting_user=tenant.admin, **values)

    assert refused.value.message == "Choose one of the connected integrations of this account."
    assert refused.value.code == "bad_default"
    assert _defaults() == before
    assert ActivityEntry.objects.count() == activity


def test_defaults_naming_a_connection_that_needs_reconnecting_still_apply(tenant, acme):
    xero, billcom = acme
    services.set_defaults(
        account=tenant.account, acting_user=tenant.admin, publishing_id=billcom.pk, expense_claims_id=None
    )
    services.mark_needs_reconnect(account=tenant.account, connection=billcom, reason="refresh token revoked")
    assert selectors.effective_defaults(tenant.account) == (billcom, xero)

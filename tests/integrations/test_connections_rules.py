"""Connect preconditions at the service level: a second main and an additional with no main are
refused with a message that says what to do, and no connection row is created or changed."""

from __future__ import annotations

import pytest

from accounts.errors import DomainError
from accounts.models import ActivityEntry
from integrations import catalog, services
from integrations.models import Connection


def _rows() -> list[tuple]:
    return sorted(Connection.objects.values_list("pk", "account_id", "provider", "status", "connected_by_id"))


def _activate(tenant, provider: str):
    return services.activate_connection(
        account=tenant.account,
        acting_user=tenant.admin,
        provider=provider,
        external_id=f"{provider}-org",
        external_name=f"{provider} organisation",
        credentials={"access_token": "t"},
    )


@pytest.mark.parametrize("service", ["begin_connection", "activate_connection"])
def test_second_main_is_refused(service, tenant, other_tenant, connect, django_assert_num_queries):
    connect(tenant.account, "xero")
    connect(other_tenant.account, "xero")
    before = _rows()

    # savepoint, lock the account, the provider's own live row, the main connection, rollback, release.
    with django_assert_num_queries(6), pytest.raises(DomainError) as refused:
        if service == "begin_connection":
            services.begin_connection(account=tenant.account, acting_user=tenant.admin, provider="qbo")
        else:
            _activate(tenant, "qbo")

    assert refused.value.message == (
        "Xero is already your main accounting software. Disconnect it first to connect QuickBooks Online."
    )
    assert refused.value.code == "second_main"
    assert _rows() == before
    assert not ActivityEntry.objects.exists()


@pytest.mark.parametrize("provider, label", [("billcom", "Bill.com"), ("approvalmax", "ApprovalMax")])
def test_additional_with_no_main_is_refused(provider, label, tenant, other_tenant, connect):
    # The other tenant's live Xero does not count for this account.
    connect(other_tenant.account, "xero")
    # Nor does this account's disconnected one.
    connect(tenant.account, "xero", status="disconnected")
    before = _rows()

    for call in (
        lambda: services.begin_connection(
            account=tenant.account, acting_user=tenant.admin, provider=provider
        ),
        lambda: _activate(tenant, provider),
    ):
        with pytest.raises(DomainError) as refused:
            call()
        assert refused.value.message == (
            f"Connect your main accounting software (Xero, QuickBooks Online or QuickBooks Desktop) first: "
            f"{label} works alongside it."
        )
        assert refused.value.code == "no_main"
    assert _rows() == before


def test_unknown_provider_and_already_connected_are_refused(tenant, connect):
    connect(tenant.account, "xero")
    before = _rows()
    with pytest.raises(DomainError, match="^That accounting software is not one we connect to.$"):
        services.begin_connection(account=tenant.account, acting_user=tenant.admin, provider="sage")
    with pytest.raises(DomainError, match="^Xero is already connected.$"):
        services.begin_connection(account=tenant.account, acting_user=tenant.admin, provider="xero")
    assert _rows() == before


def test_a_pending_quickbooks_desktop_becomes_active_in_its_row_and_is_logged(tenant, other_tenant):
    pending = services.begin_connection(account=tenant.account, acting_user=tenant.admin, provider="qbd")
    assert pending.status == "pending"

    active = _activate(tenant, "qbd")

    assert active.pk == pending.pk
    assert active.status == "active"
    assert active.connected_by == tenant.admin
    assert not Connection.objects.filter(account=other_tenant.account).exists()
    entry = ActivityEntry.objects.get(account=tenant.account)
    assert (entry.action, entry.summary, entry.before, entry.after) == (
        "integration.connected",
        "Connected QuickBooks Desktop (qbd organisation)",
        "Waiting to finish connecting",
        "Active",
    )


@pytest.mark.parametrize(
    "provider", [info.key for info in catalog.all_providers() if info.connect_kind != "web_connector"]
)
def test_only_quickbooks_desktop_keeps_a_pending_row(tenant, other_tenant, connect, provider):
    """OAuth flows and the Bill.com sign-in create their row only when they finish."""
    if not catalog.is_main(provider):
        connect(tenant.account, "xero")
    before = _rows()
    with pytest.raises(ValueError, match="has no pending step"):
        services.begin_connection(account=tenant.account, acting_user=tenant.admin, provider=provider)
    assert _rows() == before


def test_connecting_without_a_pending_step_logs_not_connected_to_active(tenant, connect):
    connect(tenant.account, "xero")
    _activate(tenant, "billcom")  # Bill.com's sign-in form activates directly, no pending row first
    entry = ActivityEntry.objects.get(account=tenant.account)
    assert (entry.summary, entry.before, entry.after) == (
        "Connected Bill.com (billcom organisation)",
        "Not connected",
        "Active",
    )


def test_a_main_needing_reconnect_can_be_reconnected_and_keeps_its_row(tenant, connect):
    xero = connect(tenant.account, "xero", status="needs_reconnect", options={"tenant": "t-1"})
    again = _activate(tenant, "xero")
    assert again.pk == xero.pk
    assert again.status == "active"
    assert again.options == {"tenant": "t-1"}
    assert ActivityEntry.objects.get(account=tenant.account).action == "integration.reconnected"

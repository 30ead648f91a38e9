"""The disconnect-order guard and disconnecting, at the service level: two tenants each, the exact
message, that nothing changed when refused, and how many queries the service runs."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from accounts.errors import DomainError
from accounts.models import ActivityEntry
from integrations import selectors, services
from integrations.models import Connection, IntegrationDefaults
from tests.factories import ConnectionFactory, SupplierFactory, SupplierRuleFactory


def _state() -> list[tuple]:
    """Every connection and defaults row of every account: what a refused call must leave as it was."""
    connections = sorted(
        Connection.objects.values_list(
            "pk", "account_id", "provider", "status", "credentials", "connected_at"
        )
    )
    defaults = sorted(
        IntegrationDefaults.objects.values_list("account_id", "publishing_id", "expense_claims_id")
    )
    return [connections, defaults]


@pytest.fixture
def both(tenant, other_tenant, connect):
    """Xero + Bill.com in both accounts, so every test has a second tenant whose rows must not move."""
    rows = {}
    for t in (tenant, other_tenant):
        rows[t.account.pk] = (connect(t.account, "xero"), connect(t.account, "billcom"))
    return rows


@pytest.mark.parametrize(
    "additional, message",
    [
        (["billcom"], "First disconnect Bill.com, then disconnect Xero."),
        (["approvalmax"], "First disconnect ApprovalMax, then disconnect Xero."),
        (["approvalmax", "billcom"], "First disconnect ApprovalMax and Bill.com, then disconnect Xero."),
    ],
)
def test_main_cannot_be_disconnected_while_an_additional_is_active(
    additional, message, tenant, other_tenant, connect, django_assert_num_queries
):
    xero = connect(tenant.account, "xero")
    for provider in additional:
        connect(tenant.account, provider)
    connect(other_tenant.account, "xero")
    before = _state()

    # savepoint, lock the account, the connection (locked), the items in flight to it (none), the
    # additionals, release; then the refusal's activity row, written after the transaction.
    with django_assert_num_queries(7), pytest.raises(DomainError) as refused:
        services.disconnect(account=tenant.account, acting_user=tenant.admin, connection_id=xero.pk)

    assert refused.value.message == message
    assert refused.value.code == "disconnect_order"
    assert _state() == before
    entry = ActivityEntry.objects.get(account=tenant.account)
    assert entry.action == "integration.disconnect_refused"
    assert entry.actor == tenant.admin
    assert entry.summary == f"Tried to disconnect Xero: {message}"
    assert not ActivityEntry.objects.filter(account=other_tenant.account).exists()


def test_an_additional_needing_a_reconnect_still_blocks_the_main(tenant, connect):
    xero = connect(tenant.account, "xero")
    connect(tenant.account, "billcom", status="needs_reconnect")
    before = _state()
    with pytest.raises(DomainError, match=r"^First disconnect Bill\.com, then disconnect Xero\.$"):
        services.disconnect(account=tenant.account, acting_user=tenant.admin, connection_id=xero.pk)
    assert _state() == before


def test_another_accounts_additional_does_not_block_this_main(tenant, other_tenant, connect):
    xero = connect(tenant.account, "xero")
    connect(other_tenant.account, "xero")
    other_billcom = connect(other_tenant.account, "billcom")

    services.disconnect(account=tenant.account, acting_user=tenant.admin, connection_id=xero.pk)

    xero.refresh_from_db()
    other_billcom.refresh_from_db()
    assert xero.status == "disconnected"
    assert other_billcom.status == "active"


def test_disconnect_additional_then_main_works(tenant, other_tenant, both, django_assert_num_queries):
    xero, billcom = both[tenant.account.pk]
    other_rows = _state()[0]
    other_rows = [r for r in other_rows if r[1] == other_tenant.account.pk]

    # savepoint, lock the account, lock the connection, the items in flight to it (none; the guard reads
    # nothing else for an additional), save it, read the defaults, the activity row, release.
    with django_assert_num_queries(8):
        services.disconnect(account=tenant.account, acting_user=tenant.admin, connection_id=billcom.pk)
    services.disconnect(account=tenant.account, acting_user=tenant.admin, connection_id=xero.pk)

    for conn in (xero, billcom):
        conn.refresh_from_db()
        assert conn.status == "disconnected"
        assert conn.credentials == {}
        assert conn.disconnected_by == tenant.admin
        assert conn.disconnected_at is not None
    assert [r for r in _state()[0] if r[1] == other_tenant.account.pk] == other_rows
    summaries = list(
        ActivityEntry.objects.filter(account=tenant.account).order_by("pk").values_list("action", "summary")
    )
    assert summaries == [
        ("integration.disconnected", f"Disconnected {billcom.named}"),
        ("integration.disconnected", f"Disconnected {xero.named}"),
    ]


def test_disconnecting_keeps_history_and_published_record(tenant, connect):
    billcom = connect(tenant.account, "billcom", options={"approver": "ap@acme.test"})
    connect(tenant.account, "xero")
    services.disconnect(account=tenant.account, acting_user=tenant.admin, connection_id=billcom.pk)
    # The row stays (its settings and the rules naming it survive), only its status changed.
    billcom.refresh_from_db()
    assert billcom.status == "disconnected"
    assert billcom.options == {"approver": "ap@acme.test"}


@pytest.mark.parametrize("whose", ["other_account", "disconnected"])
def test_disconnect_refuses_a_connection_that_is_not_connected_here(
    whose, tenant, other_tenant, both, django_assert_num_queries
):
    if whose == "other_account":
        target = both[other_tenant.account.pk][1]
    else:
        target = ConnectionFactory(account=tenant.account, provider="approvalmax", status="disconnected")
    before = _state()
    activity = ActivityEntry.objects.count()

    # savepoint, lock the account, look the connection up, rollback, release.
    with django_assert_num_queries(5), pytest.raises(DomainError) as refused:
        services.disconnect(account=tenant.account, acting_user=tenant.admin, connection_id=target.pk)

    assert refused.value.message == "That integration is not connected to this account."
    assert _state() == before
    assert ActivityEntry.objects.count() == activity


def test_defaults_fall_back_to_main_when_their_connection_is_disconnected(tenant, other_tenant, both):
    xero, billcom = both[tenant.account.pk]
    other_xero, other_billcom = both[other_tenant.account.pk]
    for t, conn in ((tenant, billcom), (other_tenant, other_billcom)):
        services.set_defaults(
            account=t.account, acting_user=t.admin, publishing_id=conn.pk, expense_claims_id=conn.pk
        )

    services.disconnect(account=tenant.account, acting_user=tenant.admin, connection_id=billcom.pk)

    defaults = IntegrationDefaults.objects.get(account=tenant.account)
    assert (defaults.publishing_id, defaults.expense_claims_id) == (None, None)
    assert selectors.effective_defaults(tenant.account) == (xero, xero)
    fallbacks = ActivityEntry.objects.filter(account=tenant.account, summary__contains="fell back")
    assert sorted(fallbacks.values_list("summary", "before", "after")) == [
        (
            "Default expense claims integration fell back to the main accounting software",
            "Bill.com",
            "Main accounting software",
        ),
        (
            "Default publishing integration fell back to the main accounting software",
            "Bill.com",
            "Main accounting software",
        ),
    ]
    # The other tenant's defaults still name its Bill.com.
    assert selectors.effective_defaults(other_tenant.account) == (other_billcom, other_billcom)


def test_reconnect_keeps_options_and_rules(tenant, connect):
    connect(tenant.account, "xero")
    billcom = connect(tenant.account, "billcom", options={"approver": "ap@acme.test"})
    rule = SupplierRuleFactory(supplier=SupplierFactory(account=tenant.account), integration=billcom)
    services.disconnect(account=tenant.account, acting_user=tenant.admin, connection_id=billcom.pk)

    again = services.activate_connection(
        account=tenant.account,
        acting_user=tenant.admin,
        provider="billcom",
        external_id="org-2",
        external_name="Acme AP",
        credentials={"session_id": "s"},
        options={"sync": "daily"},
    )

    assert again.pk == billcom.pk
    assert again.status == "active"
    assert again.options == {"approver": "ap@acme.test", "sync": "daily"}
    rule.refresh_from_db()
    assert rule.integration_id == billcom.pk
    assert Connection.objects.filter(account=tenant.account, provider="billcom").count() == 1
    latest = ActivityEntry.objects.filter(account=tenant.account).first()
    assert (latest.action, latest.summary) == ("integration.reconnected", "Reconnected Bill.com (Acme AP)")


def test_one_live_main_per_account_is_a_database_constraint(tenant, other_tenant, connect):
    connect(tenant.account, "xero")
    # Another account may have its own live main.
    connect(other_tenant.account, "qbo")
    # A disconnected main next to the live one is fine: history is kept.
    connect(tenant.account, "qbd", status="disconnected")
    with pytest.raises(IntegrityError), transaction.atomic():
        connect(tenant.account, "qbo")
    qbd = Connection.objects.get(account=tenant.account, provider="qbd")
    with pytest.raises(IntegrityError), transaction.atomic():
        # Bypassing the services: a raw update that would make a second live main.
        Connection.objects.filter(pk=qbd.pk).update(status="needs_reconnect")


def test_each_provider_once_per_account_is_a_database_constraint(tenant, other_tenant, connect):
    connect(tenant.account, "xero")
    connect(tenant.account, "billcom", status="disconnected")
    connect(other_tenant.account, "billcom", status="disconnected")
    with pytest.raises(IntegrityError), transaction.atomic():
        connect(tenant.account, "billcom")
    assert Connection.objects.filter(account=tenant.account, provider="billcom").count() == 1


def _reconnect_billcom(account, user) -> Connection:
    return services.activate_connection(
        account=account,
        acting_user=user,
        provider="billcom",
        external_id="00801ACMEDEMO01",
        external_name="Acme Ltd (Bill.com)",
        credentials={"session_id": "s"},
    )


def test_reconnecting_restores_the_defaults_that_fell_back(tenant, other_tenant, both):
    xero, billcom = both[tenant.account.pk]
    _, other_billcom = both[other_tenant.account.pk]
    services.set_defaults(
        account=tenant.account, acting_user=tenant.admin, publishing_id=None, expense_claims_id=billcom.pk
    )
    services.set_defaults(
        account=other_tenant.account,
        acting_user=other_tenant.admin,
        publishing_id=other_billcom.pk,
        expense_claims_id=None,
    )
    other_before = [r for r in _state()[0] if r[1] == other_tenant.account.pk]
    other_defaults = IntegrationDefaults.objects.get(account=other_tenant.account).expense_claims_id

    services.disconnect(account=tenant.account, acting_user=tenant.admin, connection_id=billcom.pk)
    billcom.refresh_from_db()
    assert billcom.options == {"was_default_for": ["expense_claims"]}
    assert selectors.effective_defaults(tenant.account) == (xero, xero)

    again = _reconnect_billcom(tenant.account, tenant.admin)

    assert again.options == {}  # remembered only until the restore
    defaults = IntegrationDefaults.objects.get(account=tenant.account)
    assert (defaults.publishing_id, defaults.expense_claims_id) == (None, billcom.pk)
    assert selectors.effective_defaults(tenant.account) == (xero, billcom)
    restored = ActivityEntry.objects.filter(account=tenant.account).first()
    assert (restored.action, restored.summary, restored.before, restored.after) == (
        "defaults.changed",
        "Default expense claims integration restored to Bill.com on reconnecting it",
        "Xero",
        "Bill.com",
    )
    # The other tenant: nothing moved.
    assert [r for r in _state()[0] if r[1] == other_tenant.account.pk] == other_before
    assert IntegrationDefaults.objects.get(account=other_tenant.account).expense_claims_id == other_defaults
    assert selectors.effective_defaults(other_tenant.account) == (
        other_billcom,
        both[other_tenant.account.pk][0],
    )


def test_reconnecting_keeps_a_default_chosen_since_the_disconnect(tenant, connect):
    connect(tenant.account, "xero")
    billcom = connect(tenant.account, "billcom")
    approvalmax = connect(tenant.account, "approvalmax")
    services.set_defaults(
        account=tenant.account,
        acting_user=tenant.admin,
        publishing_id=billcom.pk,
        expense_claims_id=billcom.pk,
    )
    services.disconnect(account=tenant.account, acting_user=tenant.admin, connection_id=billcom.pk)
    # Meanwhile the publishing default was pointed at ApprovalMax: that choice stands.
    services.set_defaults(
        account=tenant.account, acting_user=tenant.admin, publishing_id=approvalmax.pk, expense_claims_id=None
    )

    _reconnect_billcom(tenant.account, tenant.admin)

    defaults = IntegrationDefaults.objects.get(account=tenant.account)
    assert (defaults.publishing_id, defaults.expense_claims_id) == (approvalmax.pk, billcom.pk)
    assert list(
        ActivityEntry.objects.filter(account=tenant.account, summary__contains="restored").values_list(
            "summary", flat=True
        )
    ) == ["Default expense claims integration restored to Bill.com on reconnecting it"]


def test_reconnecting_without_a_remembered_default_changes_no_default(tenant, connect):
    connect(tenant.account, "xero")
    billcom = connect(tenant.account, "billcom")
    services.disconnect(account=tenant.account, acting_user=tenant.admin, connection_id=billcom.pk)
    _reconnect_billcom(tenant.account, tenant.admin)
    assert not IntegrationDefaults.objects.filter(account=tenant.account).exists()
    assert not ActivityEntry.objects.filter(account=tenant.account, action="defaults.changed").exists()

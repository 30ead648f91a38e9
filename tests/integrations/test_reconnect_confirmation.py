"""Reconnecting says, in the confirmation itself, which defaults came back and how many items that
moved (issue 12 §4), counted by the Connections page's own preview (costs/impact.py). Bill.com's real
sign-in form against the sandbox over HTTP; a second tenant's items and defaults never count."""

from __future__ import annotations

import pytest

from integrations import services
from integrations.models import IntegrationDefaults
from tests.conftest import client_for
from tests.factories import ItemFactory, SupplierFactory, SupplierRuleFactory
from tests.integrations.sandbox_helpers import (  # noqa: F401
    messages_of,
    sandbox,
    start_url,
)

pytestmark = pytest.mark.usefixtures("sandbox")

ACME = {
    "username": "accounts@acme.test",
    "password": "billcom-demo-2026",
    "organisation_id": "00801ACMEDEMO01",
}


def _connect_billcom(client, account):
    return client.post(start_url(account, "billcom"), ACME, follow=True)


def test_reconnecting_says_which_defaults_came_back_and_how_many_items_moved(tenant, other_tenant, connect):
    connect(tenant.account, "xero")
    client = client_for(tenant.admin)
    first = _connect_billcom(client, tenant.account)
    assert "Bill.com is connected – Acme Ltd (Bill.com)." in messages_of(first)
    billcom = services.live_connections(tenant.account).get(provider="billcom")
    services.set_defaults(
        account=tenant.account, acting_user=tenant.admin, publishing_id=billcom.pk, expense_claims_id=None
    )
    # Three bills follow the publishing default; a claim follows the other default; a ruled supplier's
    # bill and a published bill never move with a default.
    ItemFactory.create_batch(3, account=tenant.account)
    ItemFactory(account=tenant.account, type="expense_claim")
    ruled = SupplierFactory(account=tenant.account)
    SupplierRuleFactory(supplier=ruled, integration=billcom)
    ItemFactory(account=tenant.account, supplier=ruled)
    ItemFactory(account=tenant.account, status="published")
    # The other tenant: the same shape, never counted.
    connect(other_tenant.account, "xero")
    other_billcom = connect(other_tenant.account, "billcom")
    ItemFactory.create_batch(5, account=other_tenant.account)
    services.set_defaults(
        account=other_tenant.account,
        acting_user=other_tenant.admin,
        publishing_id=other_billcom.pk,
        expense_claims_id=None,
    )

    client.post(f"/a/{tenant.account.slug}/settings/connections/{billcom.pk}/disconnect/", follow=True)
    assert IntegrationDefaults.objects.get(account=tenant.account).publishing_id is None

    again = _connect_billcom(client, tenant.account)

    assert messages_of(again) == [
        "Bill.com is connected – Acme Ltd (Bill.com). The Default publishing integration is Bill.com "
        "again, as before it was disconnected. 3 unpublished items now publish to Bill.com."
    ]
    assert IntegrationDefaults.objects.get(account=tenant.account).publishing_id == billcom.pk
    assert IntegrationDefaults.objects.get(account=other_tenant.account).publishing_id == other_billcom.pk


def test_both_defaults_come_back_in_one_sentence(tenant, connect):
    connect(tenant.account, "xero")
    client = client_for(tenant.admin)
    _connect_billcom(client, tenant.account)
    billcom = services.live_connections(tenant.account).get(provider="billcom")
    services.set_defaults(
        account=tenant.account,
        acting_user=tenant.admin,
        publishing_id=billcom.pk,
        expense_claims_id=billcom.pk,
    )
    ItemFactory(account=tenant.account)
    ItemFactory(account=tenant.account, type="expense_claim")
    client.post(f"/a/{tenant.account.slug}/settings/connections/{billcom.pk}/disconnect/", follow=True)

    text = " ".join(messages_of(_connect_billcom(client, tenant.account)))

    assert (
        "The Default publishing integration and Default expense claims integration are Bill.com again, "
        "as before it was disconnected. 2 unpublished items now publish to Bill.com." in text
    )


def test_a_default_pointed_elsewhere_meanwhile_is_not_claimed_as_restored(tenant, connect):
    connect(tenant.account, "xero")
    approvalmax = connect(tenant.account, "approvalmax")
    client = client_for(tenant.admin)
    _connect_billcom(client, tenant.account)
    billcom = services.live_connections(tenant.account).get(provider="billcom")
    services.set_defaults(
        account=tenant.account, acting_user=tenant.admin, publishing_id=billcom.pk, expense_claims_id=None
    )
    ItemFactory(account=tenant.account)
    client.post(f"/a/{tenant.account.slug}/settings/connections/{billcom.pk}/disconnect/", follow=True)
    services.set_defaults(
        account=tenant.account, acting_user=tenant.admin, publishing_id=approvalmax.pk, expense_claims_id=None
    )

    said = messages_of(_connect_billcom(client, tenant.account))

    assert said == ["Bill.com is connected – Acme Ltd (Bill.com)."]
    assert IntegrationDefaults.objects.get(account=tenant.account).publishing_id == approvalmax.pk

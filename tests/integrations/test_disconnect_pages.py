"""Disconnect, through the pages: the confirmation says what changes (counted by costs/impact.py), the
guard's refusal replaces the confirm button, and every refusal leaves the database as it was."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import ActivityEntry
from integrations import services
from integrations.models import Connection, IntegrationDefaults
from tests.conftest import client_for
from tests.factories import ItemFactory, SupplierFactory, SupplierRuleFactory


def _url(account, connection_id: int) -> str:
    return reverse(
        "integrations:disconnect", kwargs={"account_slug": account.slug, "connection_id": connection_id}
    )


def _connections(account) -> str:
    return reverse("integrations:connections", kwargs={"account_slug": account.slug})


def _state() -> list:
    return [
        sorted(Connection.objects.values_list("pk", "status", "credentials")),
        sorted(IntegrationDefaults.objects.values_list("account_id", "publishing_id", "expense_claims_id")),
    ]


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _routed_to_billcom(tenant, connect):
    """Xero + Bill.com, and three unpublished items that go to Bill.com for three different reasons."""
    account = tenant.account
    xero, billcom = connect(account, "xero"), connect(account, "billcom")
    services.set_defaults(
        account=account, acting_user=tenant.admin, publishing_id=billcom.pk, expense_claims_id=None
    )
    ItemFactory(account=account, integration=billcom)  # set on the item
    rule = SupplierRuleFactory(
        supplier=SupplierFactory(account=account, name="Acme Supplies"), integration=billcom
    )
    ItemFactory(account=account, supplier=rule.supplier)  # supplier rule
    ItemFactory(account=account)  # default publishing integration
    ItemFactory(account=account, type="expense_claim")  # expense claims default: Xero, stays
    ItemFactory(account=account, status="published", published_to=billcom)  # frozen
    return xero, billcom


@pytest.fixture
def acme(tenant, connect):
    return _routed_to_billcom(tenant, connect)


@pytest.fixture
def other(other_tenant, connect):
    # The same set-up in the other tenant: none of it may be counted or touched.
    return _routed_to_billcom(other_tenant, connect)


def test_confirmation_says_what_the_disconnect_changes(tenant, acme, other):
    xero, billcom = acme
    response = client_for(tenant.admin).get(_url(tenant.account, billcom.pk))
    assert response.status_code == 200
    body = response.content.decode()
    assert "3 unpublished items" in body
    assert "3 from Bill.com to Xero" in body
    assert "Acme Supplies" in body
    assert "Default publishing integration falls back to Xero, your main accounting software." in body
    assert "Default expense claims integration falls back" not in body
    assert "Published items keep the record of where they were published." in body
    # It promises exactly what a reconnect does (services._restore_defaults).
    assert (
        "If you connect Bill.com again later, its settings and supplier rules are kept, and the default "
        "that falls back now goes back to Bill.com unless you have pointed it at another integration "
        "meanwhile." in body
    )
    assert "Disconnect Bill.com</button>" in body


def test_confirmation_shows_the_guards_refusal_and_no_confirm_button(tenant, acme, other):
    xero, _ = acme
    before = _state()
    response = client_for(tenant.admin).get(_url(tenant.account, xero.pk))
    body = response.content.decode()
    assert "First disconnect Bill.com, then disconnect Xero." in body
    assert "Disconnect Xero</button>" not in body
    assert f'action="{_url(tenant.account, xero.pk)}"' not in body
    assert _state() == before


def test_refused_disconnect_post_redirects_with_the_message_and_changes_nothing(tenant, acme, other):
    xero, _ = acme
    before = _state()
    response = client_for(tenant.admin).post(_url(tenant.account, xero.pk), follow=True)
    assert response.redirect_chain == [(_connections(tenant.account), 302)]
    assert _messages(response) == ["First disconnect Bill.com, then disconnect Xero."]
    assert _state() == before
    assert (
        ActivityEntry.objects.filter(account=tenant.account, action="integration.disconnect_refused").count()
        == 1
    )


def test_disconnect_billcom_then_xero_through_the_pages(tenant, acme, other):
    xero, billcom = acme
    other_before = [row for row in _state()[0] if row[0] in {c.pk for c in other}]
    admin = client_for(tenant.admin)

    response = admin.post(_url(tenant.account, billcom.pk), follow=True)
    assert _messages(response) == [
        "Bill.com is disconnected. Published items keep the record of where they were published."
    ]
    response = admin.get(_url(tenant.account, xero.pk))
    assert "Disconnect Xero</button>" in response.content.decode()
    response = admin.post(_url(tenant.account, xero.pk), follow=True)
    assert _messages(response) == [
        "Xero is disconnected. Published items keep the record of where they were published."
    ]

    assert set(Connection.objects.filter(account=tenant.account).values_list("status", flat=True)) == {
        "disconnected"
    }
    assert [row for row in _state()[0] if row[0] in {c.pk for c in other}] == other_before
    page = admin.get(_connections(tenant.account)).content.decode()
    assert "No accounting software is connected yet." in page


def test_another_accounts_connection_is_404_and_untouched(tenant, other_tenant, acme, other):
    _, other_billcom = other
    before = _state()
    admin = client_for(tenant.admin)
    assert admin.get(_url(tenant.account, other_billcom.pk)).status_code == 404
    response = admin.post(_url(tenant.account, other_billcom.pk), follow=True)
    assert _messages(response) == ["That integration is not connected to this account."]
    assert _state() == before


def test_a_disconnected_connection_says_it_is_not_connected(tenant, acme, connect):
    old = connect(tenant.account, "approvalmax", status="disconnected")
    before = _state()
    admin = client_for(tenant.admin)
    for method in ("get", "post"):
        response = getattr(admin, method)(_url(tenant.account, old.pk), follow=True)
        assert response.redirect_chain == [(_connections(tenant.account), 302)]
        assert _messages(response) == ["That integration is not connected to this account."]
    assert _state() == before


def test_standard_user_cannot_disconnect(tenant, acme):
    _, billcom = acme
    before, activity = _state(), ActivityEntry.objects.count()
    staff = client_for(tenant.staff)
    assert staff.get(_url(tenant.account, billcom.pk)).status_code == 403
    assert staff.post(_url(tenant.account, billcom.pk)).status_code == 403
    assert _state() == before
    assert ActivityEntry.objects.count() == activity


def test_bookkeeper_of_the_client_can_disconnect(tenant, acme, practice_setup):
    _, _, bookkeeper = practice_setup
    _, billcom = acme
    response = client_for(bookkeeper).post(_url(tenant.account, billcom.pk), follow=True)
    assert _messages(response)[0].startswith("Bill.com is disconnected.")
    entry = ActivityEntry.objects.filter(account=tenant.account, action="integration.disconnected").get()
    assert entry.actor == bookkeeper


def test_confirmation_for_the_main_says_items_will_wait(tenant, other_tenant, connect):
    xero = connect(tenant.account, "xero")
    ItemFactory(account=tenant.account)
    ItemFactory(account=tenant.account, status="published", published_to=xero)
    connect(other_tenant.account, "xero")
    ItemFactory(account=other_tenant.account)
    body = client_for(tenant.admin).get(_url(tenant.account, xero.pk)).content.decode()
    assert "1 unpublished item</strong> will have no accounting software to publish to" in body
    assert "1 from Xero to No accounting software" in body
    assert "Disconnect Xero</button>" in body


def test_refusal_offers_the_disconnects_to_do_first_of_this_account_only(tenant, acme, other):
    xero, billcom = acme
    _, other_billcom = other
    before = _state()
    body = client_for(tenant.admin).get(_url(tenant.account, xero.pk)).content.decode()
    assert (
        f'<a class="button danger" href="{_url(tenant.account, billcom.pk)}">Disconnect Bill.com</a>' in body
    )
    assert f"/{other_billcom.pk}/" not in body
    assert _state() == before


def test_connections_row_says_why_disconnect_is_unavailable_and_offers_the_first_one(tenant, acme, other):
    xero, billcom = acme
    _, other_billcom = other
    before = _state()
    body = client_for(tenant.admin).get(_connections(tenant.account)).content.decode()
    xero_row = next(row for row in body.split("<tr>") if 'data-label="Software" data-primary>Xero' in row)
    assert f'disabled aria-label="Disconnect Xero" aria-describedby="disconnect-why-{xero.pk}"' in xero_row
    assert (
        f'<p class="why" id="disconnect-why-{xero.pk}">First disconnect Bill.com, then disconnect Xero.</p>'
        in (xero_row)
    )
    assert f'action="{_url(tenant.account, billcom.pk)}"' in xero_row
    assert ">Disconnect Bill.com</button>" in xero_row
    assert f'action="{_url(tenant.account, xero.pk)}"' not in body
    assert f"/{other_billcom.pk}/" not in body
    # Bill.com's own row keeps its Disconnect, and nothing changed by looking.
    billcom_row = next(
        row for row in body.split("<tr>") if 'data-label="Software" data-primary>Bill.com' in row
    )
    assert f'action="{_url(tenant.account, billcom.pk)}"' in billcom_row and "disabled" not in billcom_row
    assert _state() == before


def test_staff_see_no_disconnects_at_all(tenant, acme):
    body = client_for(tenant.staff).get(_connections(tenant.account)).content.decode()
    assert "Disconnect" not in body

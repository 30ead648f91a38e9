"""Malformed and garbage ids from a request: never a 500; filters ignore them; a POST refuses them with a
clear message and changes nothing (two tenants, so a foreign row is always there to be touched)."""

from __future__ import annotations

import re

import pytest

from costs.ids import MAX_ID, parse_id
from costs.models import Item
from tests.costs.test_services import snapshot
from tests.costs.test_views import form_data, inbox_url, item_url, text
from tests.factories import ItemFactory, SupplierFactory

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999999"
MALFORMED = ["²", "١٢", "1.5", "-3", " 7", "0", HUGE, str(MAX_ID + 1)]
CHOOSE = "Choose one of the integrations connected to this account."
NOT_IN_INBOX = "Some of the selected items are not in this inbox any more. Nothing changed."


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12", 12), (str(MAX_ID), MAX_ID), (7, 7), ("", None), ("abc", None), (True, None), (None, None)]
    + [(bad, None) for bad in MALFORMED],
)
def test_parse_id_accepts_only_ascii_digits_within_bigint(value, expected):
    assert parse_id(value) == expected


@pytest.mark.parametrize("bad", MALFORMED)
@pytest.mark.parametrize("name", ["supplier", "integration"])
def test_inbox_filters_ignore_malformed_ids(acme, other, admin_client_, name, bad):
    ItemFactory(account=acme.account, reference="MINE-1")
    ItemFactory(account=other.account, reference="FOREIGN-1")
    response = admin_client_.get(inbox_url(acme.account), {name: bad})
    assert response.status_code == 200
    body = text(response)
    assert "MINE-1" in body and "FOREIGN-1" not in body
    assert "Clear filters" not in body  # the bad filter was dropped, not applied


@pytest.mark.parametrize("bad", MALFORMED)
def test_sales_inbox_ignores_a_malformed_customer(acme, other, admin_client_, bad):
    ItemFactory(account=acme.account, type="sales_invoice", reference="SI-1")
    response = admin_client_.get(f"/a/{acme.account.slug}/sales/", {"supplier": bad})
    assert response.status_code == 200 and "SI-1" in text(response)


@pytest.mark.parametrize("bad", MALFORMED)
def test_new_rule_page_ignores_a_malformed_supplier(acme, other, admin_client_, bad):
    SupplierFactory(account=acme.account, name="Acme Supplies")
    response = admin_client_.get(f"/a/{acme.account.slug}/rules/new/", {"supplier": bad})
    assert response.status_code == 200
    # Nothing chosen: the Supplier field is empty (a good id would show "Acme Supplies").
    assert '<input type="hidden" name="supplier" value="" data-choose-value>' in response.content.decode()


@pytest.mark.parametrize("bad", ["²", HUGE, "abc", "-1", "0"])
def test_bulk_action_refuses_malformed_item_ids(acme, other, admin_client_, bad):
    mine = ItemFactory(account=acme.account)
    ItemFactory(account=other.account)
    before = snapshot()
    response = admin_client_.post(
        f"/a/{acme.account.slug}/costs/integration/",
        {"items": [mine.pk, bad], "integration": acme.billcom.pk},
        follow=True,
    )
    assert response.status_code == 200
    assert NOT_IN_INBOX in text(response)
    assert snapshot() == before


@pytest.mark.parametrize("bad", ["abc", "²", HUGE, "-1", "0", " ", "none"])
def test_bulk_action_refuses_a_garbage_integration(acme, other, admin_client_, bad):
    items = ItemFactory.create_batch(2, account=acme.account, integration=acme.billcom)
    ItemFactory(account=other.account, integration=other.billcom)
    before = snapshot()
    response = admin_client_.post(
        f"/a/{acme.account.slug}/costs/integration/",
        {"items": [i.pk for i in items], "integration": bad},
        follow=True,
    )
    body = text(response)
    assert CHOOSE in body and "now use" not in body
    assert snapshot() == before


def test_bulk_action_empty_integration_still_means_use_rule_default(acme, other, admin_client_):
    items = ItemFactory.create_batch(2, account=acme.account, integration=acme.billcom)
    response = admin_client_.post(
        f"/a/{acme.account.slug}/costs/integration/",
        {"items": [i.pk for i in items], "integration": ""},
        follow=True,
    )
    assert "2 items now use rule/default." in text(response)
    assert set(Item.objects.filter(account=acme.account).values_list("integration_id", flat=True)) == {None}


@pytest.mark.parametrize("bad", ["abc", "²", HUGE, "-1", "0", "none"])
@pytest.mark.parametrize("kind", ["bill", "sales_invoice"])
def test_item_page_refuses_a_garbage_integration(acme, other, admin_client_, bad, kind):
    item = ItemFactory(account=acme.account, type=kind, integration=acme.billcom if kind == "bill" else None)
    ItemFactory(account=other.account)
    before = snapshot()
    response = admin_client_.post(
        item_url(item), form_data(item, integration=bad, reference="X"), follow=True
    )
    assert response.status_code == 200
    body = text(response)
    assert CHOOSE in body and "Saved." not in body
    assert snapshot() == before


@pytest.mark.parametrize("bad", ["abc", "²", HUGE, "-1", "none"])
def test_rule_form_refuses_a_garbage_integration(acme, other, admin_client_, bad):
    supplier = SupplierFactory(account=acme.account)
    before = snapshot()
    for confirm in ("", "1"):
        response = admin_client_.post(
            f"/a/{acme.account.slug}/rules/new/",
            {"supplier": supplier.pk, "integration": bad, "confirm": confirm},
        )
        assert response.status_code == 200
        assert CHOOSE in text(response)
    assert snapshot() == before


@pytest.mark.parametrize("path", ["costs/{}/", "sales/{}/", "rules/{}/", "rules/{}/delete/"])
def test_oversized_ids_in_the_address_are_404(acme, other, admin_client_, path):
    before = snapshot()
    url = f"/a/{acme.account.slug}/" + path.format(HUGE)
    assert admin_client_.get(url).status_code in (404, 405)
    assert admin_client_.post(url, {"confirm": "1"}).status_code == 404
    assert snapshot() == before


def test_the_integration_filter_ignores_another_accounts_connection(acme, other, admin_client_):
    ItemFactory(account=acme.account, reference="MINE-1")
    body = text(admin_client_.get(inbox_url(acme.account), {"integration": other.xero.pk}))
    assert re.search(r"No items match these filters", body)

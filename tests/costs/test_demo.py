"""The demo data the README promises, and that running `seed_demo` twice changes nothing."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from django.core.management import call_command

from costs.models import Item, Supplier
from integrations.models import Connection

pytestmark = pytest.mark.django_db


def _state():
    return sorted(
        Item.objects.values_list(
            "account__slug", "type", "status", "reference", "supplier__name", "published_to_id"
        )
    )


def test_seed_demo_gives_acme_its_items_and_is_idempotent(settings):
    settings.SANDBOX_ENABLED = True
    call_command("seed_demo", stdout=io.StringIO())
    first = _state()
    call_command("seed_demo", stdout=io.StringIO())
    assert _state() == first

    acme = Item.objects.filter(account__slug="acme")
    types = Counter(acme.values_list("type", flat=True))
    assert types["sales_invoice"] == 10
    assert types["expense_claim"] == 5
    assert 3 <= types["credit_note"] <= 5
    assert sum(n for t, n in types.items() if t != "sales_invoice") == 60
    assert (
        Supplier.objects.filter(account__slug="acme", items__type__in=["bill", "receipt"]).distinct().count()
        == 8
    )
    assert len(set(acme.values_list("status", flat=True))) >= 4
    assert set(acme.values_list("owner__email", flat=True)) == {"admin@acme.test", "staff@acme.test"}
    xero = Connection.objects.get(account__slug="acme", provider="xero")
    published = acme.filter(status="published")
    assert published.exists() and set(published.values_list("published_to", flat=True)) == {xero.pk}
    for slug in ("globex", "initech"):
        assert 2 <= Item.objects.filter(account__slug=slug).count() <= 10


def test_without_xero_nothing_is_marked_published(settings):
    settings.SANDBOX_ENABLED = False  # the integrations seed then connects nothing
    call_command("seed_demo", stdout=io.StringIO())
    assert Item.objects.filter(account__slug="acme").count() == 70
    assert not Item.objects.filter(status="published").exists()

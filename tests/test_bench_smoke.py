"""`make bench` must not rot: its dataset builder and a measurement run here at tiny size, on whichever
database the suite runs on. Nothing is timed: the figures come from `make bench` alone."""

from __future__ import annotations

import pytest
from django_scopes import scope, scopes_disabled

from costs.models import COST_TYPES, Item, Supplier, SupplierRule
from integrations.models import Connection
from tests.bench import dataset, measure

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    size = dataset.SIZES["tiny"]
    with scopes_disabled():
        dataset.build(size)
        yield dataset.world(size)


def test_the_dataset_has_the_shape_the_issue_asks_for(world):
    size = world.size
    with scopes_disabled():
        assert Item.objects.count() == size.items
        assert Item.objects.filter(account=world.big).count() == size.big_items
        assert Item.objects.values("account").distinct().count() == size.with_items
        assert Supplier.objects.filter(account=world.big).count() == size.suppliers
        assert SupplierRule.objects.filter(account=world.big).count() == size.rules
        assert world.partner.practice_memberships.get().practice.clients.count() == size.accounts
        assert set(Connection.objects.filter(account=world.big).values_list("provider", flat=True)) == {
            "xero",
            "billcom",
        }
        assert Item.objects.filter(account=world.big, integration__isnull=False).exists()
        assert world.rule.integration == world.billcom and world.item.supplier == world.supplier


def test_a_measurement_runs_and_the_floor_fetches_the_pages_rows(world):
    browser = measure.Browser(world.partner)
    figure = measure.measure("inbox", browser.get(measure.inbox_url(world)), repeat=1)
    assert len(figure.samples) == 1 and figure.queries > 0
    assert measure.item_queries(figure)  # the plans section has the page's own queries to explain
    # The floor's hand-written query returns the very rows of the inbox's first page, in order.
    with scope(account=world.big):
        page = list(
            Item.objects.filter(account=world.big, type__in=COST_TYPES)
            .exclude(status="archived")
            .order_by("-date", "-id")
            .values_list("pk", flat=True)[: measure.PER_PAGE]
        )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(measure.floor_sql(world))
        assert [row[0] for row in cursor.fetchall()] == page
    # Every page of the benchmark answers (a deep page's cursor, the switcher, the previews).
    for spec in measure.pages(world):
        browser.get(spec.url, htmx=spec.htmx)()


def test_the_lists_section_runs(world, monkeypatch):
    """The lists' pages and searches (tests/bench/lists.py) answer on the bench's data, at tiny size."""
    from tests.bench import lists

    monkeypatch.setattr(lists, "ACCOUNTS", 30)
    monkeypatch.setattr(lists, "SUPPLIERS", 60)
    monkeypatch.setattr(lists, "REPEAT", 2)
    browser = measure.Browser(world.partner)
    with scopes_disabled():
        rows = lists.measure(browser.client, world.big)
    assert len(rows) == 12 and all(row.startswith("| ") and row.count("|") == 6 for row in rows)
    name, text = lists.section("sqlite", rows, "machine")
    assert name.startswith("Lists:") and rows[0] in text

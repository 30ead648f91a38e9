"""The demo data the README promises, and that running `seed_demo` twice changes nothing."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from django.core.management import call_command

from costs.demo import ACME_SUPPLIERS
from costs.models import Item, Supplier, SupplierLink
from integrations.models import Connection, ListEntry, ListSync

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


# Real commits: the connect's read is enqueued (or not) when the seed's transaction commits.
@pytest.mark.django_db(transaction=True)
def test_acme_xero_lists_are_seeded_as_the_sandbox_answers_and_the_items_use_them(settings):
    from django_tasks_db.models import DBTaskResult

    from sandbox.models import SandboxListEntry

    settings.SANDBOX_ENABLED = True
    call_command("seed_demo", stdout=io.StringIO())
    xero = Connection.objects.get(account__slug="acme", provider="xero")

    # The same entries the sandbox organisation answers with: ids, codes and names (the contract a later
    # read relies on to land on the same rows).
    seeded = set(ListEntry.objects.filter(connection=xero).values_list("kind", "external_id", "code", "name"))
    sandbox = set(
        SandboxListEntry.objects.filter(provider="xero", org_id=xero.external_id).values_list(
            "kind", "entry_id", "code", "name"
        )
    )
    assert seeded == sandbox and len(seeded) > 80
    assert ListEntry.objects.get(connection=xero, kind="account", code="429").name == "General Expenses"
    rate = ListEntry.objects.get(connection=xero, kind="tax_rate", code="INPUT2")
    assert (rate.name, rate.rate, rate.for_costs, rate.for_sales) == (
        "20% (VAT on Expenses)",
        20,
        True,
        False,
    )
    sync = ListSync.objects.get(connection=xero)
    assert (sync.state, sync.cursors, sync.message) == ("done", {}, "")
    assert sync.last_success_at is not None
    # The connect asked for a read, but at the commit the lists were seeded as read: none is enqueued.
    assert not DBTaskResult.objects.filter(task_path="integrations.tasks.sync_lists").exists()

    # Every open item's Category and Tax rate is an entry of that chart, its text kept beside it.
    acme = Item.objects.filter(account__slug="acme")
    open_items = acme.filter(status__in=["to_review", "ready", "failed"])
    assert open_items.count() > 30
    assert not open_items.filter(category_entry__isnull=True).exists()
    assert not open_items.filter(tax_rate_entry__isnull=True).exists()
    for item in open_items.select_related("category_entry", "tax_rate_entry"):
        assert item.category_entry.connection_id == xero.pk and item.category_entry.name == item.category
        assert item.tax_rate_entry.name == item.tax_rate
    assert {
        i.category_entry.code
        for i in open_items.filter(type="sales_invoice").select_related("category_entry")
    } == {"200"}
    # Published and publishing items are not changed.
    assert not acme.filter(status__in=["published", "publishing"], category_entry__isnull=False).exists()
    assert set(acme.values_list("category", flat=True)) == {c for _, c, _ in ACME_SUPPLIERS} | {"Sales"}

    # The suppliers are linked to the sandbox organisation's contacts ("Northwind Traders Ltd" by
    # normalised name); the customers, not Xero suppliers there, are not.
    links = dict(SupplierLink.objects.filter(connection=xero).values_list("supplier__name", "entry__name"))
    assert links == {
        name: {"Northwind Traders": "Northwind Traders Ltd", "Litware Software": "Litware Software Ltd"}.get(
            name, name
        )
        for name, _, _ in ACME_SUPPLIERS
    }
    assert SupplierLink.objects.get(supplier__name="Northwind Traders").matched_by == "normalised"
    # Globex and Initech have nothing connected: their text stays as it is, unmatched.
    assert not Item.objects.exclude(account__slug="acme").filter(category_entry__isnull=False).exists()


def test_the_demo_gives_some_items_a_document_with_a_thumbnail_once(settings):
    from costs.models import Document

    settings.SANDBOX_ENABLED = True
    call_command("seed_demo", stdout=io.StringIO())
    documents = list(Document.objects.filter(account__slug="acme").select_related("item"))
    assert len(documents) == 8
    assert {d.item.type for d in documents} == {
        "bill",
        "receipt",
        "credit_note",
        "expense_claim",
        "sales_invoice",
    }
    assert all(d.thumbnail and d.file.storage.exists(d.file.name) for d in documents)
    assert any(d.pages == 2 for d in documents) and any(d.content_type == "image/jpeg" for d in documents)
    call_command("seed_demo", stdout=io.StringIO())
    assert Document.objects.filter(account__slug="acme").count() == 8

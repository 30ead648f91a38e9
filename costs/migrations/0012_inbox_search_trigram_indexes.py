"""The inbox's text search (costs/selectors.search_condition) compares with `icontains`: on PostgreSQL
UPPER(column) LIKE UPPER('%…%'). Trigram indexes (pg_trgm) on UPPER(costs_item.reference) and
UPPER(costs_supplier.name) answer that without reading every item of a large client.

PostgreSQL only, like accounts 0004 (the switcher's index): SQLite has no pg_trgm, and there the
operation does nothing. Django cannot declare an expression index with an operator class portably, so
the migration owns the indexes (pg_trgm is a trusted extension: the database's owner may create it)."""

from django.db import migrations

INDEXES = {
    "item_reference_trgm_idx": "costs_item USING gin (UPPER(reference) gin_trgm_ops)",
    "supplier_name_trgm_idx": "costs_supplier USING gin (UPPER(name) gin_trgm_ops)",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, definition in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("costs", "0011_publish_batches"), ("accounts", "0004_account_name_trigram_index")]

    operations = [migrations.RunPython(create, drop, elidable=False)]

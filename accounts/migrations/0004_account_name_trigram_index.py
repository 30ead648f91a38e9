"""The switcher searches account names with `icontains` (UPPER(name) LIKE UPPER('%…%') on PostgreSQL):
a trigram index (pg_trgm) answers that among thousands of clients without reading them all.

PostgreSQL only: SQLite has no pg_trgm, and there the operation does nothing. The index is not in the
model's Meta because Django cannot declare an expression index with an operator class portably; the
migration owns it (pg_trgm is a trusted extension: the database's owner may create it)."""

from django.db import migrations

INDEX = "account_name_trgm_idx"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON accounts_account USING gin (UPPER(name) gin_trgm_ops)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_lower_case_logins")]

    operations = [migrations.RunPython(create, drop, elidable=False)]

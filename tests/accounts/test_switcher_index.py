"""The switcher's search among thousands of clients has a trigram index on PostgreSQL (the migration
creates pg_trgm's GIN index on UPPER(name), what `icontains` compares), and the migration does nothing
on SQLite, which has no pg_trgm."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_account_names_have_a_trigram_index_on_postgresql_only():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'account_name_trgm_idx'")
            definition = cursor.fetchone()[0]
            assert "gin" in definition and "gin_trgm_ops" in definition and "upper" in definition.lower()
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE name = 'account_name_trgm_idx'")
            assert cursor.fetchone() is None

import pytest


@pytest.fixture(autouse=True)
def _unscoped_test_bodies(unscoped_test_body):
    """Test bodies build data across tenants; the code under test still runs scoped (tests/scoping.py)."""

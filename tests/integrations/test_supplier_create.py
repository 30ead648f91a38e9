"""A supplier the accounting software does not have yet is created there once (costs.linking.supplier_in,
what publishing calls before a supplier's first bill), against the sandbox over HTTP: under the
idempotency key kept on the link, so a retry after a lost answer finds the contact the first attempt
made instead of making a second one."""

from __future__ import annotations

import pytest

from accounts.errors import DomainError
from costs.linking import supplier_in
from costs.models import Supplier, SupplierLink, SupplierMatch
from integrations.models import ListEntry
from integrations.provider_calls import caller_for
from integrations.providers.xero import Xero
from sandbox.models import SandboxListEntry
from tests.integrations.sandbox_helpers import XERO_ACME, sandbox  # noqa: F401  (fixture)
from tests.integrations.test_lists_xero import (  # noqa: F401  (fixture: other_tenant_lists_untouched)
    other_tenant_lists_untouched,
    read,
    xero_connection,
)

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_lists_untouched")


def in_xero(conn, name: str):
    return SandboxListEntry.objects.filter(
        provider="xero", org_id=conn.external_id, kind="supplier", name=name
    )


def test_a_supplier_xero_lacks_is_created_once_and_linked(tenant, connect):
    conn = xero_connection(connect, tenant.account, XERO_ACME)
    read(conn)
    supplier = Supplier.objects.create(account=tenant.account, name="Brand New Joinery Ltd")
    link = supplier_in(account=tenant.account, supplier=supplier, connection=conn)
    [made] = in_xero(conn, "Brand New Joinery Ltd")
    assert link.matched_by == SupplierMatch.CREATED and link.create_key
    assert link.entry.external_id == made.entry_id and link.entry.connection == conn
    again = supplier_in(account=tenant.account, supplier=supplier, connection=conn)
    assert again.pk == link.pk and again.entry_id == link.entry_id
    assert in_xero(conn, "Brand New Joinery Ltd").count() == 1


def test_a_retry_after_a_lost_answer_makes_no_second_contact(tenant, connect):
    conn = xero_connection(connect, tenant.account, XERO_ACME)
    supplier = Supplier.objects.create(account=tenant.account, name="Lost Answer Plumbing")
    # The first attempt: its key kept, the create reached Xero, and the answer never came back.
    SupplierLink.objects.create(account=tenant.account, supplier=supplier, connection=conn, create_key="k-1")
    Xero().create_supplier(caller_for(conn), organisation=conn.external_id, name=supplier.name, key="k-1")
    link = supplier_in(account=tenant.account, supplier=supplier, connection=conn)
    [made] = in_xero(conn, "Lost Answer Plumbing")
    assert link.entry.external_id == made.entry_id and link.create_key == "k-1"


def test_a_supplier_already_in_the_lists_is_linked_without_a_create(tenant, connect):
    conn = xero_connection(connect, tenant.account, XERO_ACME)
    read(conn)
    supplier = Supplier.objects.create(account=tenant.account, name="british gas")
    before = in_xero(conn, "British Gas").count()
    link = supplier_in(account=tenant.account, supplier=supplier, connection=conn)
    assert link.matched_by == SupplierMatch.EXACT and link.entry.name == "British Gas"
    assert in_xero(conn, "British Gas").count() == before and not link.create_key


def test_software_that_cannot_create_a_supplier_here_is_refused(tenant, connect):
    qbd = connect(tenant.account, "qbd")
    supplier = Supplier.objects.create(account=tenant.account, name="Anyone")
    with pytest.raises(DomainError, match="cannot have suppliers created"):
        supplier_in(account=tenant.account, supplier=supplier, connection=qbd)
    assert not SupplierLink.objects.filter(supplier=supplier).exists()
    assert not ListEntry.objects.filter(connection=qbd).exists()

"""Xero's lists read through our adapter, against the sandbox over real HTTP: the chart of accounts
(GET Accounts, If-Modified-Since), VAT rates (GET TaxRates, read in full), contacts (GET Contacts,
paged, archived included, If-Modified-Since), and suppliers created with PUT Contacts under an
Idempotency-Key. Sources: docs/providers.md, "Provider calls and their documentation"."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.utils import timezone

from integrations import lists
from integrations.models import Connection, ListEntry, ListSync, ListSyncState
from integrations.provider_calls import caller_for
from integrations.providers import ProviderError, ProviderRefused, RateLimited
from integrations.providers.xero import Xero
from sandbox import data
from sandbox.listdata import SEEDED_AT, ensure_lists
from sandbox.models import RequestLogEntry, SandboxListEntry
from tests.integrations.sandbox_helpers import (  # noqa: F401  (fixture: sandbox)
    XERO_ACME,
    XERO_GLOBEX,
    a_consent,
    exchanged,
    org_ids,
    provider_relaying,
    sandbox,
    snapshot,
    xero_connection,
)

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_lists_untouched")

KINDS = ("account", "tax_rate", "supplier")
FIRST_CURSOR = SEEDED_AT.isoformat()  # the seeded lists' UpdatedDateUTC, to the second


def read(conn: Connection) -> ListSync:
    lists.request_sync(account=conn.account, connection=conn)  # as Refresh lists does
    row = lists.run_sync(account=conn.account, connection_id=conn.pk)
    assert row is not None
    return row


def stored(conn: Connection, kind: str) -> set[tuple[str, str, str]]:
    return set(
        ListEntry.objects.filter(connection=conn, kind=kind).values_list("external_id", "code", "name")
    )


def in_sandbox(org_id: str, kind: str) -> set[tuple[str, str, str]]:
    return set(
        SandboxListEntry.objects.filter(provider="xero", org_id=org_id, kind=kind).values_list(
            "entry_id", "code", "name"
        )
    )


def rows_of(conn: Connection, kind: str) -> dict[str, tuple]:
    """Everything about a kind's entries that a read could change, by external id."""
    return {
        r[0]: r[1:]
        for r in ListEntry.objects.filter(connection=conn, kind=kind).values_list(
            "external_id",
            "code",
            "name",
            "active",
            "detail",
            "for_costs",
            "for_sales",
            "changed_at",
            "seen_at",
        )
    }


def sandbox_entry(org_id: str, kind: str, name: str) -> SandboxListEntry:
    return SandboxListEntry.objects.get(provider="xero", org_id=org_id, kind=kind, name=name)


def change(entry: SandboxListEntry, **fields) -> None:
    """Change an entry in the sandbox the way Xero would: its UpdatedDateUTC moves on."""
    for name, value in fields.items():
        setattr(entry, name, value)
    entry.updated_at = timezone.now()
    entry.save()


def contact_log(org_id: str) -> list[str]:
    """What the sandbox's GET Contacts answered for the organisation, oldest first."""
    return list(
        RequestLogEntry.objects.filter(
            path__endswith="/api.xro/2.0/Contacts", method="GET", orgs__org_id=org_id
        )
        .order_by("id")
        .values_list("summary", flat=True)
    )


def add_contacts(org_id: str, count: int) -> None:
    ensure_lists("xero", org_id)
    SandboxListEntry.objects.bulk_create(
        SandboxListEntry(
            provider="xero",
            org_id=org_id,
            kind="supplier",
            entry_id=f"00000000-0000-4000-8000-{n:012d}",
            name=f"Paging Supplier {n:03d}",
            data={"IsSupplier": True},
            updated_at=SEEDED_AT,
        )
        for n in range(count)
    )


@pytest.fixture
def other_tenant_lists_untouched(other_tenant, connect):
    """The other tenant has its own Xero connection (Globex) with lists read from the sandbox; nothing
    a test does to this tenant's lists may change its connections, entries or sync state."""
    conn = xero_connection(connect, other_tenant.account, XERO_GLOBEX)
    assert read(conn).state == ListSyncState.DONE

    def state():
        return (
            snapshot(other_tenant.account),
            {kind: rows_of(conn, kind) for kind in KINDS},
            list(ListSync.objects.filter(account=other_tenant.account).values()),
        )

    before = state()
    assert all(before[1].values())
    yield conn
    assert state() == before, "the other tenant's lists or their sync changed"


# --- full read ---------------------------------------------------------------------------------------


def test_a_full_read_stores_the_uk_chart_vat_rates_and_contacts_with_the_sandboxs_ids(tenant, connect):
    conn = xero_connection(connect, tenant.account)
    org = conn.external_id

    row = read(conn)

    assert (row.state, row.message) == (ListSyncState.DONE, "")
    for kind in KINDS:
        assert stored(conn, kind) == in_sandbox(org, kind), kind
    assert len(stored(conn, "account")) == 41 and len(stored(conn, "tax_rate")) == 11
    entries = {e.code or e.name: e for e in ListEntry.objects.filter(connection=conn)}
    general = entries["429"]
    assert (general.detail, general.for_costs, general.for_sales, general.active) == (
        "Overhead",
        True,
        False,
        True,
    )
    assert general.changed_at == SEEDED_AT
    assert (entries["200"].detail, entries["200"].for_costs, entries["200"].for_sales) == (
        "Revenue",
        False,
        True,
    )
    assert (entries["720"].detail, entries["720"].for_costs) == ("Fixed asset", True)  # equipment on a bill
    assert (entries["800"].for_costs, entries["800"].for_sales) == (False, False)  # Accounts Payable
    vat = entries["INPUT2"]
    assert (vat.name, vat.rate, vat.detail, vat.for_costs, vat.for_sales) == (
        "20% (VAT on Expenses)",
        Decimal("20.0000"),
        "20%",
        True,
        False,
    )
    assert (entries["NONE"].for_costs, entries["NONE"].for_sales) == (True, True)
    # Every contact is kept (IsSupplier is only set once a bill exists), the demo's own among them.
    assert entries["Acme Supplies"].kind == "supplier" and entries["Acme Supplies"].active
    assert row.cursors == {"account": FIRST_CURSOR, "tax_rate": "", "supplier": FIRST_CURSOR}
    # What the sandbox received: no If-Modified-Since on a first read; contacts paged, archived included.
    [accounts_call] = RequestLogEntry.objects.filter(path__endswith="/Accounts", orgs__org_id=org)
    assert accounts_call.summary == "41 account(s)"
    assert contact_log(conn.external_id) == [
        "40 contact(s) [page=1 pageSize=100, includeArchived, summaryOnly]"
    ]


def test_contacts_are_read_page_by_page(tenant, connect):
    conn = xero_connection(connect, tenant.account)
    add_contacts(conn.external_id, 250)

    row = read(conn)

    assert row.state == ListSyncState.DONE
    assert stored(conn, "supplier") == in_sandbox(conn.external_id, "supplier")
    assert len(stored(conn, "supplier")) == 290
    assert [s.split(" [")[1].split(",")[0] for s in contact_log(conn.external_id)] == [
        "page=1 pageSize=100",
        "page=2 pageSize=100",
        "page=3 pageSize=100",
    ]
    assert [s.split(" ")[0] for s in contact_log(conn.external_id)] == ["100", "100", "90"]
    assert row.progress["supplier"] == {"read": 290, "done": True}


# --- incremental ---------------------------------------------------------------------------------


def test_an_incremental_read_returns_only_what_changed(tenant, connect):
    conn = xero_connection(connect, tenant.account)
    org = conn.external_id
    read(conn)
    before = {kind: rows_of(conn, kind) for kind in ("account", "supplier")}
    general = sandbox_entry(org, "account", "General Expenses")
    gas = sandbox_entry(org, "supplier", "British Gas")
    bt = sandbox_entry(org, "supplier", "BT Business")
    change(general, status="ARCHIVED")
    change(gas, status="ARCHIVED")
    change(bt, name="BT Business Ltd")
    RequestLogEntry.objects.all().delete()

    row = read(conn)

    assert row.state == ListSyncState.DONE
    [accounts_call] = RequestLogEntry.objects.filter(path__endswith="/Accounts", orgs__org_id=org)
    assert accounts_call.summary == f"1 account(s), If-Modified-Since {FIRST_CURSOR}"
    assert contact_log(conn.external_id) == [
        f"2 contact(s) [page=1 pageSize=100, includeArchived, summaryOnly], If-Modified-Since {FIRST_CURSOR}"
    ]
    after = {kind: rows_of(conn, kind) for kind in ("account", "supplier")}
    # The archived ones are still there, inactive; the renamed one has its new name.
    assert after["account"][general.entry_id][:3] == ("429", "General Expenses", False)
    assert after["supplier"][gas.entry_id][:3] == ("", "British Gas", False)
    assert after["supplier"][bt.entry_id][:3] == ("", "BT Business Ltd", True)
    assert ListEntry.objects.get(connection=conn, external_id=bt.entry_id).match_name == "bt business"
    # Everything else is exactly as the first read left it (not even seen again).
    changed = {general.entry_id, gas.entry_id, bt.entry_id}
    for kind in ("account", "supplier"):
        assert {k: v for k, v in after[kind].items() if k not in changed} == {
            k: v for k, v in before[kind].items() if k not in changed
        }
    newest = max(general.updated_at, gas.updated_at, bt.updated_at).replace(microsecond=0)
    assert row.cursors["account"] == general.updated_at.replace(microsecond=0).isoformat()
    assert row.cursors["supplier"] == newest.isoformat()
    # Tax rates have no If-Modified-Since: read in full again.
    assert (
        RequestLogEntry.objects.get(path__endswith="/TaxRates", orgs__org_id=org).summary == "11 tax rate(s)"
    )


def test_an_incremental_read_with_nothing_changed_keeps_its_cursor(tenant, connect):
    conn = xero_connection(connect, tenant.account)
    read(conn)
    before = rows_of(conn, "supplier")

    row = read(conn)

    assert row.state == ListSyncState.DONE
    assert row.cursors == {"account": FIRST_CURSOR, "tax_rate": "", "supplier": FIRST_CURSOR}
    assert rows_of(conn, "supplier") == before
    assert contact_log(conn.external_id)[-1].startswith("0 contact(s)")


# --- a failure half-way ------------------------------------------------------------------------------


def test_a_provider_error_half_way_keeps_the_contacts_read_before(tenant, connect, settings, live_server):
    conn = xero_connection(connect, tenant.account)
    org = conn.external_id
    add_contacts(org, 150)  # 190 contacts: two pages
    read(conn)
    contacts_before = rows_of(conn, "supplier")
    cursors_before = ListSync.objects.get(connection=conn).cursors
    # Every contact changes (so the next, incremental read has two pages), and an account is archived.
    SandboxListEntry.objects.filter(provider="xero", org_id=org, kind="supplier").update(
        name=f"Renamed {timezone.now():%H%M%S%f}", updated_at=timezone.now()
    )
    rent = sandbox_entry(org, "account", "Rent")
    change(rent, status="ARCHIVED")

    def second_page_of_contacts(method, path, query):
        return method == "GET" and path.endswith("/Contacts") and query.get("page") == ["2"]

    with provider_relaying(
        live_server.url,
        fails=second_page_of_contacts,
        status=500,
        payload={"Title": "An error occurred", "Status": 500},
    ) as relay:
        settings.XERO_API_URL = f"{relay}/sandbox/xero/api.xro/2.0"
        row = read(conn)

    assert row.state == ListSyncState.FAILED
    assert row.message.startswith(
        "Could not read the suppliers from Xero: Xero is having trouble right now (500). Try again in a few "
        "minutes. The lists read on "
    )
    assert row.message.endswith(" are kept.")
    # Page 1 was read, but no contact of it was stored: the contacts are exactly as before.
    assert [s.split(" [")[1].split(",")[0] for s in contact_log(conn.external_id)[-1:]] == [
        "page=1 pageSize=100"
    ]
    assert rows_of(conn, "supplier") == contacts_before
    # The chart of accounts and the tax rates read in the same run are stored.
    assert ListEntry.objects.get(connection=conn, external_id=rent.entry_id).active is False
    assert row.cursors["supplier"] == cursors_before["supplier"]
    assert row.cursors["account"] == rent.updated_at.replace(microsecond=0).isoformat()
    assert row.progress["account"]["done"] and row.progress["tax_rate"]["done"]
    assert row.progress["supplier"] == {"read": 100, "done": False}


def test_a_token_without_the_contacts_scope_fails_the_read_and_keeps_the_lists(tenant, connect):
    conn = xero_connection(connect, tenant.account, scope="offline_access accounting.settings.read")

    row = read(conn)

    assert row.state == ListSyncState.FAILED
    assert row.message.startswith("Could not read the suppliers from Xero: ")
    assert stored(conn, "account") == in_sandbox(conn.external_id, "account")  # the read-only scope is enough
    assert not stored(conn, "supplier")
    assert RequestLogEntry.objects.filter(
        path__endswith="/Contacts", status=401, summary__contains="accounting.contacts.read"
    ).exists()


# --- creating suppliers --------------------------------------------------------------------------


def test_creating_a_supplier_twice_with_the_same_key_makes_one_contact(tenant, connect):
    conn = xero_connection(connect, tenant.account)
    caller = caller_for(conn)

    first = Xero().create_supplier(
        caller, organisation=conn.external_id, name="Paper Mill Ltd", key="link-7-a"
    )
    again = Xero().create_supplier(
        caller, organisation=conn.external_id, name="Paper Mill Ltd", key="link-7-a"
    )

    [made] = SandboxListEntry.objects.filter(provider="xero", org_id=conn.external_id, name="Paper Mill Ltd")
    assert first == again
    assert (first.kind, first.external_id, first.name, first.active) == (
        "supplier",
        made.entry_id,
        made.name,
        True,
    )
    puts = RequestLogEntry.objects.filter(method="PUT", path__endswith="/Contacts").order_by("id")
    assert [p.summary for p in puts] == [
        "1 contact(s) created",
        "1 contact(s) replayed for the Idempotency-Key",
    ]


def test_a_retry_after_xero_forgot_the_key_still_makes_no_second_contact(tenant, connect):
    """Xero remembers an Idempotency-Key for 6 minutes; a retry after that is a new request, which the
    duplicate-name rule refuses, and the contact the first request made is the answer."""
    conn = xero_connection(connect, tenant.account)
    caller = caller_for(conn)
    first = Xero().create_supplier(caller, organisation=conn.external_id, name="Slow Retry Ltd", key="link-8")
    made = SandboxListEntry.objects.get(entry_id=first.external_id)
    made.data["_idempotency_key_at"] = (timezone.now() - timedelta(minutes=7)).isoformat()
    made.save()

    again = Xero().create_supplier(caller, organisation=conn.external_id, name="Slow Retry Ltd", key="link-8")

    assert again.external_id == first.external_id
    assert SandboxListEntry.objects.filter(name="Slow Retry Ltd").count() == 1
    assert (
        RequestLogEntry.objects.filter(method="PUT", status=400, summary__startswith="validation").count()
        == 1
    )


def test_the_same_key_with_another_name_is_refused_and_creates_nothing(tenant, connect):
    conn = xero_connection(connect, tenant.account)
    caller = caller_for(conn)
    Xero().create_supplier(caller, organisation=conn.external_id, name="First Name Ltd", key="link-5")

    with pytest.raises(ProviderRefused) as refused:
        Xero().create_supplier(caller, organisation=conn.external_id, name="Second Name Ltd", key="link-5")

    assert refused.value.status == 400
    assert refused.value.answer["Detail"] == "Idempotency Key link-5 is used with a different request."
    assert not SandboxListEntry.objects.filter(name="Second Name Ltd").exists()


def test_a_duplicate_name_returns_the_existing_contact(tenant, connect):
    conn = xero_connection(connect, tenant.account)
    caller = caller_for(conn)
    org = conn.external_id
    acme = sandbox_entry(org, "supplier", "Acme Supplies")
    count = SandboxListEntry.objects.filter(provider="xero", org_id=org).count()

    found = Xero().create_supplier(caller, organisation=org, name="Acme Supplies", key="link-1")
    other_case = Xero().create_supplier(caller, organisation=org, name="ACME SUPPLIES", key="link-2")

    assert found.external_id == other_case.external_id == acme.entry_id
    assert found.name == "Acme Supplies"
    assert SandboxListEntry.objects.filter(provider="xero", org_id=org).count() == count
    refused = (
        RequestLogEntry.objects.filter(method="PUT", status=400)
        .order_by("id")
        .values_list("summary", flat=True)
    )
    assert list(refused) == [
        f"validation exception: The contact name {name} is already assigned to another contact. The contact "
        "name must be unique across all active contacts."
        for name in ("Acme Supplies", "ACME SUPPLIES")
    ]


def test_a_duplicate_name_with_quotes_is_found_without_a_where_clause(tenant, connect):
    conn = xero_connection(connect, tenant.account)
    caller = caller_for(conn)
    org = conn.external_id
    name = 'The "Quoted" Company \\ Sons'
    made = Xero().create_supplier(caller, organisation=org, name=name, key="link-q1")

    found = Xero().create_supplier(caller, organisation=org, name=name, key="link-q2")

    assert found.external_id == made.external_id
    assert SandboxListEntry.objects.filter(provider="xero", org_id=org, name=name).count() == 1
    [lookup] = RequestLogEntry.objects.filter(method="GET", summary__contains="searchTerm")
    assert lookup.summary == f"1 contact(s) [page=1 pageSize=100, searchTerm={name!r}]"


def test_an_archived_contact_of_the_same_name_does_not_count(tenant, connect):
    """Xero's names are unique among ACTIVE contacts: a new contact may share an archived one's name,
    and the lookup never returns the archived one."""
    conn = xero_connection(connect, tenant.account)
    org = conn.external_id
    gas = sandbox_entry(org, "supplier", "British Gas")
    change(gas, status="ARCHIVED")

    made = Xero().create_supplier(caller_for(conn), organisation=org, name="British Gas", key="link-9")

    assert made.external_id != gas.entry_id and made.active


def test_a_supplier_without_a_name_is_refused_in_xeros_words(tenant, connect):
    conn = xero_connection(connect, tenant.account)
    count = SandboxListEntry.objects.filter(provider="xero").count()

    with pytest.raises(ProviderError) as refused:
        Xero().create_supplier(caller_for(conn), organisation=conn.external_id, name="  ", key="link-3")

    assert (
        refused.value.message
        == "Xero did not create a supplier without a name: Contact Name cannot be empty."
    )
    assert refused.value.code == "validation"
    assert not RequestLogEntry.objects.filter(summary__contains="searchTerm").exists()  # nothing to look up
    assert SandboxListEntry.objects.filter(provider="xero").count() == count


def test_a_rate_limit_raises_rate_limited_with_xeros_wait(tenant, connect, settings, live_server):
    conn = xero_connection(connect, tenant.account)
    count = SandboxListEntry.objects.filter(provider="xero").count()

    with provider_relaying(
        live_server.url,
        fails=lambda method, path, query: method == "PUT" or path.endswith("/Accounts"),
        status=429,
        payload={"Title": "Too Many Requests", "Status": 429},
        headers={"Retry-After": "7", "X-Rate-Limit-Problem": "Minute"},
    ) as relay:
        settings.XERO_API_URL = f"{relay}/sandbox/xero/api.xro/2.0"
        with pytest.raises(RateLimited) as busy:
            Xero().create_supplier(caller_for(conn), organisation=conn.external_id, name="Busy Ltd", key="k")
        row = read(conn)

    assert busy.value.retry_after == 7
    assert busy.value.message == "Xero is busy with our requests right now. Try again in a few minutes."
    assert SandboxListEntry.objects.filter(provider="xero").count() == count
    # A read that meets the limit fails and says so; nothing is stored, the connection stays as it was.
    assert row.state == ListSyncState.FAILED
    assert row.message == (
        "Could not read the chart of accounts from Xero: Xero is busy with our requests right now. Try "
        "again in a few minutes."
    )
    assert not ListEntry.objects.filter(connection=conn).exists()
    conn.refresh_from_db()
    assert conn.status == "active"


# --- the sandbox refuses what Xero refuses -----------------------------------------------------------


def test_the_sandbox_refuses_what_xero_refuses(settings):
    acme, globex = org_ids("xero", XERO_ACME, XERO_GLOBEX)
    base = f"{settings.SANDBOX_BASE_URL}/xero/api.xro/2.0"

    def token(scope: str) -> dict[str, str]:
        issued = data.issue_tokens(
            provider="xero", client_id=settings.XERO_CLIENT_ID, org_ids=[acme], scope=scope, user_key="user-s"
        )
        return {"Authorization": f"Bearer {issued.access_token}", "Accept": "application/json"}

    read_only = token("offline_access accounting.settings.read accounting.contacts.read")
    tenant = {"xero-tenant-id": acme}

    def call(method: str, resource: str, headers: dict, **kwargs) -> requests.Response:
        return requests.request(method, f"{base}/{resource}", headers=headers, timeout=10, **kwargs)

    assert call("GET", "Accounts", {**read_only, **tenant}).status_code == 200
    assert call("GET", "Contacts", {**read_only, **tenant}).status_code == 200
    assert call("GET", "Accounts", tenant).status_code == 401
    no_settings = call("GET", "TaxRates", {**token("offline_access accounting.contacts"), **tenant})
    assert no_settings.status_code == 401
    assert 'error="insufficient_scope"' in no_settings.headers["WWW-Authenticate"]
    created = call("PUT", "Contacts", {**read_only, **tenant}, json={"Contacts": [{"Name": "Nope Ltd"}]})
    assert created.status_code == 401 and 'scope="accounting.contacts"' in created.headers["WWW-Authenticate"]
    assert call("GET", "Accounts", read_only).status_code == 403  # no xero-tenant-id
    not_connected = call("GET", "Accounts", {**read_only, "xero-tenant-id": globex})
    assert not_connected.status_code == 403 and not_connected.json()["Detail"] == "AuthenticationUnsuccessful"
    writer = {**token("offline_access accounting.contacts"), **tenant}
    too_long = call(
        "PUT", "Contacts", {**writer, "Idempotency-Key": "k" * 129}, json={"Contacts": [{"Name": "X"}]}
    )
    assert too_long.status_code == 400 and too_long.json()["Type"] == "ValidationException"
    assert not SandboxListEntry.objects.filter(name__in=["Nope Ltd", "X"]).exists()
    # Xero's shapes: /Date(ms+0000)/ dates, the pagination object.
    contacts = call("GET", "Contacts", {**read_only, **tenant}, params={"page": 1}).json()
    assert contacts["pagination"] == {"page": 1, "pageSize": 100, "pageCount": 1, "itemCount": 40}
    assert contacts["Contacts"][0]["UpdatedDateUTC"] == f"/Date({int(SEEDED_AT.timestamp() * 1000)}+0000)/"
    since = (SEEDED_AT + timedelta(days=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")  # an HTTP date
    assert (
        call("GET", "Accounts", {**read_only, **tenant, "If-Modified-Since": since}).json()["Accounts"] == []
    )

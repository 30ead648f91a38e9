"""Bill.com's chart of accounts and vendors, read through our adapter from the sandbox over real HTTP
with the connection's kept session: v3 list pages followed by their nextPage token, vendors read
from an updatedTime cursor, archived objects kept as inactive, a provider error half-way, a session
Bill.com ended in the middle of a read, the vendor create found by name instead of made twice, and
the sandbox refusing what BILL refuses. Sources: docs/providers.md, "Bill.com"."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from integrations import lists, services
from integrations.models import ListEntry, ListSync, ListSyncState
from integrations.provider_calls import caller_for
from integrations.providers import ProviderError, billcom
from integrations.providers.base import setting
from sandbox import data, listdata, lists_billcom
from sandbox.models import BillcomSession, RequestLogEntry, SandboxListEntry
from tests.integrations.sandbox_helpers import (  # noqa: F401  (fixtures: other_tenant_untouched, sandbox)
    other_tenant_untouched,
    sandbox,
)

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_untouched")

ACME = {
    "username": "accounts@acme.test",
    "password": "billcom-demo-2026",
    "organisation_id": "00801ACMEDEMO01",
}
GLOBEX = {"username": "ap@globex.test", "password": "billcom-demo-2026", "organisation_id": "00801GLOBEXDM02"}
KINDS = ("account", "supplier")


def connect_billcom(tenant, connect, sign_in: dict):
    connect(tenant.account, "xero")
    return services.connect_billcom(account=tenant.account, acting_user=tenant.admin, **sign_in)


@pytest.fixture
def billcom_conn(tenant, connect):
    return connect_billcom(tenant, connect, ACME)


def sync(connection) -> ListSync:
    lists.request_sync(account=connection.account, connection=connection)  # as Refresh lists does
    return lists.run_sync(account=connection.account, connection_id=connection.pk)


def stored(connection, kind: str) -> dict[str, ListEntry]:
    return {e.external_id: e for e in ListEntry.objects.filter(connection=connection, kind=kind)}


def at_bill(kind: str, org: str = ACME["organisation_id"]):
    listdata.ensure_lists("billcom", org)
    return SandboxListEntry.objects.filter(provider="billcom", org_id=org, kind=kind).order_by("pk")


def noted(resource: str) -> list[str]:
    return list(
        RequestLogEntry.objects.filter(provider="billcom", summary__regex=rf"^{resource}[ :]")
        .order_by("created_at", "id")
        .values_list("summary", flat=True)
    )


def logins() -> int:
    return RequestLogEntry.objects.filter(provider="billcom", path__endswith="/v3/login").count()


def add_vendors(count: int, org: str = ACME["organisation_id"]) -> None:
    at_bill("supplier", org)  # the organisation's own lists first (seeded only where there are none)
    SandboxListEntry.objects.bulk_create(
        SandboxListEntry(
            provider="billcom",
            org_id=org,
            kind="supplier",
            entry_id=f"009TEST{n:013d}",
            name=f"Wholesaler {n:04d}",
            updated_at=listdata.SEEDED_AT,
        )
        for n in range(count)
    )


def spread_times(org: str = ACME["organisation_id"]) -> None:
    rows = list(SandboxListEntry.objects.filter(provider="billcom", org_id=org).order_by("pk"))
    start = listdata.SEEDED_AT - timedelta(days=2)
    for n, row in enumerate(rows):
        row.updated_at = start + timedelta(minutes=n)
    SandboxListEntry.objects.bulk_update(rows, ["updated_at"])


def signed_in() -> str:
    return billcom.login(**ACME).session_id


def get(path: str, session_id: str, **params) -> requests.Response:
    return requests.get(
        f"{setting('BILLCOM_API_URL')}{path}",
        params=params,
        headers={"devKey": data.billcom_dev_key(), "sessionId": session_id},
        timeout=10,
    )


def first_error(response: requests.Response) -> tuple[str, str]:
    [error] = response.json()
    return error["code"], error["message"]


# --- reading -----------------------------------------------------------------------------------------


def test_a_full_read_stores_the_organisation_s_ids_codes_and_names(billcom_conn):
    done = sync(billcom_conn)

    assert done.state == ListSyncState.DONE and done.message == ""
    for kind in KINDS:
        assert {(e.external_id, e.code, e.name) for e in stored(billcom_conn, kind).values()} == {
            (r.entry_id, r.code, r.name) for r in at_bill(kind)
        }, kind
        assert all(e.active for e in stored(billcom_conn, kind).values())
    assert all(i.startswith("0ca") for i in stored(billcom_conn, "account"))
    assert all(i.startswith("009") for i in stored(billcom_conn, "supplier"))
    accounts = {e.code: e for e in stored(billcom_conn, "account").values()}
    # Acme's Bill.com mirrors its Xero chart: 429 General Expenses is an expense, 200 Sales income.
    assert (accounts["429"].name, accounts["429"].detail, accounts["429"].for_costs) == (
        "General Expenses",
        "Expense",
        True,
    )
    assert (accounts["200"].for_costs, accounts["200"].for_sales) == (False, True)
    assert not ListEntry.objects.filter(connection=billcom_conn, kind="tax_rate").exists()
    assert noted("chart-of-accounts") == [
        f"chart-of-accounts page 1 (max 100): {at_bill('account').count()} of 41"
    ]
    assert done.cursors["account"] == ""  # the chart of accounts is read whole every time
    assert done.cursors["supplier"] == billcom.filter_time(max(r.updated_at for r in at_bill("supplier")))


def test_vendors_are_read_page_by_page_following_next_page(billcom_conn):
    add_vendors(200)
    total = at_bill("supplier").count()

    assert sync(billcom_conn).state == ListSyncState.DONE

    assert len(stored(billcom_conn, "supplier")) == total
    assert noted("vendors") == [
        f"vendors page 1 (max 100): 100 of {total}",
        f"vendors page 2 (max 100): 100 of {total}",
        f"vendors page 3 (max 100): {total - 200} of {total}",
    ]


def test_the_next_read_asks_for_vendors_changed_since_and_keeps_the_rest(billcom_conn):
    at_bill("account")
    spread_times()
    sync(billcom_conn)
    before = {i: (e.name, e.seen_at) for i, e in stored(billcom_conn, "supplier").items()}
    newest = at_bill("supplier").order_by("-updated_at").first()
    now = timezone.now()
    bt = at_bill("supplier").get(name="BT Business")
    SandboxListEntry.objects.filter(pk=bt.pk).update(status="ARCHIVED", updated_at=now)
    royal = at_bill("supplier").get(name="Royal Mail")
    SandboxListEntry.objects.filter(pk=royal.pk).update(name="Royal Mail Group", updated_at=now)
    rent = at_bill("account").get(code="469")
    SandboxListEntry.objects.filter(pk=rent.pk).update(status="ARCHIVED")

    again = sync(billcom_conn)

    assert again.state == ListSyncState.DONE
    vendors = stored(billcom_conn, "supplier")
    assert not vendors[bt.entry_id].active
    assert vendors[royal.entry_id].name == "Royal Mail Group"
    assert not stored(billcom_conn, "account")[rent.entry_id].active
    changed = {i for i, e in vendors.items() if (e.name, e.seen_at) != before[i]}
    assert changed == {bt.entry_id, royal.entry_id, newest.entry_id}
    since = billcom.filter_time(newest.updated_at)
    assert noted("vendors")[-1] == f'vendors page 1 (max 100): 3 of 3 [filters updatedTime:gte:"{since}"]'
    assert again.cursors["supplier"] == billcom.filter_time(now)


def test_an_error_half_way_fails_the_read_and_keeps_the_lists_read_before(billcom_conn, monkeypatch):
    assert sync(billcom_conn).state == ListSyncState.DONE
    first = {i: (e.name, e.active) for i, e in stored(billcom_conn, "supplier").items()}
    cursor = ListSync.objects.get(connection=billcom_conn).cursors["supplier"]
    rent = at_bill("account").get(code="469")
    SandboxListEntry.objects.filter(pk=rent.pk).update(name="Office Rent")
    add_vendors(150)
    SandboxListEntry.objects.filter(provider="billcom", entry_id__startswith="009TEST").update(
        updated_at=timezone.now()
    )
    monkeypatch.setattr(lists_billcom, "OUTAGE", {"vendors": 2})

    failed = sync(billcom_conn)

    assert failed.state == ListSyncState.FAILED
    assert failed.message.startswith(
        "Could not read the suppliers from Bill.com: Bill.com could not do that just now (System error "
        "occurred.). Try again in a few minutes, or contact support if it keeps happening. The lists read on "
    )
    assert failed.message.endswith(" are kept.")
    assert stored(billcom_conn, "account")[rent.entry_id].name == "Office Rent"
    assert {i: (e.name, e.active) for i, e in stored(billcom_conn, "supplier").items()} == first
    assert ListSync.objects.get(connection=billcom_conn).cursors["supplier"] == cursor
    read, outage = noted("vendors")[-2:]
    assert read.startswith("vendors page 1 (max 100): 100 of ")
    assert read.endswith(f'[filters updatedTime:gte:"{cursor}"]')
    assert outage == "vendors: service outage (test)"


def test_a_session_bill_com_ends_in_the_middle_of_a_read_is_renewed(billcom_conn, monkeypatch):
    add_vendors(150)
    real_request = billcom.request
    pages: list[str] = []

    def bill_com_forgets_the_session_after_the_first_vendor_page(session_id, method, path, **kwargs):
        answer = real_request(session_id, method, path, **kwargs)
        if path == "/v3/vendors" and not pages:
            pages.append(path)
            BillcomSession.objects.all().delete()  # signed out at Bill.com (or its servers forgot it)
        return answer

    monkeypatch.setattr(billcom, "request", bill_com_forgets_the_session_after_the_first_vendor_page)
    before = logins()

    done = sync(billcom_conn)

    assert done.state == ListSyncState.DONE
    assert len(stored(billcom_conn, "supplier")) == at_bill("supplier").count()
    assert logins() == before + 1
    assert RequestLogEntry.objects.filter(summary="session invalid or idle for over 35 minutes").count() == 1
    assert [n.split(":")[0] for n in noted("vendors")] == [
        "vendors page 1 (max 100)",
        "vendors page 2 (max 100)",
    ]


def test_reading_leaves_the_other_tenant_s_lists_alone(billcom_conn, other_tenant, connect):
    theirs = connect_billcom(other_tenant, connect, GLOBEX)
    sync(theirs)
    before = sorted(
        ListEntry.objects.filter(account=other_tenant.account).values_list("pk", "name", "seen_at")
    )

    sync(billcom_conn)

    assert (
        sorted(ListEntry.objects.filter(account=other_tenant.account).values_list("pk", "name", "seen_at"))
        == before
    )
    assert set(ListEntry.objects.filter(connection=billcom_conn).values_list("account_id", flat=True)) == {
        billcom_conn.account_id
    }
    assert not set(stored(billcom_conn, "supplier")) & set(stored(theirs, "supplier"))


# --- creating a vendor --------------------------------------------------------------------------


def create(connection, name: str, key: str = ""):
    return billcom.create_supplier(
        caller_for(connection), organisation=connection.external_id, name=name, key=key
    )


def vendor_creates() -> int:
    return RequestLogEntry.objects.filter(
        provider="billcom", method="POST", path__endswith="/v3/vendors"
    ).count()


def test_a_second_create_finds_the_vendor_the_first_made(billcom_conn):
    first = create(billcom_conn, "Northwind Office Supply, Ltd", "link-51-create")
    # The answer of the first create was lost: the retry looks the name up and creates nothing.
    again = create(billcom_conn, "Northwind Office Supply, Ltd", "link-51-create")

    assert again == first and first.external_id.startswith("009") and first.active
    assert vendor_creates() == 1
    assert at_bill("supplier").filter(name="Northwind Office Supply, Ltd").count() == 1
    created = at_bill("supplier").get(name="Northwind Office Supply, Ltd")
    assert created.data["address"] == {"country": "US"} and created.data["accountType"] == "BUSINESS"


def test_a_vendor_bill_com_has_already_is_not_made_again(billcom_conn):
    tesco = at_bill("supplier").get(name="Tesco")

    found = create(billcom_conn, "Tesco", "link-52-create")

    assert (found.external_id, found.name, found.active) == (tesco.entry_id, "Tesco", True)
    assert vendor_creates() == 0
    assert 'vendors page 1 (max 100): 1 of 1 [filters name:eq:"Tesco"]' in noted("vendors")


def test_an_archived_vendor_of_that_name_gets_a_new_one(billcom_conn):
    tesco = at_bill("supplier").get(name="Tesco")
    SandboxListEntry.objects.filter(pk=tesco.pk).update(status="ARCHIVED")

    made = create(billcom_conn, "Tesco", "link-53-create")

    assert made.external_id != tesco.entry_id and made.active
    assert vendor_creates() == 1


def test_a_name_with_a_double_quote_is_looked_up_by_its_beginning(billcom_conn):
    made = create(billcom_conn, 'The "Corner" Shop', "link-54-create")
    again = create(billcom_conn, 'The "Corner" Shop', "link-54-create")

    assert again == made and vendor_creates() == 1
    assert noted("vendors")[-1] == 'vendors page 1 (max 100): 1 of 1 [filters name:sw:"The "]'


def test_a_name_bill_com_refuses_is_its_refusal(billcom_conn):
    with pytest.raises(ProviderError) as refused:
        create(billcom_conn, "N" * 101, "link-55-create")
    assert refused.value.code == "BDC_1119"
    assert vendor_creates() == 1 and not at_bill("supplier").filter(name="N" * 101).exists()


# --- what the sandbox refuses, as BILL does ----------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        ({"max": "500"}, "BDC_1129", "Invalid parameter value for parameter,value: max, 500"),
        ({"filters": "email:eq:a@b.test"}, "BDC_1130", "Invalid list filter field: email"),
        ({"filters": 'name:gt:"A"'}, "BDC_1131", "Invalid list filter operator: gt"),
        (
            {"filters": 'updatedTime:gte:"yesterday"'},
            "BDC_1129",
            "Invalid parameter value for parameter,value: filters, yesterday",
        ),
        (
            {"page": "not-a-token"},
            "BDC_1129",
            "Invalid parameter value for parameter,value: page, not-a-token",
        ),
    ],
)
def test_the_vendor_list_refuses_what_bill_refuses(params, code, message):
    answer = get("/v3/vendors", signed_in(), **params)

    assert answer.status_code == 400
    assert first_error(answer) == (code, message)


def test_a_page_token_of_another_query_is_refused():
    session = signed_in()
    token = get("/v3/vendors", session, max="10").json()["nextPage"]

    assert get("/v3/vendors", session, max="10", page=token).status_code == 200
    assert first_error(get("/v3/vendors", session, max="20", page=token))[0] == "BDC_1129"


def test_lists_need_the_dev_key_and_a_live_session():
    answer = requests.get(f"{setting('BILLCOM_API_URL')}/v3/classifications/chart-of-accounts", timeout=10)
    assert first_error(answer)[0] == "BDC_1102"
    assert first_error(get("/v3/classifications/chart-of-accounts", "no-such-session"))[0] == "BDC_1109"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "Acme Parts"}, "BDC_1117"),
        ({"address": {"country": "US"}}, "BDC_1117"),
        ({"name": "Acme Parts", "address": {}, "accountType": "COMPANY"}, "BDC_1119"),
    ],
)
def test_a_vendor_create_without_what_bill_requires_is_refused(body, code):
    answer = requests.post(
        f"{setting('BILLCOM_API_URL')}/v3/vendors",
        json=body,
        headers={"devKey": data.billcom_dev_key(), "sessionId": signed_in()},
        timeout=10,
    )
    assert answer.status_code == 400 and first_error(answer)[0] == code
    assert not at_bill("supplier").filter(name="Acme Parts").exists()

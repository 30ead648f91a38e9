"""QuickBooks Online's lists, read through our adapter from the sandbox over real HTTP: the query
endpoint's paging, the incremental read from MetaData.LastUpdatedTime, deactivated entities kept as
inactive, a provider error half-way, the vendor create under requestid, and the sandbox refusing
what Intuit refuses. Sources: docs/providers.md, "QuickBooks Online"."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from integrations import lists
from integrations.models import ListEntry, ListSync, ListSyncState
from integrations.provider_calls import caller_for
from integrations.providers import ProviderError, RateLimited
from integrations.providers.qbo import QuickBooksOnline, query_literal, request_id
from sandbox import data, listdata, lists_qbo
from sandbox.models import RequestLogEntry, SandboxListEntry
from tests.integrations.sandbox_helpers import (  # noqa: F401  (fixtures: other_tenant_untouched, sandbox)
    a_consent,
    exchanged,
    org_ids,
    other_tenant_untouched,
    provider_answering,
    sandbox,
)

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_untouched")

COMPANY, OTHER_COMPANY = "Sandbox Company US", "Globex Trading (QuickBooks Demo)"
KINDS = ("account", "tax_rate", "supplier")


def realm(name: str = COMPANY) -> str:
    return org_ids("qbo", name)[0]


def connect_qbo(connect, account, company: str = COMPANY):
    tokens = exchanged("qbo", a_consent("qbo", [company]))
    return connect(
        account,
        "qbo",
        external_id=realm(company),
        credentials=tokens.as_credentials(),
        access_expires_at=timezone.now() + timedelta(hours=1),
    )


@pytest.fixture
def qbo(tenant, connect):
    return connect_qbo(connect, tenant.account)


def sync(connection) -> ListSync:
    lists.request_sync(account=connection.account, connection=connection)  # as Refresh lists does
    return lists.run_sync(account=connection.account, connection_id=connection.pk)


def stored(connection, kind: str) -> dict[str, ListEntry]:
    return {e.external_id: e for e in ListEntry.objects.filter(connection=connection, kind=kind)}


def at_intuit(kind: str, company: str = COMPANY):
    listdata.ensure_lists("qbo", realm(company))
    return SandboxListEntry.objects.filter(provider="qbo", org_id=realm(company), kind=kind).order_by("pk")


def queries(entity: str) -> list[str]:
    """What the sandbox noted for each query of `entity`, oldest first."""
    return list(
        RequestLogEntry.objects.filter(
            provider="qbo", path__endswith="/query", summary__startswith=f"query {entity} "
        )
        .order_by("created_at", "id")
        .values_list("summary", flat=True)
    )


def spread_times(company: str = COMPANY) -> None:
    """Each entity last changed at its own minute, as in a company used for a while (the seed stamps
    every one with the same time)."""
    rows = list(SandboxListEntry.objects.filter(provider="qbo", org_id=realm(company)).order_by("pk"))
    start = listdata.SEEDED_AT - timedelta(days=2)
    for n, row in enumerate(rows):
        row.updated_at = start + timedelta(minutes=n)
    SandboxListEntry.objects.bulk_update(rows, ["updated_at"])


def add_vendors(count: int, company: str = COMPANY) -> None:
    at_intuit("supplier", company)  # the company's own lists first (seeded only where there are none)
    SandboxListEntry.objects.bulk_create(
        SandboxListEntry(
            provider="qbo",
            org_id=realm(company),
            kind="supplier",
            entry_id=str(5000 + n),
            name=f"Wholesaler {n:04d}",
            updated_at=listdata.SEEDED_AT,
        )
        for n in range(count)
    )


def query(settings, statement: str, token: str | None = None, company: str = COMPANY) -> requests.Response:
    token = (
        token
        or data.issue_tokens(
            provider="qbo", client_id=settings.QBO_CLIENT_ID, org_ids=[realm(company)]
        ).access_token
    )
    return requests.get(
        f"{settings.SANDBOX_BASE_URL}/qbo/v3/company/{realm(company)}/query",
        params={"query": statement, "minorversion": "75"},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=10,
    )


# --- reading -----------------------------------------------------------------------------------------


def test_a_full_read_stores_the_company_s_ids_codes_and_names(qbo):
    done = sync(qbo)

    assert done.state == ListSyncState.DONE and done.message == ""
    for kind in KINDS:
        assert {(e.external_id, e.code, e.name) for e in stored(qbo, kind).values()} == {
            (r.entry_id, r.code, r.name) for r in at_intuit(kind)
        }, kind
        assert all(e.active for e in stored(qbo, kind).values())
    accounts = {e.name: e for e in stored(qbo, "account").values()}
    assert (accounts["Advertising"].code, accounts["Advertising"].detail) == ("6000", "Expense")
    assert (accounts["Advertising"].for_costs, accounts["Advertising"].for_sales) == (True, False)
    assert (accounts["Services"].for_costs, accounts["Services"].for_sales) == (False, True)
    assert not accounts["Accounts Payable (A/P)"].for_costs
    taxes = {e.code: e for e in stored(qbo, "tax_rate").values()}
    assert taxes["NON"].detail == "Non-taxable sales"
    # Every query asked for inactive entities too, with Intuit's minor version.
    for entity in ("Account", "TaxCode", "Vendor"):
        [noted] = queries(entity)
        assert "(active and inactive)" in noted and "minorversion=75, Accept=application/json" in noted
    assert done.cursors["tax_rate"] == ""  # tax codes are read whole every time
    newest = max(r.updated_at for r in at_intuit("supplier"))
    assert done.cursors["supplier"] == lists_qbo.intuit_time(newest)


def test_vendors_are_read_a_thousand_at_a_time(qbo, settings):
    add_vendors(2100)
    total = at_intuit("supplier").count()

    assert sync(qbo).state == ListSyncState.DONE

    assert len(stored(qbo, "supplier")) == total
    assert [q.split(" [")[0] for q in queries("Vendor")] == [
        f"query Vendor STARTPOSITION 1 MAXRESULTS 1000: 1000 of {total} (active and inactive)",
        f"query Vendor STARTPOSITION 1001 MAXRESULTS 1000: 1000 of {total} (active and inactive)",
        f"query Vendor STARTPOSITION 2001 MAXRESULTS 1000: {total - 2000} of {total} (active and inactive)",
    ]
    # Intuit answers at most 1000 a query, whatever MAXRESULTS asks for.
    answer = query(settings, "SELECT * FROM Vendor MAXRESULTS 5000").json()["QueryResponse"]
    assert (len(answer["Vendor"]), answer["maxResults"], answer["startPosition"]) == (1000, 1000, 1)


def test_the_next_read_asks_for_what_changed_since_and_keeps_the_rest(qbo):
    at_intuit("account")
    spread_times()
    sync(qbo)
    before = {kind: {i: (e.name, e.seen_at) for i, e in stored(qbo, kind).items()} for kind in KINDS}
    newest_vendor = at_intuit("supplier").order_by("-updated_at").first()
    now = timezone.now()
    staples = at_intuit("supplier").get(name="Staples")
    SandboxListEntry.objects.filter(pk=staples.pk).update(status="ARCHIVED", updated_at=now)
    travel = at_intuit("account").get(name="Travel")
    SandboxListEntry.objects.filter(pk=travel.pk).update(name="Travel & Lodging", updated_at=now)
    california = at_intuit("tax_rate").get(name="California")
    SandboxListEntry.objects.filter(pk=california.pk).update(status="ARCHIVED", updated_at=now)

    again = sync(qbo)

    assert again.state == ListSyncState.DONE
    vendors, accounts, taxes = stored(qbo, "supplier"), stored(qbo, "account"), stored(qbo, "tax_rate")
    assert not vendors[staples.entry_id].active  # kept, no longer to be chosen
    assert accounts[travel.entry_id].name == "Travel & Lodging" and accounts[travel.entry_id].active
    assert not taxes[california.entry_id].active
    # Vendors and accounts: only what changed at or after the cursor was read again (the entity at
    # the cursor's own minute as well); the rest is as the first read left it.
    reread = {staples.entry_id, newest_vendor.entry_id}
    assert {i for i, e in vendors.items() if (e.name, e.seen_at) != before["supplier"][i]} == reread
    untouched = [i for i in accounts if i != travel.entry_id]
    assert sum(accounts[i].seen_at != before["account"][i][1] for i in untouched) == 1
    second_vendor_query = queries("Vendor")[-1]
    assert "2 of 2 (active and inactive)" in second_vendor_query
    assert (
        f"MetaData.LastUpdatedTime >= '{lists_qbo.intuit_time(newest_vendor.updated_at)}'"
        in second_vendor_query
    )
    # Tax codes: read whole again.
    assert f"{len(taxes)} of {len(taxes)}" in queries("TaxCode")[-1]
    assert again.cursors["supplier"] == lists_qbo.intuit_time(now)


def test_a_query_without_active_answers_active_entities_only(qbo, settings):
    staples = at_intuit("supplier").get(name="Staples")
    SandboxListEntry.objects.filter(pk=staples.pk).update(status="ARCHIVED")

    names = {
        v["DisplayName"] for v in query(settings, "SELECT * FROM Vendor").json()["QueryResponse"]["Vendor"]
    }
    everything = query(settings, "select * from vendor where Active in (true, false) maxresults 1000")

    assert "Staples" not in names
    assert "Staples" in {v["DisplayName"] for v in everything.json()["QueryResponse"]["Vendor"]}


def test_an_error_half_way_fails_the_read_and_keeps_the_lists_read_before(qbo, monkeypatch):
    assert sync(qbo).state == ListSyncState.DONE
    first = {kind: {i: (e.name, e.active) for i, e in stored(qbo, kind).items()} for kind in KINDS}
    cursors = ListSync.objects.get(connection=qbo).cursors
    travel = at_intuit("account").get(name="Travel")
    SandboxListEntry.objects.filter(pk=travel.pk).update(name="Travel & Lodging", updated_at=timezone.now())
    add_vendors(1500)
    # Intuit fails from the second page of vendors on.
    monkeypatch.setattr(lists_qbo, "OUTAGE", {"Vendor": 2})

    failed = sync(qbo)

    assert failed.state == ListSyncState.FAILED
    assert failed.message.startswith(
        "Could not read the suppliers from QuickBooks Online: QuickBooks Online is having trouble right now "
        "(500). Try again in a few minutes. The lists read on "
    )
    assert failed.message.endswith(" are kept.")
    # The lists read before the failure are stored; the vendors' first page is not: a list is kept
    # whole or not at all.
    assert stored(qbo, "account")[travel.entry_id].name == "Travel & Lodging"
    assert {i: (e.name, e.active) for i, e in stored(qbo, "supplier").items()} == first["supplier"]
    assert ListSync.objects.get(connection=qbo).cursors["supplier"] == cursors["supplier"]
    assert [q.split(":")[0] for q in queries("Vendor")][-2:] == [
        "query Vendor STARTPOSITION 1 MAXRESULTS 1000",
        "query Vendor page 2",
    ]

    monkeypatch.setattr(lists_qbo, "OUTAGE", {})
    assert sync(qbo).state == ListSyncState.DONE
    assert len(stored(qbo, "supplier")) == at_intuit("supplier").count()


def test_intuit_s_throttle_is_busy_not_a_refusal(qbo, settings):
    throttled = {
        "Fault": {
            "Error": [
                {"Message": "message=ThrottleExceeded; errorCode=003001; statusCode=429", "code": "003001"}
            ],
            "type": "SERVICE",
        }
    }
    with provider_answering(429, throttled) as url:
        settings.QBO_API_URL = f"{url}/v3"
        failed = sync(qbo)
        with pytest.raises(RateLimited):
            next(
                QuickBooksOnline().read_list(
                    caller_for(qbo), organisation=qbo.external_id, kind="account", since=""
                )
            )
    assert failed.state == ListSyncState.FAILED
    assert (
        "QuickBooks Online is busy with our requests right now. Try again in a few minutes." in failed.message
    )
    assert not ListEntry.objects.filter(connection=qbo).exists()


def test_reading_leaves_the_other_tenant_s_lists_alone(qbo, other_tenant, connect):
    theirs = connect_qbo(connect, other_tenant.account, OTHER_COMPANY)
    sync(theirs)
    before = sorted(
        ListEntry.objects.filter(account=other_tenant.account).values_list("pk", "name", "seen_at")
    )
    SandboxListEntry.objects.filter(provider="qbo", org_id=realm(), name="Staples").update(name="Staples Inc")

    sync(qbo)

    assert (
        sorted(ListEntry.objects.filter(account=other_tenant.account).values_list("pk", "name", "seen_at"))
        == before
    )
    assert not ListEntry.objects.filter(account=other_tenant.account, name="Staples Inc").exists()
    assert set(ListEntry.objects.filter(connection=qbo).values_list("account_id", flat=True)) == {
        qbo.account_id
    }


# --- creating a vendor --------------------------------------------------------------------------


def create(connection, name: str, key: str):
    return QuickBooksOnline().create_supplier(
        caller_for(connection), organisation=connection.external_id, name=name, key=key
    )


def vendor_posts() -> list[str]:
    return list(
        RequestLogEntry.objects.filter(provider="qbo", path__endswith="/vendor")
        .order_by("created_at", "id")
        .values_list("summary", flat=True)
    )


def test_the_same_requestid_twice_makes_one_vendor(qbo):
    first = create(qbo, "Northwind Office Supply", "link-41-create")
    again = create(qbo, "Northwind Office Supply", "link-41-create")

    assert again == first and first.name == "Northwind Office Supply" and first.active
    assert at_intuit("supplier").filter(name="Northwind Office Supply").count() == 1
    assert at_intuit("supplier").get(name="Northwind Office Supply").entry_id == first.external_id
    assert vendor_posts()[0].startswith(f"vendor {first.external_id} 'Northwind Office Supply' created")
    assert vendor_posts()[1].startswith(f"vendor {first.external_id} replayed for requestid")


def test_a_name_quickbooks_has_already_is_that_vendor(qbo):
    lowes = at_intuit("supplier").get(name="Lowe's")

    found = create(qbo, "lowe's", "link-42-create")

    assert (found.external_id, found.name, found.active) == (lowes.entry_id, "Lowe's", True)
    assert at_intuit("supplier").filter(name__iexact="lowe's").count() == 1
    assert "exists (6240)" in vendor_posts()[0]
    # Found with Intuit's escaping of the apostrophe, inactive vendors included.
    assert RequestLogEntry.objects.filter(
        summary__contains=f"DisplayName = {query_literal('lowe' + chr(39) + 's')} AND Active IN (true, false)"
    ).exists()


def test_an_inactive_vendor_of_that_name_is_returned_inactive(qbo):
    shell = at_intuit("supplier").get(name="Shell")
    SandboxListEntry.objects.filter(pk=shell.pk).update(status="ARCHIVED")

    found = create(qbo, "Shell", "link-43-create")

    assert (found.external_id, found.active) == (shell.entry_id, False)


def test_a_vendor_without_a_name_is_intuit_s_required_param_refusal(qbo):
    with pytest.raises(ProviderError) as refused:
        create(qbo, "", "link-44-create")
    assert refused.value.code == "2020"
    assert "Required parameter DisplayName is missing in the request" in refused.value.message


def test_a_long_key_is_sent_as_a_requestid_intuit_takes_and_stays_the_same():
    key = "supplier-link-" + "9" * 50
    assert len(request_id(key)) == 50 and request_id(key) == request_id(key) != request_id(key + "0")
    assert request_id("short-key") == "short-key"


# --- what the sandbox refuses, as Intuit does --------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "code", "detail"),
    [
        (
            "SELECT * FROM Vendor WHERE Active = true OR DisplayName = 'x'",
            "4000",
            "QueryParserError: Encountered",
        ),
        ("SELECT Id FROM Vendor", "4000", "QueryParserError: Encountered"),
        ("SELECT * FROM Vendor MAXRESULTS ten", "4000", "QueryParserError: Encountered"),
        ("", "4000", "QueryParserError: The query provided was empty"),
        (
            "SELECT * FROM Account WHERE AcctNum = '6000'",
            "4001",
            "QueryValidationError: property 'AcctNum' is not queryable",
        ),
    ],
)
def test_the_query_endpoint_refuses_what_intuit_s_query_language_does_not_have(
    settings, statement, code, detail
):
    answer = query(settings, statement)

    assert answer.status_code == 400
    [error] = answer.json()["Fault"]["Error"]
    assert answer.json()["Fault"]["type"] == "ValidationFault"
    assert error["code"] == code and error["Detail"].startswith(detail)
    assert error["Message"] == ("Error parsing query" if code == "4000" else "Invalid query")


def test_a_query_for_another_company_or_without_a_token_is_refused(settings):
    theirs = data.issue_tokens(
        provider="qbo", client_id=settings.QBO_CLIENT_ID, org_ids=[realm(OTHER_COMPANY)]
    )

    assert query(settings, "SELECT * FROM Vendor", token=theirs.access_token).status_code == 403
    assert query(settings, "SELECT * FROM Vendor", token="not-a-token").status_code == 401


def test_no_match_is_an_empty_query_response(settings):
    answer = query(settings, "SELECT * FROM Vendor WHERE DisplayName = 'Nobody At All'")
    assert answer.status_code == 200 and answer.json()["QueryResponse"] == {}

"""QuickBooks Online as documented, our adapter against the sandbox over real HTTP: minorversion=75 and
Accept on every call (sent, but never required: Intuit requires neither), both refresh-token expiries
kept, the revoke endpoint on disconnect, a bill line's DetailType, and bill ids that never race."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import requests
from django.db import connection as db_connection
from django.utils import timezone

from accounts.models import ActivityEntry
from integrations import services
from integrations.models import Connection
from integrations.providers import GrantRevoked
from integrations.providers.qbo import QuickBooksOnline
from integrations.tokens import access_token_for
from sandbox import data
from sandbox.models import IssuedToken, RequestLogEntry, SandboxBill
from tests.integrations.sandbox_helpers import (  # noqa: F401  (fixtures: other_tenant_untouched, sandbox)
    a_consent,
    exchanged,
    org_ids,
    other_tenant_untouched,
    sandbox,
)

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_untouched")

COMPANY = "Sandbox Company US"


def realm() -> str:
    return org_ids("qbo", COMPANY)[0]


def test_every_api_call_sends_minorversion_75_and_accept_json(settings):
    tokens = exchanged("qbo", a_consent("qbo", [COMPANY]))
    [company] = QuickBooksOnline().organisations(tokens=tokens, callback={"realmId": realm()})
    assert company.name == COMPANY
    entry = RequestLogEntry.objects.get(path__contains="/companyinfo/")
    assert "minorversion=75, Accept=application/json" in entry.summary


def test_the_sandbox_refuses_neither_a_missing_minorversion_nor_a_missing_accept(settings):
    """Intuit answers without minorversion in 75 and documents Accept as optional: so does the sandbox."""
    tokens = exchanged("qbo", a_consent("qbo", [COMPANY]))
    response = requests.get(
        f"{settings.SANDBOX_BASE_URL}/qbo/v3/company/{realm()}/companyinfo/{realm()}",
        headers={"Authorization": f"Bearer {tokens.access_token}", "Accept": ""},
        timeout=10,
    )
    assert response.status_code == 200 and response.json()["CompanyInfo"]["CompanyName"] == COMPANY
    assert (
        "minorversion=absent (answered as 75)"
        in RequestLogEntry.objects.get(path__contains="/companyinfo/").summary
    )


def test_both_refresh_token_expiries_are_kept(tenant, connect):
    tokens = exchanged("qbo", a_consent("qbo", [COMPANY]))
    assert tokens.refresh_expires_at - timezone.now() > timedelta(days=99)
    five_years = timedelta(days=5 * 365)
    assert five_years - timedelta(minutes=1) < tokens.refresh_hard_expires_at - timezone.now() <= five_years
    conn = connect(
        tenant.account,
        "qbo",
        external_id=realm(),
        credentials=tokens.as_credentials(),
        access_expires_at=timezone.now() + timedelta(minutes=1),
    )
    # A year into the grant, a refresh keeps the same five-year date.
    started = timezone.now() - timedelta(days=365)
    IssuedToken.objects.filter(refresh_token=tokens.refresh_token).update(grant_started_at=started)

    access_token_for(conn)

    stored = Connection.objects.get(pk=conn.pk).credentials
    hard = timezone.datetime.fromisoformat(stored["refresh_hard_expires_at"])
    assert abs(hard - (started + five_years)) < timedelta(minutes=1)
    assert timezone.datetime.fromisoformat(stored["refresh_expires_at"]) - timezone.now() > timedelta(days=99)


def test_disconnect_revokes_the_token_at_intuit(tenant, connect):
    tokens = exchanged("qbo", a_consent("qbo", [COMPANY]))
    conn = connect(tenant.account, "qbo", external_id=realm(), credentials=tokens.as_credentials())

    disconnected = services.disconnect(
        account=tenant.account, acting_user=tenant.admin, connection_id=conn.pk
    )

    assert disconnected.provider_notice == ""
    [revoke] = RequestLogEntry.objects.filter(path__endswith="/qbo/v2/oauth2/tokens/revoke")
    assert (revoke.method, revoke.status, revoke.summary) == ("POST", 200, "grant revoked (1 token(s))")
    with pytest.raises(GrantRevoked):
        QuickBooksOnline().refresh(refresh_token=tokens.refresh_token)
    assert ActivityEntry.objects.get(account=tenant.account, action="integration.provider_told").summary == (
        "Told QuickBooks Online about the disconnect: revoked Dext Connect's access"
    )


def test_disconnect_keeps_access_another_account_uses_for_the_same_company(tenant, other_tenant, connect):
    ours = exchanged("qbo", a_consent("qbo", [COMPANY]))
    theirs = exchanged("qbo", a_consent("qbo", [COMPANY], user_key="user-b"))
    conn = connect(tenant.account, "qbo", external_id=realm(), credentials=ours.as_credentials())
    connect(other_tenant.account, "qbo", external_id=realm(), credentials=theirs.as_credentials())

    services.disconnect(account=tenant.account, acting_user=tenant.admin, connection_id=conn.pk)

    assert not RequestLogEntry.objects.filter(path__endswith="/tokens/revoke").exists()
    assert QuickBooksOnline().refresh(refresh_token=theirs.refresh_token).access_token


def test_the_revoke_endpoint_refuses_a_wrong_client_secret(settings):
    tokens = exchanged("qbo", a_consent("qbo", [COMPANY]))
    response = requests.post(
        f"{settings.SANDBOX_BASE_URL}/qbo/v2/oauth2/tokens/revoke",
        json={"token": tokens.refresh_token},
        auth=(settings.QBO_CLIENT_ID, "wrong"),
        timeout=10,
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert QuickBooksOnline().refresh(refresh_token=tokens.refresh_token).access_token


# --- bills -------------------------------------------------------------------------------------------


def post_bill(settings, token: str, body: dict, request_id: str) -> requests.Response:
    return requests.post(
        f"{settings.SANDBOX_BASE_URL}/qbo/v3/company/{realm()}/bill",
        params={"minorversion": "75", "requestid": request_id},
        json=body,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=10,
    )


def bill(detail_type: str | None = "AccountBasedExpenseLineDetail") -> dict:
    line = {"Amount": 10.0, "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "7"}}}
    if detail_type:
        line["DetailType"] = detail_type
    return {"VendorRef": {"value": "56"}, "Line": [line]}


def qbo_token(settings) -> str:
    return data.issue_tokens(provider="qbo", client_id=settings.QBO_CLIENT_ID, org_ids=[realm()]).access_token


def test_a_bill_line_without_detail_type_is_refused(settings):
    response = post_bill(settings, qbo_token(settings), bill(detail_type=None), "r-1")
    assert response.status_code == 400
    fault = response.json()["Fault"]
    assert fault["type"] == "ValidationFault"
    assert fault["Error"] == [
        {
            "Message": "Required param missing, need to supply the required value for the API",
            "Detail": "Required parameter Line.DetailType is missing in the request",
            "code": "2020",
            "element": "Line.DetailType",
        }
    ]
    assert not SandboxBill.objects.exists()
    assert post_bill(settings, qbo_token(settings), bill(), "r-2").status_code == 200


def test_a_deleted_bill_s_id_is_never_given_again(settings):
    token = qbo_token(settings)
    first = post_bill(settings, token, bill(), "r-1").json()["Bill"]["Id"]
    second = post_bill(settings, token, bill(), "r-2").json()["Bill"]["Id"]
    SandboxBill.objects.filter(bill_id=first).delete()
    third = post_bill(settings, token, bill(), "r-3")
    assert third.status_code == 200
    assert third.json()["Bill"]["Id"] not in {first, second}


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_bills_created_at_once_get_different_ids(settings):
    token = qbo_token(settings)
    barrier = threading.Barrier(6)
    answers: list[requests.Response] = []

    def create(n: int) -> None:
        try:
            barrier.wait()
            answers.append(post_bill(settings, token, bill(), f"race-{n}"))
        finally:
            db_connection.close()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [a.status_code for a in answers] == [200] * 6
    assert len({a.json()["Bill"]["Id"] for a in answers}) == 6

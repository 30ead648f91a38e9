"""Bill.com v3 as it really behaves, the adapter against the sandbox over real HTTP: one test per
refusal the sandbox plays (with Bill.com's own codes and error shape), what services make of each
outcome, the session kept and reused until Bill.com's 35 idle minutes, and the Connections page's
answers. Sources: docs/providers.md, "Bill.com"."""

from __future__ import annotations

import html
import logging
from contextlib import ExitStack
from datetime import timedelta

import pytest
import requests
import time_machine
from axes.models import AccessAttempt
from django.utils import timezone

from integrations import services
from integrations.models import Connection, ConnectionStatus
from integrations.providers import (
    LoginFailed,
    ProviderError,
    ProviderMisconfigured,
    ProviderUnavailable,
    RateLimited,
    billcom,
)
from integrations.providers.base import setting
from sandbox import data, views
from sandbox.models import BillcomSession, BillcomUser, RequestLogEntry
from tests.conftest import client_for
from tests.integrations.sandbox_helpers import (  # noqa: F401
    other_tenant_untouched,
    raw_credentials,
    sandbox,
    snapshot,
    start_url,
)

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_untouched")

ACME = {
    "username": "accounts@acme.test",
    "password": "billcom-demo-2026",
    "organisation_id": "00801ACMEDEMO01",
}
ACME_NAME = "Acme Ltd (Bill.com)"
BUSY = "Bill.com is busy, try again in a few minutes."


def text(response) -> str:
    return html.unescape(response.content.decode())


def logins() -> int:
    """Sign-ins the sandbox's Bill.com received."""
    return RequestLogEntry.objects.filter(provider="billcom", path__endswith="/v3/login").count()


def received(code_note: str) -> int:
    return RequestLogEntry.objects.filter(provider="billcom", summary=code_note).count()


def login(**changes) -> billcom.Session:
    return billcom.login(**{**ACME, **changes})


def session_details(session_id: str, dev_key: str | None = "") -> requests.Response:
    """GET /v3/login/session straight at the sandbox (None: no devKey header at all)."""
    headers = {"sessionId": session_id}
    if dev_key is not None:
        headers["devKey"] = dev_key or data.settings.BILLCOM_DEV_KEY
    url = setting("BILLCOM_API_URL")
    return requests.get(f"{url}/v3/login/session", headers=headers, timeout=10)


@pytest.fixture
def revoked_dev_key(monkeypatch):
    """Bill.com no longer knows the developer key this server is configured with."""
    monkeypatch.setattr(data, "BILLCOM_ISSUED_DEV_KEY", "the-key-bill-com-issued-now")


@pytest.fixture
def connection(tenant, connect) -> Connection:
    connect(tenant.account, "xero")
    return services.connect_billcom(account=tenant.account, acting_user=tenant.admin, **ACME)


def call(connection: Connection, path: str = "/v3/login/session", **kwargs):
    return services.billcom_call(
        account=connection.account, connection=connection, method="GET", path=path, **kwargs
    )


def status_of(connection: Connection) -> str:
    return Connection.objects.get(pk=connection.pk).status


def stored(connection: Connection) -> dict:
    return Connection.objects.get(pk=connection.pk).credentials


# --- the refusals, adapter against sandbox ----------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"password": "wrong-password"},
        {"username": "nobody@acme.test"},
        {"organisation_id": "00801GLOBEXDM02"},
    ],
)
def test_a_wrong_user_name_or_password_is_bdc_1101_login_failed(changes):
    with pytest.raises(LoginFailed) as refused:
        login(**changes)
    assert refused.value.code == "BDC_1101"
    assert "User name and/or password do not match our records." in refused.value.message


def test_a_bad_developer_key_at_sign_in_is_bdc_1102_misconfigured_not_login_failed(revoked_dev_key):
    with pytest.raises(ProviderMisconfigured) as refused:
        login()
    assert refused.value.code == "BDC_1102"
    assert not isinstance(refused.value, LoginFailed)


def test_every_call_after_the_login_needs_the_devkey_header():
    session = login()
    # The sandbox answers as Bill.com documents: a list of {timestamp, code, severity, category, message}.
    for dev_key in (None, "someone-elses-key"):
        answer = session_details(session.session_id, dev_key)
        assert answer.status_code == 401
        [error] = answer.json()
        assert set(error) == {"timestamp", "code", "severity", "category", "message"}
        assert (error["code"], error["message"]) == ("BDC_1102", "Developer key is invalid.")
    assert session_details(session.session_id).status_code == 200


def test_a_call_with_a_refused_developer_key_is_misconfigured(monkeypatch):
    session = login()  # signed in while Bill.com still accepted the key
    monkeypatch.setattr(data, "BILLCOM_ISSUED_DEV_KEY", "the-key-bill-com-issued-now")
    with pytest.raises(ProviderMisconfigured) as refused:
        billcom.request(session.session_id, "GET", "/v3/login/session")
    assert refused.value.code == "BDC_1102"


def test_the_hourly_sign_in_cap_is_bdc_1144_rate_limited_until_the_next_hour(monkeypatch):
    monkeypatch.setattr(data, "BILLCOM_LOGINS_PER_HOUR", 2)
    at_ten_past = timezone.now().replace(minute=10, second=0, microsecond=0)
    with time_machine.travel(at_ten_past, tick=False) as clock:
        login()
        login()
        with pytest.raises(RateLimited) as refused:
            login()
        assert refused.value.code == "BDC_1144"
        assert refused.value.message == BUSY
        assert refused.value.retry_after == 50 * 60  # "wait until the beginning of the next hour"
        assert isinstance(refused.value, ProviderUnavailable)  # try again later; nothing to reconnect
        clock.shift(timedelta(minutes=50))
        assert login().session_id


def test_a_fourth_request_at_once_is_bdc_1322_rate_limited():
    session = login()
    with ExitStack() as stack:
        # Three other requests of this organisation are in progress at Bill.com.
        assert all(stack.enter_context(views.billcom_in_flight(ACME["organisation_id"])) for _ in range(3))
        with pytest.raises(RateLimited) as refused:
            billcom.request(session.session_id, "GET", "/v3/login/session")
        assert (refused.value.code, refused.value.message, refused.value.retry_after) == (
            "BDC_1322",
            BUSY,
            None,
        )
    assert (
        billcom.request(session.session_id, "GET", "/v3/login/session")["organizationId"]
        == ACME["organisation_id"]
    )


def test_an_expired_or_unknown_session_is_bdc_1109():
    session = login()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        clock.shift(timedelta(minutes=34))
        assert session_details(session.session_id).status_code == 200  # any call restarts the timer
        clock.shift(timedelta(minutes=34))
        assert session_details(session.session_id).status_code == 200
        clock.shift(timedelta(minutes=36))
        answer = session_details(session.session_id)
        assert answer.status_code == 401 and answer.json()[0]["code"] == "BDC_1109"
        with pytest.raises(billcom.SessionInvalid):
            billcom.request(session.session_id, "GET", "/v3/login/session")
    with pytest.raises(billcom.SessionInvalid):
        billcom.request("never-issued", "GET", "/v3/login/session")


def test_an_unknown_code_at_sign_in_is_unavailable_with_bill_coms_message():
    # A NUL in the body: the sandbox answers BDC_1001 ("System error occurred" at Bill.com), which is
    # neither a wrong password nor a configuration error.
    with pytest.raises(ProviderUnavailable) as refused:
        login(username="accounts@acme.test\x00")
    assert type(refused.value) is ProviderUnavailable
    assert refused.value.code == "BDC_1001"
    assert "The request body is not JSON, or carries a NUL character." in refused.value.message


def test_another_refusal_of_a_call_is_a_provider_error_with_bill_coms_code():
    session = login()
    with pytest.raises(ProviderError) as refused:
        billcom.request(session.session_id, "GET", "/v3/organizations/00801GLOBEXDM02")
    assert type(refused.value) is ProviderError and refused.value.code == "BDC_1002"


# --- the organisation's name ------------------------------------------------------------------------


def test_the_name_comes_from_login_organizations_not_the_session():
    session = login()
    assert billcom.organisation_name(session) == ACME_NAME
    paths = list(
        RequestLogEntry.objects.filter(provider="billcom", method="GET").values_list("path", flat=True)
    )
    assert paths == ["/sandbox/billcom/connect/v3/login/organizations"]
    # /v3/login/session documents the organisation id, user id and MFA status: no name.
    assert "organizationName" not in session_details(session.session_id).json()


def test_without_a_name_in_the_list_the_organisation_endpoint_names_it(monkeypatch):
    session = login()
    monkeypatch.setattr(billcom, "_items", lambda body: [])
    assert billcom.organisation_name(session) == ACME_NAME
    assert RequestLogEntry.objects.filter(path__endswith="/v3/organizations/00801ACMEDEMO01").count() == 1


def test_without_any_name_the_connection_is_named_by_its_organisation_id(tenant, connect):
    BillcomUser.objects.filter(username=ACME["username"]).update(organisation_name="")
    connect(tenant.account, "xero")
    conn = services.connect_billcom(account=tenant.account, acting_user=tenant.admin, **ACME)
    assert conn.external_name == ACME["organisation_id"]


@pytest.mark.parametrize(
    "body",
    [
        {"results": [{"id": "008other", "name": "Other"}, {"id": "00801ACMEDEMO01", "name": ACME_NAME}]},
        {"organizations": [{"organizationId": "00801ACMEDEMO01", "organizationName": ACME_NAME}]},
        [{"id": "00801ACMEDEMO01", "name": ACME_NAME}],
    ],
)
def test_the_undocumented_list_shape_is_read_either_way(body):
    names = [billcom._name_in(item, "00801ACMEDEMO01") for item in billcom._items(body)]
    assert ACME_NAME in names


# --- services: the session kept and reused ----------------------------------------------------------


def test_the_session_is_kept_encrypted_and_reused_until_35_idle_minutes(connection):
    assert logins() == 1
    creds = stored(connection)
    assert BillcomSession.objects.filter(session_id=creds["session_id"]).exists()
    assert creds["session_id"] not in raw_credentials(connection)  # kept in the encrypted column only
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(5):  # a call every 30 minutes keeps the session alive: no new sign-in
            clock.shift(timedelta(minutes=30))
            assert call(connection)["organizationId"] == ACME["organisation_id"]
        assert logins() == 1
        assert stored(connection)["session_id"] == creds["session_id"]
        clock.shift(timedelta(minutes=36))  # idle past Bill.com's limit: sign in first, no refused call
        call(connection)
    assert logins() == 2
    assert received("session invalid or idle for over 35 minutes") == 0
    assert stored(connection)["session_id"] != creds["session_id"]
    assert status_of(connection) == ConnectionStatus.ACTIVE


def test_a_session_bill_com_ended_is_renewed_once_on_bdc_1109(connection):
    BillcomSession.objects.all().delete()  # signed out at Bill.com (or its servers forgot it)
    assert call(connection)["organizationId"] == ACME["organisation_id"]
    assert received("session invalid or idle for over 35 minutes") == 1
    assert logins() == 2
    assert status_of(connection) == ConnectionStatus.ACTIVE
    assert BillcomSession.objects.filter(session_id=stored(connection)["session_id"]).exists()


def test_a_changed_password_asks_for_a_reconnect(connection):
    BillcomSession.objects.all().delete()
    BillcomUser.objects.filter(username=ACME["username"]).update(password="changed-in-bill-com")
    with pytest.raises(LoginFailed) as refused:
        call(connection)
    assert "Reconnect Bill.com with its current password." in refused.value.message
    assert status_of(connection) == ConnectionStatus.NEEDS_RECONNECT
    # Needing a reconnect, it never signs in again with the refused password.
    before = logins()
    with pytest.raises(services.DomainError, match="needs reconnecting"):
        call(connection)
    assert logins() == before


def test_a_busy_bill_com_leaves_the_connection_active(connection, monkeypatch):
    monkeypatch.setattr(data, "BILLCOM_LOGINS_PER_HOUR", 0)
    BillcomSession.objects.all().delete()
    before = stored(connection)
    with pytest.raises(RateLimited) as refused:
        call(connection)
    assert refused.value.message == BUSY
    assert status_of(connection) == ConnectionStatus.ACTIVE
    assert stored(connection) == before


def test_a_busy_organisation_leaves_the_connection_active(connection):
    with ExitStack() as stack:
        for _ in range(3):
            stack.enter_context(views.billcom_in_flight(ACME["organisation_id"]))
        with pytest.raises(RateLimited):
            call(connection)
    assert status_of(connection) == ConnectionStatus.ACTIVE
    assert logins() == 1


def test_a_refused_developer_key_is_logged_loudly_and_changes_no_connection(
    connection, revoked_dev_key, caplog
):
    before = stored(connection)
    with caplog.at_level(logging.ERROR, logger="integrations.services"):
        with pytest.raises(ProviderMisconfigured):
            call(connection)
    assert status_of(connection) == ConnectionStatus.ACTIVE
    assert stored(connection) == before
    [record] = [r for r in caplog.records if r.name == "integrations.services"]
    assert record.levelno == logging.ERROR and "SERVER MISCONFIGURED" in record.getMessage()
    assert "BILLCOM_DEV_KEY" in record.getMessage()


def test_only_an_active_bill_com_connection_is_called_for(connection, tenant):
    xero = Connection.objects.get(account=tenant.account, provider="xero")
    with pytest.raises(services.DomainError, match="not connected"):
        call(xero)
    assert logins() == 1


# --- the Connections page ---------------------------------------------------------------------------


@pytest.fixture
def form(tenant, connect):
    connect(tenant.account, "xero")
    return client_for(tenant.admin), start_url(tenant.account, "billcom")


def test_the_page_connects_and_names_the_organisation(form, tenant):
    client, url = form
    response = client.post(url, ACME, follow=True)
    assert f"Bill.com is connected – {ACME_NAME}." in text(response)
    conn = Connection.objects.get(account=tenant.account, provider="billcom")
    assert (conn.external_id, conn.external_name) == (ACME["organisation_id"], ACME_NAME)
    assert set(conn.credentials) >= {"session_id", "session_used_at", "username", "password"}


def test_the_page_a_wrong_password_is_a_form_error_and_stores_nothing(form, tenant):
    client, url = form
    before = snapshot(tenant.account)
    response = client.post(url, {**ACME, "password": "wrong-password"})
    assert response.status_code == 200
    assert "User name and/or password do not match our records." in text(response)
    assert snapshot(tenant.account) == before
    assert AccessAttempt.objects.count() == 1  # counted towards the sign-in lockout


def test_the_page_busy_says_so_changes_nothing_and_is_no_guess(form, tenant, monkeypatch):
    monkeypatch.setattr(data, "BILLCOM_LOGINS_PER_HOUR", 0)
    client, url = form
    before = snapshot(tenant.account)
    for _ in range(12):  # more than the lockout's 10: a busy Bill.com is nobody's wrong password
        response = client.post(url, ACME)
        assert response.status_code == 200 and BUSY in text(response)
    assert snapshot(tenant.account) == before
    assert AccessAttempt.objects.count() == 0


def test_the_page_misconfigured_tells_the_admins_and_keeps_the_connection(
    form, tenant, revoked_dev_key, caplog
):
    client, url = form
    existing = services.activate_connection(
        account=tenant.account,
        acting_user=tenant.admin,
        provider="billcom",
        external_id=ACME["organisation_id"],
        external_name=ACME_NAME,
        credentials={**ACME, "session_id": "old"},
    )
    services.mark_needs_reconnect(account=tenant.account, connection=existing, reason="password changed")
    before = snapshot(tenant.account)
    with caplog.at_level(logging.ERROR, logger="integrations.services"):
        response = client.post(url, ACME)
    assert response.status_code == 200
    assert "Bill.com refused this server's developer key" in text(response)
    assert "the administrators have been alerted" in text(response)
    assert snapshot(tenant.account) == before
    assert status_of(existing) == ConnectionStatus.NEEDS_RECONNECT
    assert any("SERVER MISCONFIGURED" in r.getMessage() for r in caplog.records)
    assert AccessAttempt.objects.count() == 0

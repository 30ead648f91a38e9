"""Contract tests: our /qbwc/ SOAP service against the sandbox's Web Connector over real HTTP
(live_server), one per thing the real Web Connector does that the service must answer correctly.

The sandbox's Web Connector reacts as the real one does (QBWC Programmer's Guide, chapters 8 and 10):
"none" ends the run without an error, "nvu" is a failed sign-in, "" from sendRequestXML or a negative
receiveResponseXML makes it call getLastError and show that message, and when QuickBooks has another
company file open than the one authenticate names, the request processor refuses (0x8004040A) and it
calls connectionError."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import ActivityEntry
from integrations.models import Connection, ConnectionStatus
from integrations.providers import qbd
from sandbox import webconnector
from sandbox.models import RequestLogEntry
from tests.conftest import client_for
from tests.integrations.sandbox_helpers import sandbox, snapshot, start_url  # noqa: F401

pytestmark = pytest.mark.usefixtures("sandbox")


def text(response) -> str:
    return html.unescape(response.content.decode())


def qbd_set_up(tenant) -> tuple[Connection, str]:
    """QuickBooks Desktop set up by the tenant's Admin on its connect page: (connection, the Web
    Connector password the page shows once)."""
    admin = client_for(tenant.admin)
    response = admin.post(start_url(tenant.account, "qbd"), {"action": "setup"}, follow=True)
    password = re.search(r'data-testid="qbwc-password">([^<]+)<', response.content.decode()).group(1)
    conn = Connection.objects.select_related("account").get(account=tenant.account, provider="qbd")
    return conn, password


@pytest.fixture
def set_up(tenant):
    """QuickBooks Desktop set up by the Admin: (connection, password)."""
    return qbd_set_up(tenant)


def computer_for(conn, **options) -> webconnector.Computer:
    computer = webconnector.Computer.with_company(conn.account.name, **options)
    computer.add_application(webconnector.qwc_of(qbd.username_for(conn)))
    return computer


def run(conn, password: str, computer: webconnector.Computer) -> webconnector.Run:
    return webconnector.run(username=qbd.username_for(conn), password=password, computer=computer)


def methods(result: webconnector.Run) -> list[str]:
    return [c.method for c in result.calls]


def setup_page(conn) -> str:
    return text(client_for(conn.account.owner).get(start_url(conn.account, "qbd")))


def test_an_idle_poll_is_none_not_an_error(set_up):
    conn, password = set_up
    computer = computer_for(conn)
    first = run(conn, password, computer)
    assert first.ok, first.message
    conn.refresh_from_db()
    before = snapshot(conn.account)

    idle = run(conn, password, computer)

    # The Web Connector stops after authenticate: no company file opened, no getLastError (which is
    # what an empty sendRequestXML would have caused every 15 minutes).
    assert idle.ok and idle.message == "Signed in; there was no work to do."
    assert methods(idle) == ["serverVersion", "clientVersion", "authenticate"]
    assert idle.calls[-1].result.endswith(" | none")
    assert snapshot(conn.account) == before


def test_a_wrong_password_gets_nvu_and_changes_nothing(set_up, other_tenant):
    conn, _ = set_up
    before = (snapshot(conn.account), snapshot(other_tenant.account))
    result = run(conn, "not-the-password", computer_for(conn))
    assert not result.ok
    assert result.message == "The Web Connector could not sign in: the user name or password is wrong."
    assert methods(result)[-1] == "authenticate" and result.calls[-1].result == " | nvu"
    assert (snapshot(conn.account), snapshot(other_tenant.account)) == before


def test_a_locked_out_web_connector_gets_nvu_with_the_right_password(set_up):
    conn, password = set_up
    computer = computer_for(conn)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(10):
            assert run(conn, "wrong", computer).calls[-1].result == " | nvu"
        locked = run(conn, password, computer)
        assert not locked.ok and locked.calls[-1].result == " | nvu"
        conn.refresh_from_db()
        assert conn.status == ConnectionStatus.PENDING
        assert ActivityEntry.objects.filter(account=conn.account, action="integration.signin_locked").exists()

        clock.shift(timedelta(minutes=16))
        assert run(conn, password, computer).ok
    conn.refresh_from_db()
    assert conn.status == ConnectionStatus.ACTIVE


def test_another_company_file_is_refused_the_stored_one_stays_and_the_set_up_page_says_why(set_up):
    """The first run records the company file but QuickBooks cannot answer the CompanyQuery, so work
    remains. The next run, with another client's file open, is refused before anything is sent to it;
    the run after, with the right file, asks the CompanyQuery again and finishes."""
    conn, password = set_up
    computer = computer_for(conn, hcp_company=False, company_query_failures=["hresult"])
    own = computer.open_file

    first = run(conn, password, computer)
    assert not first.ok and "Could not access QuickBooks" in first.message
    conn.refresh_from_db()
    assert (conn.status, conn.external_id, conn.external_name) == (ConnectionStatus.ACTIVE, own, "")

    other = computer.add_file("Globex company file").path
    computer.open(other)
    refused = run(conn, password, computer)

    # authenticate named the recorded file; QuickBooks had another open; the service said "done".
    assert refused.calls[2].result.endswith(f" | {own}")
    assert methods(refused)[3:] == ["connectionError"]
    assert refused.calls[-1].result == "done"
    assert refused.message == (
        "QuickBooks could not open the company file (0x8004040A): A QuickBooks company data file is "
        "already open and it is different from the one requested."
    )
    conn.refresh_from_db()
    assert (conn.external_id, conn.external_name) == (own, "")
    assert conn.last_error.startswith("QuickBooks has another company file open (0x8004040A")
    assert f"Dext Connect is set up for {own}: open it in QuickBooks" in conn.last_error
    page = setup_page(conn)
    assert "The Web Connector's last run stopped:" in page and conn.last_error in page
    assert ActivityEntry.objects.filter(account=conn.account, action="integration.qbwc_refused").count() == 1
    assert not webconnector.SandboxOrganisation.objects.filter(name="Globex company file").exists()

    computer.open(own)
    again = run(conn, password, computer)
    assert again.ok, again.message
    assert "<CompanyQueryRq" in next(c.result for c in again.calls if c.method == "sendRequestXML")
    conn.refresh_from_db()
    assert (conn.external_id, conn.external_name, conn.last_error) == (
        own,
        f"{conn.account.name} company file",
        "",
    )
    assert "last run stopped" not in setup_page(conn)
    assert run(conn, password, computer).message == "Signed in; there was no work to do."


def test_a_first_run_with_another_clients_file_open_records_nothing(set_up):
    """The .qwc was added with the account's own company file open, so only that file carries this
    set-up's FileID. A first run with another file open is refused when the CompanyQuery (asked with
    our OwnerID) shows no FileID of ours: no company file or name is recorded from it."""
    conn, password = set_up
    computer = computer_for(conn)
    own = computer.open_file
    computer.open(computer.add_file("Globex company file").path)

    refused = run(conn, password, computer)

    assert not refused.ok
    assert methods(refused)[-3:] == ["receiveResponseXML", "getLastError", "closeConnection"]
    assert refused.calls[-3].result == "-1"
    assert refused.message.startswith(
        "The company file open in QuickBooks (C:\\Users\\Public\\Documents\\Intuit\\QuickBooks\\Company "
        "Files\\Globex.qbw) is not the one Dext Connect was added to in the Web Connector"
    )
    conn.refresh_from_db()
    assert (conn.external_id, conn.external_name, conn.last_error) == ("", "", refused.message)
    assert refused.message in setup_page(conn)

    computer.open(own)
    assert run(conn, password, computer).ok
    conn.refresh_from_db()
    assert (conn.external_id, conn.external_name) == (own, f"{conn.account.name} company file")


@pytest.mark.parametrize("failure", ["hresult", "status"])
def test_a_company_query_answered_late_is_asked_again(set_up, failure):
    conn, password = set_up
    computer = computer_for(conn, hcp_company=False, company_query_failures=[failure])

    first = run(conn, password, computer)
    assert not first.ok
    assert first.message.endswith(
        "The Web Connector will try again at its next run."
        if failure == "hresult"
        else "The Web Connector will ask again at its next run."
    )
    conn.refresh_from_db()
    assert conn.external_name == ""

    second = run(conn, password, computer)
    assert second.ok, second.message
    assert "<CompanyQueryRq" in next(c.result for c in second.calls if c.method == "sendRequestXML")
    conn.refresh_from_db()
    assert conn.external_name == f"{conn.account.name} company file"
    assert run(conn, password, computer).message == "Signed in; there was no work to do."


@pytest.mark.parametrize(
    "country, versions, expected",
    [
        # QuickBooks 2012: qbXML up to 11.0 (a request in 13.0 would be refused, 0x80040423).
        ("US", webconnector.US_VERSIONS[: webconnector.US_VERSIONS.index("11.0") + 1], "11.0"),
        # An old Canadian edition speaks only its own "CA…" versions.
        ("CA", ("CA2.0", "CA3.0"), "CA3.0"),
        # A newer QuickBooks than our requests are written for: asked in our newest, 16.0.
        ("UK", (*webconnector.US_VERSIONS, "17.0"), "16.0"),
    ],
)
def test_the_qbxml_version_and_country_come_from_the_company_file(set_up, country, versions, expected):
    conn, password = set_up
    computer = computer_for(conn, country=country, versions=versions)

    result = run(conn, password, computer)

    assert result.ok, result.message
    request_xml = next(c.result for c in result.calls if c.method == "sendRequestXML")
    assert f'<?qbxml version="{expected}"?>' in request_xml
    conn.refresh_from_db()
    assert (conn.options["qbxml_version"], conn.options["qbxml_country"]) == (expected, country)


# --- the sandbox's Web Connector client and its QuickBooks refuse what the real ones refuse -----------


def test_the_pretend_quickbooks_refuses_what_the_request_processor_refuses():
    computer = webconnector.Computer.with_company("Initech", versions=("CA2.0", "CA3.0"))
    company = computer.files[webconnector._key(computer.open_file)]
    assert (
        computer.begin_session(computer.add_file("Globex company file").path) == webconnector.OTHER_FILE_OPEN
    )
    assert computer.begin_session("") is company

    def ask(version: str, request_id: str = "1") -> tuple[str, str, str]:
        return computer.process_request(
            company,
            f'<?xml version="1.0"?><?qbxml version="{version}"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
            f'<CompanyQueryRq requestID="{request_id}"/></QBXMLMsgsRq></QBXML>',
        )

    assert ask("13.0") == ("", *webconnector.UNSUPPORTED_VERSION)
    assert ask("CA3.0")[1] == ""
    assert 'statusCode="1060" statusSeverity="Error"' in ask("CA3.0", request_id="x" * 51)[0]
    assert computer.process_request(company, "not xml") == ("", *webconnector.PARSE_ERROR)

    stopped = webconnector.Computer()
    assert stopped.begin_session("") == webconnector.NOT_RUNNING_NO_FILE


def test_the_sandbox_web_connector_tries_the_file_connection_error_names(set_up, monkeypatch):
    """Any connectionError answer other than "done" is a company file to try ("" = the open one). Ours
    is always "done"; this plays a service that answers "" to show the client obeys it."""
    conn, password = set_up
    computer = computer_for(conn)
    own = computer.open_file
    globex = computer.add_file("Globex company file")
    computer.open(globex.path)
    seen = []

    def service(url, method, params, username=""):
        seen.append((method, params.get("strCompanyFileName")))
        return {"authenticate": ["1.t", own], "connectionError": ""}.get(method, "")

    monkeypatch.setattr(webconnector, "_call", service)
    run(conn, password, computer)
    assert seen[2:5] == [("authenticate", None), ("connectionError", None), ("sendRequestXML", globex.path)]


# --- POST /sandbox/webconnector/run/ ----------------------------------------------------------------


def run_form(conn, password: str, **extra) -> dict:
    return {
        "username": qbd.username_for(conn),
        "password": password,
        "next": start_url(conn.account, "qbd"),
        **extra,
    }


def test_running_the_web_connector_needs_someone_who_manages_that_connection(
    set_up, tenant, other_tenant, client
):
    conn, password = set_up
    before = snapshot(conn.account)
    url = reverse("sandbox:webconnector_run")

    anonymous = client.post(url, run_form(conn, password))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("accounts:login"))
    assert client_for(other_tenant.admin).post(url, run_form(conn, password)).status_code == 404
    assert client_for(tenant.staff).post(url, run_form(conn, password)).status_code == 403
    assert (
        client_for(tenant.admin)
        .post(url, {**run_form(conn, password), "username": "dext-x-99999"})
        .status_code
        == 404
    )
    assert snapshot(conn.account) == before
    assert not RequestLogEntry.objects.filter(provider="qbd").exists()  # no Web Connector ran

    response = client_for(tenant.admin).post(url, run_form(conn, password), follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        f"The Web Connector connected QuickBooks Desktop ({conn.account.name} company file)."
    ]


def test_the_run_button_can_open_another_clients_company_file(set_up):
    conn, password = set_up
    admin = client_for(conn.account.owner)
    response = admin.post(
        reverse("sandbox:webconnector_run"), run_form(conn, password, company_file="other"), follow=True
    )
    [message] = [str(m) for m in response.context["messages"]]
    assert message.startswith("The company file open in QuickBooks (")
    assert "Anotherclient.qbw) is not the one Dext Connect was added to" in message
    assert "The Web Connector's last run stopped:" in text(response)
    conn.refresh_from_db()
    assert (conn.external_id, conn.external_name) == ("", "")

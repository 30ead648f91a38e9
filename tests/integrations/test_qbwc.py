"""QuickBooks Desktop: the set-up page, the .qwc file, the password shown once, and the Web Connector
SOAP service — including the sandbox's Web Connector driving it over HTTP."""

from __future__ import annotations

import html
import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from lxml import etree

from accounts.models import ActivityEntry
from integrations.models import Connection, ConnectionStatus
from integrations.providers import qbd
from sandbox import webconnector
from tests.conftest import client_for
from tests.integrations.sandbox_helpers import (  # noqa: F401
    other_tenant_untouched,
    raw_credentials,
    snapshot,
    start_url,
)

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "http://developer.intuit.com/"

pytestmark = pytest.mark.usefixtures("other_tenant_untouched")


def text(response) -> str:
    return html.unescape(response.content.decode())


def soap(client, method: str, **params) -> list[str] | str:
    response = client.post(
        reverse("integrations:qbwc"),
        data=webconnector._envelope(method, params),
        content_type="text/xml; charset=utf-8",
        HTTP_SOAPACTION=f'"{NS}{method}"',
    )
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{SOAP}}}Envelope"
    result = root.find(f"{{{SOAP}}}Body/{{{NS}}}{method}Response/{{{NS}}}{method}Result")
    strings = result.findall(f"{{{NS}}}string")
    return [s.text or "" for s in strings] if strings else (result.text or "")


def set_up(client, account) -> str:
    """Select "Set up QuickBooks Desktop"; returns the password the page shows once."""
    response = client.post(start_url(account, "qbd"), {"action": "setup"}, follow=True)
    match = re.search(r'data-testid="qbwc-password">([^<]+)<', response.content.decode())
    assert match, text(response)
    return match.group(1)


@pytest.fixture
def pending(tenant):
    client = client_for(tenant.admin)
    password = set_up(client, tenant.account)
    conn = Connection.objects.select_related("account").get(account=tenant.account, provider="qbd")
    return client, conn, password


def test_set_up_shows_the_password_once_and_keeps_only_a_hash(pending):
    client, conn, password = pending
    assert conn.status == ConnectionStatus.PENDING
    creds = conn.credentials
    assert password not in raw_credentials(conn) and password not in str(creds)
    assert creds["qbwc_password_hash"].startswith(("md5$", "pbkdf2"))
    again = client.get(start_url(conn.account, "qbd"))
    assert password not in text(again)
    assert "Shown once when it was made." in text(again)
    assert "Waiting for the Web Connector" in text(again)


def test_the_qwc_file(pending, settings):
    client, conn, _ = pending
    response = client.get(reverse("integrations:qwc_download", kwargs={"account_slug": conn.account.slug}))
    assert response["Content-Disposition"] == f'attachment; filename="dext-connect-{conn.account.slug}.qwc"'
    root = etree.fromstring(response.content)
    assert root.tag == "QBWCXML"
    assert root.findtext("AppURL") == settings.SITE_URL + "/qbwc/"
    assert root.findtext("UserName") == qbd.username_for(conn)
    assert root.findtext("QBType") == "QBFS"
    assert re.fullmatch(r"\{[0-9a-f-]{36}\}", root.findtext("OwnerID"))
    assert re.fullmatch(r"\{[0-9a-f-]{36}\}", root.findtext("FileID"))
    assert root.findtext("Scheduler/RunEveryNMinutes") == "15"
    assert conn.account.name in root.findtext("AppName")


def test_the_qwc_file_needs_a_set_up_first(tenant):
    response = client_for(tenant.admin).get(
        reverse("integrations:qwc_download", kwargs={"account_slug": tenant.account.slug}), follow=True
    )
    assert "Set up QuickBooks Desktop first" in text(response)
    assert not Connection.objects.exists()


def computer_for(conn, **options) -> webconnector.Computer:
    """The customer's computer: the account's company file open, this set-up's .qwc added to it."""
    computer = webconnector.Computer.with_company(conn.account.name, **options)
    computer.add_application(webconnector.qwc_of(qbd.username_for(conn)))
    return computer


def send_request(client, ticket: str, computer: webconnector.Computer, *, first: bool = True, path=None):
    company = computer.files[webconnector._key(computer.open_file)]
    return soap(
        client,
        "sendRequestXML",
        ticket=ticket,
        strHCPResponse=computer.hcp_response(company, _owner_of(ticket)) if first else "",
        strCompanyFileName=path if path is not None else company.path,
        qbXMLCountry=computer.country,
        qbXMLMajorVers="16",
        qbXMLMinorVers="0",
    )


def _owner_of(ticket: str) -> str:
    """The Web Connector's own CompanyQuery (strHCPResponse) asks with the .qwc's OwnerID."""
    conn = Connection.objects.get(pk=int(ticket.split(".")[0]))
    return webconnector.qwc_of(qbd.username_for(conn)).owner_id


def answer(client, ticket: str, computer: webconnector.Computer, request_xml: str):
    company = computer.files[webconnector._key(computer.open_file)]
    response, hresult, message = computer.process_request(company, request_xml)
    return soap(
        client, "receiveResponseXML", ticket=ticket, response=response, hresult=hresult, message=message
    )


def test_the_web_connector_session_activates_the_connection(pending, client, other_tenant):
    _, conn, password = pending
    computer = computer_for(conn)
    company = webconnector.company_name_for(conn.account.name)
    assert soap(client, "serverVersion") == qbd.SERVER_VERSION
    assert soap(client, "clientVersion", strVersion="2.3.0.215") == ""
    # Nothing recorded yet: "" asks the Web Connector to use the company file open in QuickBooks.
    ticket, status = soap(client, "authenticate", strUserName=qbd.username_for(conn), strPassword=password)
    assert ticket and status == ""
    conn.refresh_from_db()
    assert conn.status == ConnectionStatus.ACTIVE
    assert conn.connected_by == conn.account.owner  # the admin who set it up

    request_xml = send_request(client, ticket, computer)
    # The company's own qbXML version (from its HostRet), asking for this set-up's data extensions.
    assert '<?qbxml version="16.0"?>' in request_xml
    assert f"<OwnerID>{{{conn.credentials['owner_id']}}}</OwnerID>" in request_xml
    # The company file is confirmed: the connection's lists are asked for, and read next in this run.
    assert 0 < int(answer(client, ticket, computer, request_xml)) < 100
    assert "<AccountQueryRq" in send_request(client, ticket, computer)
    conn.refresh_from_db()
    path = webconnector.company_file_for(company)
    assert (conn.external_name, conn.external_id) == (company, path)
    assert (conn.options["qbxml_version"], conn.options["qbxml_country"]) == ("16.0", "US")
    assert conn.credentials["company_file_verified"] is True
    # The activity log names the company file the Connections page shows.
    log = list(
        ActivityEntry.objects.filter(account=conn.account, action__startswith="integration.")
        .exclude(action="integration.qbwc_password")
        .order_by("pk")
        .values_list("summary", "after")
    )
    assert log == [
        ("Connected QuickBooks Desktop", "Active"),
        (f"QuickBooks Desktop is set up for the company file {path}", path),
        (f"QuickBooks Desktop reported its organisation: {company}", company),
    ]
    assert soap(client, "closeConnection", ticket=ticket) == "OK"
    # A closed ticket does no more work.
    assert send_request(client, ticket, computer) == ""
    assert soap(client, "getLastError", ticket=ticket) == qbd.SESSION_ENDED
    assert not Connection.objects.filter(account=other_tenant.account).exists()


def test_an_identified_company_file_makes_every_poll_idle_and_writes_nothing(pending, client):
    _, conn, password = pending
    computer = computer_for(conn)
    ticket, _ = soap(client, "authenticate", strUserName=qbd.username_for(conn), strPassword=password)
    # The company query, then the lists asked for when the file was confirmed, until QuickBooks is done.
    for _ in range(50):
        if answer(client, ticket, computer, send_request(client, ticket, computer)) == "100":
            break
    else:
        raise AssertionError("the Web Connector's first run never finished")
    soap(client, "closeConnection", ticket=ticket)
    before = snapshot(conn.account)

    ticket, status = soap(client, "authenticate", strUserName=qbd.username_for(conn), strPassword=password)
    # "none": no further request, no error in the Web Connector (not "" then an empty sendRequestXML).
    assert ticket and status == "none"
    assert snapshot(conn.account) == before


def test_the_pinned_company_file_is_asked_for_and_another_one_refused(pending, client):
    """Pinned but not identified yet (QuickBooks could not answer the CompanyQuery): authenticate names
    the pinned file; a session on another file gets "" and getLastError says why; the same path written
    differently (letter case, slashes) is the same file."""
    _, conn, password = pending
    computer = computer_for(conn, hcp_company=False, company_query_failures=["hresult"])
    username = qbd.username_for(conn)
    ticket, _ = soap(client, "authenticate", strUserName=username, strPassword=password)
    assert answer(client, ticket, computer, send_request(client, ticket, computer)) == "-1"
    assert "Could not access QuickBooks" in soap(client, "getLastError", ticket=ticket)
    conn.refresh_from_db()
    pinned = conn.external_id
    assert pinned.endswith(".qbw") and conn.external_name == ""

    ticket, status = soap(client, "authenticate", strUserName=username, strPassword=password)
    assert status == pinned
    other = computer.add_file("Another client company file").path
    before = snapshot(conn.account)
    assert send_request(client, ticket, computer, path=other) == ""
    message = soap(client, "getLastError", ticket=ticket)
    assert message.startswith(f"QuickBooks had the company file {other} open, but Dext Connect is set up")
    conn.refresh_from_db()
    assert conn.external_id == pinned and conn.last_error == message
    assert [s[:5] for s in snapshot(conn.account)] == [b[:5] for b in before]  # file and name unchanged

    ticket, _ = soap(client, "authenticate", strUserName=username, strPassword=password)
    same = pinned.upper().replace("\\", "/")
    assert "<CompanyQueryRq" in send_request(client, ticket, computer, path=same)


def test_a_company_record_with_another_fileid_of_ours_is_refused_at_once(pending, client):
    _, conn, password = pending
    computer = webconnector.Computer.with_company(conn.account.name)
    qwc = webconnector.qwc_of(qbd.username_for(conn))
    # Our OwnerID, another FileID: the company record says it belongs to another set-up.
    other_file_id = "{00000000-0000-0000-0000-000000000000}"
    computer.add_application(webconnector.Qwc(qwc.app_url, qwc.username, qwc.owner_id, other_file_id))
    ticket, _ = soap(client, "authenticate", strUserName=qbd.username_for(conn), strPassword=password)
    assert send_request(client, ticket, computer) == ""
    assert "is not the one Dext Connect was added to" in soap(client, "getLastError", ticket=ticket)
    conn.refresh_from_db()
    assert (conn.external_id, conn.external_name) == ("", "")


def test_an_error_status_in_the_company_answer_stops_the_run_with_its_message(pending, client):
    _, conn, password = pending
    computer = computer_for(conn, hcp_company=False, company_query_failures=["status"])
    ticket, _ = soap(client, "authenticate", strUserName=qbd.username_for(conn), strPassword=password)
    assert answer(client, ticket, computer, send_request(client, ticket, computer)) == "-1"
    message = soap(client, "getLastError", ticket=ticket)
    assert message.startswith(
        "QuickBooks did not answer the company query (statusCode 1010: System not available)"
    )
    conn.refresh_from_db()
    assert conn.last_error == message and conn.external_name == ""


@pytest.mark.parametrize("who", ["wrong password", "unknown user", "another connection's user"])
def test_a_web_connector_with_wrong_credentials_gets_nvu_and_changes_nothing(
    pending, client, other_tenant, who
):
    _, conn, password = pending
    other_password = set_up(client_for(other_tenant.admin), other_tenant.account)
    other = Connection.objects.get(account=other_tenant.account, provider="qbd")
    user, secret = {
        "wrong password": (qbd.username_for(conn), "not-the-password"),
        "unknown user": ("dext-nobody-999999", password),
        "another connection's user": (qbd.username_for(other), password),
    }[who]
    before, other_before = snapshot(conn.account), snapshot(other_tenant.account)
    assert soap(client, "authenticate", strUserName=user, strPassword=secret) == ["", "nvu"]
    assert snapshot(conn.account) == before and snapshot(other_tenant.account) == other_before
    assert other_password != password


def test_a_new_password_replaces_the_old_one(pending, client):
    admin_client, conn, old_password = pending
    response = admin_client.post(start_url(conn.account, "qbd"), {"action": "new_password"}, follow=True)
    new_password = re.search(r'data-testid="qbwc-password">([^<]+)<', response.content.decode()).group(1)
    assert new_password != old_password
    assert (
        soap(client, "authenticate", strUserName=qbd.username_for(conn), strPassword=old_password)[1] == "nvu"
    )
    assert soap(client, "authenticate", strUserName=qbd.username_for(conn), strPassword=new_password)[1] == ""


def test_quickbooks_desktop_as_a_second_main_is_refused(tenant, connect):
    connect(tenant.account, "xero")
    before = snapshot(tenant.account)
    client = client_for(tenant.admin)
    assert "Xero is already your main accounting software" in text(
        client.get(start_url(tenant.account, "qbd"))
    )
    response = client.post(start_url(tenant.account, "qbd"), {"action": "setup"}, follow=True)
    assert (
        "Xero is already your main accounting software. Disconnect it first to connect QuickBooks Desktop."
        in (text(response))
    )
    assert snapshot(tenant.account) == before


def test_an_old_web_connector_is_asked_to_update(client):
    assert soap(client, "clientVersion", strVersion="1.0.0.1").startswith(
        "E:Update the QuickBooks Web Connector"
    )


def test_a_request_that_is_not_soap_gets_a_fault(client):
    response = client.post(reverse("integrations:qbwc"), data=b"not xml", content_type="text/xml")
    assert response.status_code == 500 and b"Fault" in response.content


def test_connection_error_is_kept_for_get_last_error(pending, client):
    _, conn, password = pending
    ticket, _ = soap(client, "authenticate", strUserName=qbd.username_for(conn), strPassword=password)
    assert (
        soap(client, "connectionError", ticket=ticket, hresult="0x80040408", message="Could not start QB")
        == "done"
    )
    assert "Could not start QB" in soap(client, "getLastError", ticket=ticket)


@pytest.mark.usefixtures("sandbox")
def test_the_sandbox_web_connector_drives_our_service_over_http(pending, other_tenant):
    admin_client, conn, password = pending
    page = admin_client.get(start_url(conn.account, "qbd"))
    assert "Run the Web Connector" in text(page)
    assert 'name="company_file"' in text(page)
    company = f"{conn.account.name} company file"
    response = admin_client.post(
        reverse("sandbox:webconnector_run"),
        {
            "username": qbd.username_for(conn),
            "password": password,
            "account_name": conn.account.name,
            "next": start_url(conn.account, "qbd"),
        },
        follow=True,
    )
    # Back on the set-up page with what happened, not on a raw SOAP table.
    assert response.redirect_chain == [(start_url(conn.account, "qbd"), 302)]
    assert [str(m) for m in response.context["messages"]] == [
        f"The Web Connector connected QuickBooks Desktop ({company})."
    ]
    assert f"QuickBooks Desktop is connected ({company})" in text(response)
    conn.refresh_from_db()
    assert (conn.status, conn.external_name) == (ConnectionStatus.ACTIVE, company)
    assert conn.external_id.endswith(f"\\{re.sub('[^A-Za-z0-9]', '', conn.account.name)}.qbw")
    # The SOAP transcript stays on /sandbox/, for this account only, without the session ticket.
    sandbox_page = text(admin_client.get(reverse("sandbox:home")))
    methods = re.findall(r"sent (\w+); our service answered", sandbox_page)
    assert methods[-4:] == [
        "sendRequestXML",
        "authenticate",
        "clientVersion",
        "serverVersion",
    ]  # newest first
    assert methods[0] == "closeConnection"
    assert "sent authenticate; our service answered: ticket issued" in sandbox_page
    assert Connection.objects.get(pk=conn.pk).credentials.get("qbwc_ticket", "") == ""
    assert company in sandbox_page
    other_page = text(client_for(other_tenant.admin).get(reverse("sandbox:home")))
    assert "our service answered" not in other_page and company not in other_page


@pytest.mark.usefixtures("sandbox")
def test_reloading_the_web_connector_run_redirects_and_changes_nothing(pending):
    admin_client, conn, _ = pending
    before = snapshot(conn.account)
    response = admin_client.get(reverse("sandbox:webconnector_run"))
    assert response.status_code == 302 and response["Location"] == reverse("sandbox:home")
    assert snapshot(conn.account) == before


@pytest.mark.usefixtures("sandbox")
def test_a_sandbox_run_with_a_wrong_password_goes_back_with_the_error_and_changes_nothing(
    pending, other_tenant
):
    admin_client, conn, _ = pending
    before = (snapshot(conn.account), snapshot(other_tenant.account))
    response = admin_client.post(
        reverse("sandbox:webconnector_run"),
        {
            "username": qbd.username_for(conn),
            "password": "wrong-password",
            "account_name": conn.account.name,
            "next": start_url(conn.account, "qbd"),
        },
        follow=True,
    )
    assert response.redirect_chain == [(start_url(conn.account, "qbd"), 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "The Web Connector could not sign in: the user name or password is wrong."
    ]
    assert (snapshot(conn.account), snapshot(other_tenant.account)) == before


@pytest.mark.usefixtures("sandbox")
def test_the_management_command_with_a_wrong_password_fails_and_changes_nothing(pending):
    _, conn, _ = pending
    before = snapshot(conn.account)
    with pytest.raises(Exception, match="the user name or password is wrong"):
        call_command(
            "run_web_connector",
            username=qbd.username_for(conn),
            password="nope",
            stdout=open("/dev/null", "w"),
        )
    assert snapshot(conn.account) == before


from tests.integrations.sandbox_helpers import sandbox  # noqa: E402, F401  (fixture)


def test_a_forged_ticket_gets_no_work_and_changes_nothing(pending, client):
    _, conn, _ = pending
    before = snapshot(conn.account)
    forged = f"{conn.pk}.not-the-ticket"
    work = soap(
        client,
        "sendRequestXML",
        ticket=forged,
        strHCPResponse="",
        strCompanyFileName=r"C:\evil.qbw",
        qbXMLCountry="US",
        qbXMLMajorVers="13",
        qbXMLMinorVers="0",
    )
    assert work == ""
    assert (
        soap(client, "receiveResponseXML", ticket=forged, response="<QBXML/>", hresult="", message="") == "-1"
    )
    assert "session has ended" in soap(client, "getLastError", ticket=forged)
    assert snapshot(conn.account) == before


@pytest.mark.usefixtures("sandbox")
def test_a_sandbox_run_without_a_page_to_go_back_to_shows_its_result_on_the_sandbox_page(pending):
    admin_client, conn, password = pending
    response = admin_client.post(
        reverse("sandbox:webconnector_run"),
        {
            "username": qbd.username_for(conn),
            "password": password,
            "account_name": conn.account.name,
            "next": "https://elsewhere.example/",
        },
        follow=True,
    )
    assert response.redirect_chain == [(reverse("sandbox:home"), 302)]
    page = text(response)
    assert f"The Web Connector connected QuickBooks Desktop ({conn.account.name} company file)." in page
    assert "sent closeConnection; our service answered" in page


@pytest.mark.parametrize(
    "supported, major, minor, expected",
    [
        (["1.0", "2.0", "13.0"], "13", "0", "13.0"),
        (["13.0", "16.0", "17.0"], "17", "0", "16.0"),  # never newer than our requests are written for
        (["CA2.0", "CA3.0"], "3", "0", "CA3.0"),  # before 6.0 a country edition speaks its own versions
        (["CA3.0", "CA6.0"], "6", "0", "6.0"),  # from 6.0 the plain number serves every country
        ([], "12", "0", "12.0"),  # no HostRet: the request processor's version
        ([], "1٣", "0", ""),  # not ASCII digits: nothing to go by
        (["x", ""], "", "", ""),
    ],
)
def test_the_qbxml_version_is_the_newest_the_company_speaks(supported, major, minor, expected):
    assert qbd.choose_qbxml_version(supported, major, minor) == expected

"""The Web Connector endpoint answers unreadable, hostile or odd SOAP with a SOAP fault or "nvu", never an
HTML 500, and such a request creates or changes no connection (two tenants, both with QuickBooks
Desktop set up)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from lxml import etree

from integrations.models import Connection
from integrations.providers import qbd
from tests.conftest import client_for
from tests.integrations.sandbox_helpers import snapshot, start_url

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "http://developer.intuit.com/"


def set_up(client, account) -> str:
    response = client.post(start_url(account, "qbd"), {"action": "setup"}, follow=True)
    return re.search(r'data-testid="qbwc-password">([^<]+)<', response.content.decode()).group(1)


@pytest.fixture
def two_set_up(tenant, other_tenant):
    password = set_up(client_for(tenant.admin), tenant.account)
    set_up(client_for(other_tenant.admin), other_tenant.account)
    conn = Connection.objects.select_related("account").get(account=tenant.account, provider="qbd")
    return conn, password, [snapshot(tenant.account), snapshot(other_tenant.account)]


def post(client, body: str | bytes):
    return client.post(
        reverse("integrations:qbwc"),
        data=body.encode() if isinstance(body, str) else body,
        content_type="text/xml; charset=utf-8",
    )


def envelope(inner: str, prolog: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{prolog}'
        f'<soap:Envelope xmlns:soap="{SOAP}"><soap:Body>{inner}</soap:Body></soap:Envelope>'
    )


def result_of(response, method: str):
    assert response.status_code == 200, response.content
    root = etree.fromstring(response.content)
    result = root.find(f"{{{SOAP}}}Body/{{{NS}}}{method}Response/{{{NS}}}{method}Result")
    strings = result.findall(f"{{{NS}}}string")
    return [s.text or "" for s in strings] if strings else (result.text or "")


def fault_of(response) -> str:
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/xml")
    root = etree.fromstring(response.content)
    return root.findtext(f"{{{SOAP}}}Body/{{{SOAP}}}Fault/faultstring")


def unchanged(tenant, other_tenant, before) -> bool:
    return [snapshot(tenant.account), snapshot(other_tenant.account)] == before


def test_a_comment_inside_the_call_is_not_a_parameter(client, two_set_up, tenant, other_tenant):
    conn, password, before = two_set_up
    body = envelope(
        f'<authenticate xmlns="{NS}"><!-- the Web Connector may say anything here -->'
        f"<strUserName>{qbd.username_for(conn)}</strUserName><!-- and here -->"
        f"<strPassword>wrong</strPassword></authenticate>"
    )
    assert result_of(post(client, body), "authenticate") == ["", "nvu"]
    assert unchanged(tenant, other_tenant, before)


def test_a_comment_before_the_call_is_skipped(client):
    body = envelope(f'<!-- first --><serverVersion xmlns="{NS}"/>')
    assert result_of(post(client, body), "serverVersion") == qbd.SERVER_VERSION


def test_a_processing_instruction_in_the_call_is_skipped(client):
    body = envelope(f'<clientVersion xmlns="{NS}"><?pi x?><strVersion>2.3.0.215</strVersion></clientVersion>')
    assert result_of(post(client, body), "clientVersion") == ""


def test_an_xxe_attempt_is_refused_and_reads_nothing(client, two_set_up, tenant, other_tenant, tmp_path):
    conn, _, before = two_set_up
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-FILE-CONTENT")
    prolog = f'<!DOCTYPE soap:Envelope [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    body = envelope(
        f'<authenticate xmlns="{NS}"><strUserName>{qbd.username_for(conn)}</strUserName>'
        f"<strPassword>&xxe;</strPassword></authenticate>",
        prolog=prolog,
    )
    response = post(client, body)
    assert fault_of(response) == "The request must not contain a DTD."
    assert b"TOP-SECRET" not in response.content
    assert unchanged(tenant, other_tenant, before)


def test_an_entity_reference_without_a_dtd_is_a_fault_not_a_500(client, two_set_up, tenant, other_tenant):
    _, _, before = two_set_up
    body = envelope(f'<serverVersion xmlns="{NS}">&undeclared;</serverVersion>')
    assert fault_of(post(client, body)) == "The request is not XML."
    assert unchanged(tenant, other_tenant, before)


def test_an_internal_entity_bomb_is_refused(client):
    prolog = (
        '<!DOCTYPE soap:Envelope [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    )
    body = envelope(f'<clientVersion xmlns="{NS}"><strVersion>&c;</strVersion></clientVersion>', prolog)
    assert fault_of(post(client, body)) == "The request must not contain a DTD."


def test_an_empty_body_with_only_a_comment_is_a_fault(client):
    assert fault_of(post(client, envelope("<!-- nothing -->"))) == "The request has no SOAP body."


@pytest.mark.parametrize(
    "username",
    [
        "dext-acme-²",  # str.isdigit() is True, int() refuses it
        "dext-acme-٣",  # Arabic-Indic three: isdigit() and int() both accept it
        "dext-acme-" + "9" * 40,  # far beyond any id
        "dext-acme-0",
        "dext-acme--1",
        "dext-acme-",
    ],
)
def test_odd_user_names_get_nvu(client, two_set_up, tenant, other_tenant, username):
    conn, password, before = two_set_up
    if username.endswith("٣"):
        username = username[:-1] + "".join(chr(0x0660 + int(d)) for d in str(conn.pk))
    body = envelope(
        f'<authenticate xmlns="{NS}"><strUserName>{username}</strUserName>'
        f"<strPassword>{password}</strPassword></authenticate>"
    )
    assert result_of(post(client, body), "authenticate") == ["", "nvu"]
    assert unchanged(tenant, other_tenant, before)


@pytest.mark.parametrize("ticket", ["².abc", "9" * 40 + ".abc", "", "."])
def test_odd_tickets_get_no_work(client, two_set_up, tenant, other_tenant, ticket):
    _, _, before = two_set_up
    body = envelope(f'<sendRequestXML xmlns="{NS}"><ticket>{ticket}</ticket></sendRequestXML>')
    assert result_of(post(client, body), "sendRequestXML") == ""
    assert unchanged(tenant, other_tenant, before)


def test_an_odd_client_version_is_not_a_500(client):
    body = envelope(f'<clientVersion xmlns="{NS}"><strVersion>².1</strVersion></clientVersion>')
    assert result_of(post(client, body), "clientVersion") == ""


def test_the_response_parser_does_not_expand_entities(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE QBXML [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        '<QBXML><QBXMLMsgsRs><CompanyQueryRs statusCode="0"><CompanyRet><CompanyName>&xxe;</CompanyName>'
        "</CompanyRet></CompanyQueryRs></QBXMLMsgsRs></QBXML>"
    )
    assert "TOP-SECRET" not in (qbd.company_name_from(xml) or "")


@pytest.mark.parametrize(
    "username_of", [lambda c: f"dext-glöbex-{c.pk}", lambda c: f"dext-{c.account.slug}-{c.pk}é"]
)
def test_non_ascii_user_names_are_nvu_not_a_crash(two_set_up, client, username_of):
    conn, password, before = two_set_up
    response = post(
        client,
        envelope(
            f'<authenticate xmlns="{NS}"><strUserName>{username_of(conn)}</strUserName>'
            f"<strPassword>{password}</strPassword></authenticate>"
        ),
    )
    assert result_of(response, "authenticate")[1] == "nvu"
    assert [
        snapshot(conn.account),
        snapshot(Connection.objects.exclude(account=conn.account).get().account),
    ] == before


@pytest.mark.parametrize("method", ["sendRequestXML", "getLastError", "closeConnection"])
def test_non_ascii_tickets_are_refused_not_a_crash(two_set_up, client, method):
    conn, _, before = two_set_up
    response = post(client, envelope(f'<{method} xmlns="{NS}"><ticket>{conn.pk}.é</ticket></{method}>'))
    assert response.status_code in (200, 500)
    assert response["Content-Type"].startswith("text/xml")
    assert snapshot(conn.account) == before[0]


@pytest.mark.parametrize("nul", ["\x00", "&#0;", "&#x0;"], ids=["raw", "decimal-reference", "hex-reference"])
@pytest.mark.parametrize("where", ["user name", "ticket"])
def test_a_nul_in_the_soap_is_a_fault_and_changes_nothing(
    client, two_set_up, tenant, other_tenant, nul, where
):
    """The NUL guard (dext_connect/middleware.py) does not read non-form bodies: XML 1.0 forbids the
    character, raw or as a reference, so the parser refuses it and the Web Connector gets a SOAP fault,
    never an HTML 500 from a database that refuses NUL in text."""
    conn, password, before = two_set_up
    if where == "user name":
        inner = (
            f'<authenticate xmlns="{NS}"><strUserName>{qbd.username_for(conn)}{nul}</strUserName>'
            f"<strPassword>{password}</strPassword></authenticate>"
        )
    else:
        inner = f'<sendRequestXML xmlns="{NS}"><ticket>{conn.pk}.{nul}</ticket></sendRequestXML>'
    assert fault_of(post(client, envelope(inner))) == "The request is not XML."
    assert unchanged(tenant, other_tenant, before)

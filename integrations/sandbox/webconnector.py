"""A QuickBooks Web Connector for the sandbox: it drives our /qbwc/ SOAP service over HTTP exactly as
the real Web Connector does (serverVersion → clientVersion → authenticate → sendRequestXML /
receiveResponseXML until nothing is queued → closeConnection), and answers qbXML requests as a small
pretend QuickBooks company would."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import requests
from django.conf import settings
from django.urls import reverse
from lxml import etree

from .log import log_request

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
QBWC_NS = "http://developer.intuit.com/"
CLIENT_VERSION = "2.3.0.215"
COMPANY_NAME = "Acme Furniture Co (QuickBooks Desktop)"
COMPANY_FILE = r"C:\Users\Public\Documents\Intuit\QuickBooks\Company Files\AcmeFurniture.qbw"
MAX_ROUNDS = 20


@dataclass
class Call:
    method: str
    result: str


@dataclass
class Run:
    calls: list[Call] = field(default_factory=list)
    ok: bool = False
    message: str = ""


def our_app_url() -> str:
    return settings.SITE_URL + reverse("integrations:qbwc")


def _envelope(method: str, params: dict[str, str | int]) -> bytes:
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    body = etree.SubElement(env, f"{{{SOAP_ENV}}}Body")
    call = etree.SubElement(body, f"{{{QBWC_NS}}}{method}", nsmap={None: QBWC_NS})
    for name, value in params.items():
        etree.SubElement(call, f"{{{QBWC_NS}}}{name}").text = str(value)
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def _call(app_url: str, method: str, params: dict[str, str | int], username: str = "") -> list[str] | str:
    response = requests.post(
        app_url,
        data=_envelope(method, params),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{QBWC_NS}{method}"'},
        timeout=30,
    )
    root = etree.fromstring(response.content)
    fault = root.find(f".//{{{SOAP_ENV}}}Fault")
    if fault is not None:
        raise RuntimeError(fault.findtext("faultstring") or "SOAP fault")
    result = root.find(f".//{{{QBWC_NS}}}{method}Result")
    if result is None:
        raise RuntimeError(f"{method}: no {method}Result in the answer")
    strings = result.findall(f"{{{QBWC_NS}}}string")
    # Tagged with the Web Connector user name: /sandbox/ shows the run to that connection's account.
    log_request(
        provider="qbd",
        method="POST",
        path=f"{app_url} {method}",
        summary=f"sent {method}",
        status=200,
        org_ids=[username],
    )
    return [s.text or "" for s in strings] if strings else (result.text or "")


def answer_qbxml(request_xml: str) -> str:
    """What the pretend QuickBooks company answers to a qbXML request."""
    root = etree.fromstring(
        request_xml.encode(), parser=etree.XMLParser(resolve_entities=False, no_network=True)
    )
    answers = []
    for rq in root.iter():
        tag = etree.QName(rq).localname
        if not tag.endswith("Rq") or tag == "QBXMLMsgsRq":
            continue
        request_id = rq.get("requestID", "")
        if tag == "CompanyQueryRq":
            answers.append(
                f'<CompanyQueryRs requestID="{request_id}" statusCode="0" statusSeverity="Info" '
                f'statusMessage="Status OK"><CompanyRet><IsSampleCompany>false</IsSampleCompany>'
                f"<CompanyName>{COMPANY_NAME}</CompanyName></CompanyRet></CompanyQueryRs>"
            )
        elif tag == "BillAddRq":
            txn = f"{uuid.uuid4().hex[:8].upper()}-{int(time.time())}"  # QuickBooks' TxnID shape
            answers.append(
                f'<BillAddRs requestID="{request_id}" statusCode="0" statusSeverity="Info" '
                f'statusMessage="Status OK"><BillRet><TxnID>{txn}</TxnID></BillRet></BillAddRs>'
            )
        else:
            rs = tag[:-2] + "Rs"
            answers.append(
                f'<{rs} requestID="{request_id}" statusCode="0" statusSeverity="Info" '
                'statusMessage="Status OK"/>'
            )
    return '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>' + "".join(answers) + "</QBXMLMsgsRs></QBXML>"


def run(*, app_url: str, username: str, password: str) -> Run:
    """One Web Connector session against `app_url`."""
    out = Run()

    def call(method: str, **params: str | int) -> list[str] | str:
        result = _call(app_url, method, params, username=username)
        out.calls.append(Call(method, " | ".join(result) if isinstance(result, list) else result))
        return result

    try:
        call("serverVersion")
        version = call("clientVersion", strVersion=CLIENT_VERSION)
        if isinstance(version, str) and version.startswith("E:"):
            out.message = version[2:]
            return out
        ticket, status = (call("authenticate", strUserName=username, strPassword=password) + ["", ""])[:2]
        if status == "nvu" or not ticket:
            out.message = "The Web Connector could not sign in: the user name or password is wrong."
            return out
        if status == "none":
            out.ok, out.message = True, "Signed in; there was no work to do."
            call("closeConnection", ticket=ticket)
            return out
        for _ in range(MAX_ROUNDS):
            request_xml = call(
                "sendRequestXML",
                ticket=ticket,
                strHCPResponse="",
                strCompanyFileName=COMPANY_FILE,
                qbXMLCountry="US",
                qbXMLMajorVers=13,
                qbXMLMinorVers=0,
            )
            if not request_xml:
                break
            percent = call(
                "receiveResponseXML",
                ticket=ticket,
                response=answer_qbxml(str(request_xml)),
                hresult="",
                message="",
            )
            if int(str(percent) or 0) < 0:
                out.message = str(call("getLastError", ticket=ticket))
                call("closeConnection", ticket=ticket)
                return out
        call("closeConnection", ticket=ticket)
    except (requests.RequestException, RuntimeError, etree.XMLSyntaxError, ValueError) as exc:
        out.message = f"The Web Connector stopped: {exc}"
        return out
    out.ok, out.message = True, "The Web Connector signed in and finished its work."
    return out

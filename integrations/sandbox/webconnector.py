"""A QuickBooks Web Connector for the sandbox: it drives our /qbwc/ SOAP service over HTTP exactly as
the real Web Connector does (serverVersion → clientVersion → authenticate → sendRequestXML /
receiveResponseXML until nothing is queued → closeConnection), and answers qbXML requests as a small
pretend QuickBooks company would."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import requests
from django.conf import settings
from django.urls import reverse
from lxml import etree

from .log import log_request
from .models import SandboxOrganisation

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
QBWC_NS = "http://developer.intuit.com/"
CLIENT_VERSION = "2.3.0.215"
COMPANY_FOLDER = "C:\\Users\\Public\\Documents\\Intuit\\QuickBooks\\Company Files\\"
MAX_ROUNDS = 20


def company_name_for(account_name: str) -> str:
    """The pretend company file the sandbox opens is named per account ("Initech company file"), so a
    demo never shows another company's name. Without an account name: "Sandbox company file"."""
    return f"{account_name.strip() or 'Sandbox'} company file"[:150]


def company_file_for(company_name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9]+", "", company_name.removesuffix(" company file"))
    return COMPANY_FOLDER + (stem or "Sandbox") + ".qbw"


@dataclass
class Call:
    method: str
    result: str


@dataclass
class Run:
    company_name: str = ""
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
    answer = [s.text or "" for s in strings] if strings else (result.text or "")
    # The SOAP transcript, on /sandbox/: tagged with the Web Connector user name, so the page shows
    # the run to that connection's account only.
    log_request(
        provider="qbd",
        method="POST",
        path=f"{app_url} {method}",
        summary=f"sent {method}; our service answered: {_shown(method, answer)}",
        status=200,
        org_ids=[username],
    )
    return answer


def _shown(method: str, answer: list[str] | str) -> str:
    """An answer as the transcript shows it: never the session ticket (it lets its holder work)."""
    if method == "authenticate" and isinstance(answer, list):
        ticket, status = (answer + ["", ""])[:2]
        return ("ticket issued" if ticket else "no ticket") + (f", status {status!r}" if status else "")
    text = " | ".join(answer) if isinstance(answer, list) else answer
    text = " ".join(text.split())
    return (text[:300] + "…") if len(text) > 300 else (text or '""')


def answer_qbxml(request_xml: str, company_name: str = "") -> str:
    """What the pretend QuickBooks company (`company_name`, see company_name_for) answers to a qbXML
    request."""
    company_name = escape(company_name or company_name_for(""))
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
                f"<CompanyName>{company_name}</CompanyName></CompanyRet></CompanyQueryRs>"
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


def run(*, app_url: str, username: str, password: str, account_name: str = "") -> Run:
    """One Web Connector session against `app_url`, with the company file of `account_name` open."""
    out = Run(company_name=company_name_for(account_name))

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
        # Signed in: the pretend company file is this connection's organisation on /sandbox/ (listed
        # for its account, under the Web Connector user name).
        SandboxOrganisation.objects.update_or_create(
            provider="qbd", org_id=username, defaults={"name": out.company_name}
        )
        if status == "none":
            out.ok, out.message = True, "Signed in; there was no work to do."
            call("closeConnection", ticket=ticket)
            return out
        for _ in range(MAX_ROUNDS):
            request_xml = call(
                "sendRequestXML",
                ticket=ticket,
                strHCPResponse="",
                strCompanyFileName=company_file_for(out.company_name),
                qbXMLCountry="US",
                qbXMLMajorVers=13,
                qbXMLMinorVers=0,
            )
            if not request_xml:
                break
            percent = call(
                "receiveResponseXML",
                ticket=ticket,
                response=answer_qbxml(str(request_xml), out.company_name),
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

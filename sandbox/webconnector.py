"""A QuickBooks Web Connector for the sandbox, and the customer's computer it runs on.

`run` drives our /qbwc/ SOAP service over HTTP as the real Web Connector does (QBWC Programmer's
Guide, chapters 8 and 10; docs/providers.md): serverVersion → clientVersion → authenticate, then, when
there is work, opens the company file the service names (or the open one) and calls sendRequestXML /
receiveResponseXML until the service says 100, and closeConnection. It reacts to what the service
answers as the real one does: "nvu" and "none" from authenticate, connectionError when QuickBooks
cannot open the file asked for, getLastError after "" from sendRequestXML or a negative
receiveResponseXML, "NoOp".

`Computer` plays QuickBooks on the customer's computer: its company files, which one is open, the
qbXML versions it speaks, the FileID the Web Connector wrote into the company record when the .qwc
was added, and the request processor's refusals (HRESULTs, statusCodes) with their documented texts.
A company file's lists are the sandbox organisation's (SandboxListEntry, provider "qbd"); the list
queries are answered by sandbox/qbdlists.py.
"""

from __future__ import annotations

import ntpath
import re
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import requests
from django.conf import settings
from django.urls import reverse
from lxml import etree

from . import qbdbills, qbdlists
from .log import log_request
from .models import SandboxOrganisation

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
QBWC_NS = "http://developer.intuit.com/"
CLIENT_VERSION = "2.3.0.215"
COMPANY_FOLDER = "C:\\Users\\Public\\Documents\\Intuit\\QuickBooks\\Company Files\\"
# A guard against a service that never says 100 (the real Web Connector has none): enough rounds for
# a company file with tens of thousands of vendors, a few hundred per iterator page.
MAX_ROUNDS = 200
# The guide: a service should not make the Web Connector retry connectionError "more than a couple
# of times"; the pretend one stops after this many company files.
MAX_OPEN_ATTEMPTS = 3
MAX_NOOPS = 3

# The request processor's refusals, as the Web Connector passes them on (hresult, message). Sources in
# docs/providers.md ("QuickBooks Desktop: HRESULTs the sandbox returns").
OTHER_FILE_OPEN = (
    "0x8004040A",
    "A QuickBooks company data file is already open and it is different from the one requested.",
)
NOT_RUNNING_NO_FILE = (
    "0x80040416",
    "If QuickBooks is not running, the company data file name must be supplied to BeginSession.",
)
COULD_NOT_START = ("0x80040408", "Could not start QuickBooks.")
COULD_NOT_ACCESS = ("0x80040401", "Could not access QuickBooks.")
PARSE_ERROR = ("0x80040400", "QuickBooks found an error when parsing the provided XML text stream.")
UNSUPPORTED_VERSION = (
    "0x80040423",
    "The version of QBXML that was requested is not supported or is unknown.",
)
# statusCodes QuickBooks puts in an answer (Intuit's onscreen reference, "All statusCode Values").
SYSTEM_NOT_AVAILABLE = ("1010", "System not available")
INVALID_REQUEST_ID = (
    "1060",
    'The request ID "{}" is invalid, possibly too long. (The maximum is 50 characters.)',
)

# QuickBooks 2023 and later (SDK 16): every qbXML version from 1.0.
US_VERSIONS = (
    "1.0", "1.1", "2.0", "2.1", "3.0", "4.0", "4.1", "5.0", "6.0", "7.0", "8.0", "9.0", "10.0",
    "11.0", "12.0", "13.0", "14.0", "15.0", "16.0",
)  # fmt: skip


def company_name_for(account_name: str) -> str:
    """The pretend company file the sandbox opens is named per account ("Initech company file"), so a
    demo never shows another company's name. Without an account name: "Sandbox company file"."""
    return f"{account_name.strip() or 'Sandbox'} company file"[:150]


def company_file_for(company_name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9]+", "", company_name.removesuffix(" company file"))
    return COMPANY_FOLDER + (stem or "Sandbox") + ".qbw"


def _key(path: str) -> str:
    return ntpath.normcase(ntpath.normpath(path.strip()))


def _bare(guid: str) -> str:
    return guid.strip().strip("{}").lower()


# --- the .qwc file -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Qwc:
    """What the Web Connector keeps of an added .qwc file (the password is typed in separately)."""

    app_url: str
    username: str
    owner_id: str = ""
    file_id: str = ""

    @classmethod
    def from_xml(cls, text: str | bytes) -> Qwc:
        root = etree.fromstring(
            text.encode() if isinstance(text, str) else text,
            parser=etree.XMLParser(resolve_entities=False, no_network=True),
        )
        return cls(
            app_url=(root.findtext("AppURL") or "").strip(),
            username=(root.findtext("UserName") or "").strip(),
            owner_id=(root.findtext("OwnerID") or "").strip(),
            file_id=(root.findtext("FileID") or "").strip(),
        )


def connection_for(username: str):
    """Our QuickBooks Desktop connection with this Web Connector user name, or None. Unscoped on
    purpose: the sandbox plays the customer, who knows a user name, not an account."""
    from django_scopes import scopes_disabled

    from integrations.providers import qbd

    connection_id = qbd._id_from_username(username)
    if connection_id is None:
        return None
    with scopes_disabled():
        connection = (
            qbd.Connection.objects.select_related("account").filter(pk=connection_id, provider="qbd").first()
        )
    return connection if connection is not None and qbd.username_for(connection) == username else None


def qwc_of(username: str) -> Qwc:
    """The .qwc file the set-up page offers for the connection with this Web Connector user name, as if
    the customer had downloaded and added it (the sandbox reads our side only to play the customer)."""
    from integrations.providers import qbd

    connection = connection_for(username)
    if connection is None:
        return Qwc(app_url=our_app_url(), username=username)
    return Qwc.from_xml(qbd.qwc_xml(connection))


# --- the customer's computer ------------------------------------------------------------------------


@dataclass
class CompanyFile:
    path: str
    name: str
    # Private data extensions on the company record: {OwnerID: {DataExtName: value}}.
    data_ext: dict[str, dict[str, str]] = field(default_factory=dict)
    # The sandbox organisation whose lists (SandboxListEntry, provider "qbd") the file holds: the Web
    # Connector user name it is listed under on /sandbox/ (`run` sets it); else its company name.
    org_id: str = ""

    @property
    def lists_org(self) -> str:
        return (self.org_id or self.name)[:100]


@dataclass
class Computer:
    """QuickBooks on the customer's computer. `open_file` is the company file open in QuickBooks (None:
    QuickBooks is not running). Options for tests: `hcp_company=False` leaves the Company answer out of
    strHCPResponse; `company_query_failures` makes the next CompanyQuery requests fail, each with
    "hresult" (the request processor's 0x80040401) or "status" (statusCode 1010 in the answer);
    `list_query_failures` {"VendorQueryRq": 2} answers the 2nd request of that query statusCode 1000
    (once). `iterators` are the running list iterators: they end with the QuickBooks session.
    `lost_answers`: faults for the next message sets that add documents: QuickBooks runs the adds (the
    documents are created), then the answer never reaches our service — "stop": the Web Connector's
    receiveResponseXML call fails and the run just ends (no closeConnection, as when the network
    drops); "close": the Web Connector gives up on it and calls closeConnection."""

    files: dict[str, CompanyFile] = field(default_factory=dict)
    open_file: str | None = None
    country: str = "US"
    versions: tuple[str, ...] = US_VERSIONS
    product: str = "QuickBooks Desktop Pro 2024"
    hcp_company: bool = True
    company_query_failures: list[str] = field(default_factory=list)
    list_query_failures: dict[str, int] = field(default_factory=dict)
    iterators: dict[str, qbdlists.Iterator] = field(default_factory=dict)
    lost_answers: list[str] = field(default_factory=list)
    _queries_seen: dict[str, int] = field(default_factory=dict)

    def loses_answer_to(self, request_xml: str) -> str:
        """The fault for this message set ("" none): only sets that add documents lose their answer."""
        if self.lost_answers and any(f"<{tag}" in request_xml for tag in qbdbills.ADDS):
            return self.lost_answers.pop(0)
        return ""

    @classmethod
    def with_company(cls, account_name: str, **options) -> Computer:
        """A computer with the account's pretend company file, open in QuickBooks."""
        computer = cls(**options)
        computer.open_file = computer.add_file(company_name_for(account_name)).path
        return computer

    def add_file(self, name: str) -> CompanyFile:
        company = CompanyFile(path=company_file_for(name), name=name)
        self.files.setdefault(_key(company.path), company)
        return self.files[_key(company.path)]

    def open(self, path: str) -> None:
        self.open_file = self.files[_key(path)].path

    def add_application(self, qwc: Qwc) -> None:
        """The customer adds the .qwc file: the Web Connector writes its FileID, under its OwnerID, into
        the company file open now (QBWC Programmer's Guide, chapter 4, FileID)."""
        if qwc.owner_id and qwc.file_id and self.open_file is not None:
            company = self.files[_key(self.open_file)]
            company.data_ext.setdefault(_bare(qwc.owner_id), {})["FileID"] = qwc.file_id

    # The request processor: BeginSession and ProcessRequest.

    def begin_session(self, requested: str) -> CompanyFile | tuple[str, str]:
        """Open `requested` ("" = the file open in QuickBooks): the company file, or (hresult, message)."""
        if self.open_file is None:
            if not requested:
                return NOT_RUNNING_NO_FILE
            if _key(requested) not in self.files:
                return COULD_NOT_START
            self.open_file = self.files[_key(requested)].path
        if requested and _key(requested) != _key(self.open_file):
            return OTHER_FILE_OPEN
        # A new QuickBooks session: iterators are "only valid for the current QuickBooks session".
        self.iterators.clear()
        return self.files[_key(self.open_file)]

    def hcp_response(self, company: CompanyFile, owner_id: str) -> str:
        """strHCPResponse: the Web Connector's own HostQuery, CompanyQuery (with the .qwc's OwnerID)
        and PreferencesQuery answers, as in the guide's sendRequestXML parameter description."""
        ok = 'statusCode="0" statusSeverity="Info" statusMessage="Status OK"'
        host = (
            f'<HostQueryRs requestID="0" {ok}><HostRet>'
            f"<ProductName>{escape(self.product)}</ProductName><Country>{self.country}</Country>"
            + "".join(f"<SupportedQBXMLVersion>{v}</SupportedQBXMLVersion>" for v in self.versions)
            + "<IsAutomaticLogin>false</IsAutomaticLogin><QBFileMode>SingleUser</QBFileMode>"
            "</HostRet></HostQueryRs>"
        )
        company_rs = self._company_rs("1", company, owner_id) if self.hcp_company else ""
        prefs = (
            f'<PreferencesQueryRs requestID="2" {ok}>'
            "<PreferencesRet><AccountingPreferences><IsUsingClassTracking>false</IsUsingClassTracking>"
            "</AccountingPreferences></PreferencesRet></PreferencesQueryRs>"
        )
        return f'<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>{host}{company_rs}{prefs}</QBXMLMsgsRs></QBXML>'

    def _company_rs(self, request_id: str, company: CompanyFile, owner_id: str) -> str:
        exts = company.data_ext.get(_bare(owner_id), {}) if owner_id else {}
        data_ext = "".join(
            f"<DataExtRet><OwnerID>{escape(owner_id)}</OwnerID><DataExtName>{escape(name)}</DataExtName>"
            f"<DataExtType>STR255TYPE</DataExtType><DataExtValue>{escape(value)}</DataExtValue></DataExtRet>"
            for name, value in exts.items()
        )
        return (
            f'<CompanyQueryRs requestID="{escape(request_id)}" statusCode="0" statusSeverity="Info" '
            f'statusMessage="Status OK"><CompanyRet><IsSampleCompany>false</IsSampleCompany>'
            f"<CompanyName>{escape(company.name)}</CompanyName>{data_ext}</CompanyRet></CompanyQueryRs>"
        )

    def _speaks(self, version: str) -> bool:
        if version in self.versions:
            return True
        # From qbXML 6.0 the plain number works for every country (Intuit's US_CDN_UK_CustomerQuery).
        plain = {re.sub(r"^[A-Z]{2}", "", v) for v in self.versions}
        match = re.fullmatch(r"([0-9]+)\.([0-9]+)", version)
        return bool(match) and int(match[1]) >= 6 and version in plain

    def process_request(self, company: CompanyFile, request_xml: str) -> tuple[str, str, str]:
        """ProcessRequest: (response, hresult, message) as receiveResponseXML passes them on."""
        try:
            root = etree.fromstring(
                request_xml.encode(), parser=etree.XMLParser(resolve_entities=False, no_network=True)
            )
        except (etree.XMLSyntaxError, ValueError):
            return ("", *PARSE_ERROR)
        pi = next(
            (n for n in root.itersiblings(preceding=True) if isinstance(n, etree._ProcessingInstruction)),
            None,
        )
        version = pi.get("version", "") if pi is not None and pi.target == "qbxml" else ""
        if not self._speaks(version):
            return ("", *UNSUPPORTED_VERSION)
        return self.answer_requests(company, root, version)

    def answer_requests(
        self, company: CompanyFile, root: etree._Element, version: str = "16.0"
    ) -> tuple[str, str, str]:
        """The answers to the requests of a message set the request processor accepted."""
        answers = []
        for rq in root.iter(etree.Element):
            tag = etree.QName(rq).localname
            if not tag.endswith("Rq") or tag == "QBXMLMsgsRq":
                continue
            request_id = rq.get("requestID", "")
            if len(request_id) > 50:
                code, text = INVALID_REQUEST_ID
                answers.append(_status_rs(tag, request_id, code, "Error", text.format(request_id)))
            elif tag == "CompanyQueryRq":
                if self.company_query_failures:
                    failure = self.company_query_failures.pop(0)
                    if failure == "hresult":
                        return ("", *COULD_NOT_ACCESS)
                    code, text = SYSTEM_NOT_AVAILABLE
                    answers.append(_status_rs(tag, request_id, code, "Error", text))
                    continue
                answers.append(self._company_rs(request_id, company, rq.findtext("OwnerID") or ""))
            elif tag in qbdlists.QUERIES:
                seen = self._queries_seen[tag] = self._queries_seen.get(tag, 0) + 1
                if self.list_query_failures.get(tag) == seen:
                    del self.list_query_failures[tag]
                    answers.append(_status_rs(tag, request_id, *qbdlists.INTERNAL_ERROR))
                    continue
                try:
                    answers.append(
                        qbdlists.answer(
                            tag, rq, org_id=company.lists_org, version=version, iterators=self.iterators
                        )
                    )
                except qbdlists.QbxmlRefused:
                    return ("", *PARSE_ERROR)
            elif tag in qbdbills.REQUESTS:
                # The company file's documents, against its organisation's lists (sandbox/qbdbills.py).
                answers.append(qbdbills.answer(tag, rq, company.lists_org))
            else:
                answers.append(_status_rs(tag, request_id, "0", "Info", "Status OK"))
        return (
            '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>' + "".join(answers) + "</QBXMLMsgsRs></QBXML>",
            "",
            "",
        )


def _status_rs(tag: str, request_id: str, code: str, severity: str, message: str) -> str:
    return (
        f'<{tag[:-2]}Rs requestID="{escape(request_id)}" statusCode="{code}" statusSeverity="{severity}" '
        f'statusMessage="{escape(message)}"/>'
    )


def answer_qbxml(request_xml: str, company_name: str = "") -> str:
    """What the pretend company `company_name` answers to the requests in a qbXML message set, without
    the request processor's checks of the message itself (its qbXML version): for tests of the answers.
    The Web Connector's runs go through `Computer.process_request`, which refuses what it refuses."""
    computer = Computer.with_company(company_name.removesuffix(" company file") if company_name else "")
    root = etree.fromstring(
        request_xml.encode(), parser=etree.XMLParser(resolve_entities=False, no_network=True)
    )
    response, hresult, message = computer.answer_requests(
        computer.files[_key(computer.open_file or "")], root
    )
    if hresult:
        raise ValueError(f"{hresult}: {message}")
    return response


# --- the Web Connector ------------------------------------------------------------------------------


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


def _version_args(versions: tuple[str, ...]) -> tuple[int, int]:
    """qbXMLMajorVers/qbXMLMinorVers: the newest version the request processor speaks."""
    numbers = [tuple(int(p) for p in re.sub(r"^[A-Z]{2}", "", v).split(".")) for v in versions]
    return max(numbers) if numbers else (0, 0)  # type: ignore[return-value]


def run(
    *,
    username: str,
    password: str,
    app_url: str | None = None,
    account_name: str = "",
    qwc: Qwc | None = None,
    computer: Computer | None = None,
) -> Run:
    """One Web Connector run against our service. By default the computer has the account's pretend
    company file open, and the .qwc (`qwc_of(username)` unless given) was added with it open; pass a
    `computer` to open another file, keep state across runs, or make QuickBooks fail."""
    qwc = qwc or qwc_of(username)
    app_url = app_url or qwc.app_url or our_app_url()
    if computer is None:
        computer = Computer.with_company(account_name)
        computer.add_application(qwc)
    out = Run()

    def call(method: str, **params: str | int) -> list[str] | str:
        result = _call(app_url, method, params, username=username)
        out.calls.append(Call(method, " | ".join(result) if isinstance(result, list) else result))
        return result

    def stop(message: str) -> Run:
        out.message = message
        return out

    try:
        call("serverVersion")
        version = call("clientVersion", strVersion=CLIENT_VERSION)
        if isinstance(version, str) and version.startswith("E:"):
            return stop(version[2:])
        answer = call("authenticate", strUserName=username, strPassword=password)
        ticket, status = (list(answer) + ["", ""])[:2]
        if status.lower() == "nvu" or not ticket:
            return stop("The Web Connector could not sign in: the user name or password is wrong.")
        if status.lower() == "none":
            out.ok = True
            return stop("Signed in; there was no work to do.")
        if status.lower() == "busy":
            return stop("The application was busy; the Web Connector will try again later.")
        company = _open_company(computer, status, call, ticket)
        if isinstance(company, str):
            return stop(company)
        out.company_name = company.name
        company.org_id = company.org_id or username
        # Signed in and working: the company file is this connection's organisation on /sandbox/
        # (listed for its account, under the Web Connector user name).
        SandboxOrganisation.objects.update_or_create(
            provider="qbd", org_id=username, defaults={"name": company.name}
        )
        major, minor = _version_args(computer.versions)
        hcp, noops = computer.hcp_response(company, qwc.owner_id), 0
        for _ in range(MAX_ROUNDS):
            request_xml = str(
                call(
                    "sendRequestXML",
                    ticket=ticket,
                    strHCPResponse=hcp,
                    strCompanyFileName=company.path,
                    qbXMLCountry=computer.country,
                    qbXMLMajorVers=major,
                    qbXMLMinorVers=minor,
                )
            )
            hcp = ""  # only the first call of a session carries it
            if request_xml in ("", "NoOp"):
                error = str(call("getLastError", ticket=ticket))
                if error == "NoOp" and noops < MAX_NOOPS:
                    noops += 1  # the real one waits 5 seconds, then asks again
                    continue
                call("closeConnection", ticket=ticket)
                return stop(error or "The Web Connector stopped: the application reported an error.")
            lost = computer.loses_answer_to(request_xml)
            response, hresult, message = computer.process_request(company, request_xml)
            if lost == "stop":
                # The documents are in QuickBooks; our service never hears of it.
                return stop("The Web Connector lost the connection after QuickBooks had run the requests.")
            if lost == "close":
                call("closeConnection", ticket=ticket)
                return stop("The Web Connector gave up before it could send QuickBooks' answer.")
            percent = int(
                str(
                    call(
                        "receiveResponseXML",
                        ticket=ticket,
                        response=response,
                        hresult=hresult,
                        message=message,
                    )
                )
                or 0
            )
            if percent < 0:
                error = str(call("getLastError", ticket=ticket))
                call("closeConnection", ticket=ticket)
                return stop(error)
            if percent >= 100:
                break
        call("closeConnection", ticket=ticket)
    except (requests.RequestException, RuntimeError, etree.XMLSyntaxError, ValueError) as exc:
        return stop(f"The Web Connector stopped: {exc}")
    out.ok = True
    return stop("The Web Connector signed in and finished its work.")


def _open_company(computer: Computer, requested: str, call, ticket: str) -> CompanyFile | str:
    """OpenConnection/BeginSession with the company file authenticate named ("" = the open one). On a
    refusal the Web Connector tells the service (connectionError) and shows the request processor's
    error: "done" stops, any other answer is the next file to try."""
    for _ in range(MAX_OPEN_ATTEMPTS):
        opened = computer.begin_session(requested)
        if isinstance(opened, CompanyFile):
            return opened
        hresult, message = opened
        answer = str(call("connectionError", ticket=ticket, hresult=hresult, message=message))
        if answer.lower() == "done":
            return f"QuickBooks could not open the company file ({hresult}): {message}"
        requested = answer
    return f"QuickBooks could not open the company file ({hresult}): {message}"

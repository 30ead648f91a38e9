"""QuickBooks Desktop through the QuickBooks Web Connector.

The customer adds our .qwc file to the Web Connector, which then polls our SOAP service (/qbwc/) and
asks QuickBooks to run the qbXML we hand it. The Web Connector signs in with the user name from the
.qwc and the password we showed once; we keep only a hash of it in the encrypted credentials.

This module does the protocol work only: it reads the Web Connector's calls, builds and reads qbXML,
and answers. What an answer means for the connection (activate it, record its company file, refuse
another one, name the company) is decided in integrations/services.py (`qbwc_*`). Each call and its
documentation: docs/providers.md, "QuickBooks Web Connector".
"""

from __future__ import annotations

import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from xml.sax.saxutils import escape

from django.conf import settings
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.db import transaction
from django.urls import reverse
from django_scopes import scopes_disabled
from lxml import etree

from accounts.errors import DomainError
from integrations import qbwc_lists, services
from integrations.models import Connection, ConnectionStatus

from . import qbd_lists

if TYPE_CHECKING:
    from accounts.models import Account

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
QBWC_NS = "http://developer.intuit.com/"
SERVER_VERSION = "Dext Connect 1.0"
MIN_CLIENT_VERSION = (2, 1)


# --- set-up: user name, password, .qwc -------------------------------------------------------------


def username_for(connection: Connection) -> str:
    # Unique per connection; the id in it lets authenticate find the row without decrypting others.
    return f"dext-{connection.account.slug}-{connection.pk}"


# A connection id as it appears in a user name or ticket: ASCII digits only (str.isdigit() also accepts
# "²" or "٣", which int() then refuses or misreads), no leading zero, and within a bigint.
_ID = re.compile(r"[1-9][0-9]{0,17}")


def _strict_id(text: str) -> int | None:
    return int(text) if _ID.fullmatch(text) else None


def _id_from_username(username: str) -> int | None:
    return _strict_id(username.rsplit("-", 1)[-1])


def _id_from_ticket(ticket: str) -> int | None:
    # Tickets are "<connection id>.<random>" (token_urlsafe never contains a dot).
    return _strict_id(ticket.split(".", 1)[0])


def new_password(*, connection: Connection) -> str:
    """Generate the Web Connector password, keep only its hash, return it to be shown once."""
    password = "-".join(secrets.token_hex(3) for _ in range(4))
    credentials = services.credentials_of(connection)
    credentials.update(
        {
            "qbwc_username": username_for(connection),
            "qbwc_password_hash": make_password(password),
            "owner_id": credentials.get("owner_id") or str(uuid.uuid4()),
            "file_id": credentials.get("file_id") or str(uuid.uuid4()),
        }
    )
    credentials.pop("qbwc_ticket", None)  # a new password ends the Web Connector's current session
    services.store_credentials(
        account=connection.account, connection=connection, credentials=credentials, access_expires_at=None
    )
    return password


def app_url() -> str:
    return settings.SITE_URL + reverse("integrations:qbwc")


def qwc_xml(connection: Connection) -> str:
    credentials = services.credentials_of(connection)
    account = connection.account
    return f"""<?xml version="1.0" encoding="utf-8"?>
<QBWCXML>
  <AppName>Dext Connect - {escape(account.name)}</AppName>
  <AppID></AppID>
  <AppURL>{escape(app_url())}</AppURL>
  <AppDescription>Publishes {escape(account.name)}'s bills from Dext Connect.</AppDescription>
  <AppSupport>{escape(settings.SITE_URL)}/</AppSupport>
  <UserName>{escape(username_for(connection))}</UserName>
  <OwnerID>{{{credentials.get("owner_id", "")}}}</OwnerID>
  <FileID>{{{credentials.get("file_id", "")}}}</FileID>
  <QBType>QBFS</QBType>
  <Scheduler>
    <RunEveryNMinutes>15</RunEveryNMinutes>
  </Scheduler>
  <IsReadOnly>false</IsReadOnly>
</QBWCXML>
"""


# --- qbXML -----------------------------------------------------------------------------------------

# The newest qbXML specification our requests are written against (SDK 16, QuickBooks 2023 and later).
# A company file that speaks a newer one is asked in this version; an older one in its own.
QBXML_NEWEST = (16, 0)
# A SupportedQBXMLVersion entry: "13.0", or before qbXML 6.0 a country edition's "CA3.0"/"UK2.0".
_QBXML_VERSION = re.compile(r"([A-Z]{2})?([0-9]{1,2})\.([0-9]{1,2})")
# Intuit's US_CDN_UK_CustomerQuery sample: from 6.0 the plain version number is right for every
# country; before it, Canadian and UK editions answer only their own "CA…"/"UK…" versions.
_UNIFIED_FROM = (6, 0)
_NUMBER = re.compile(r"[0-9]{1,2}")  # ASCII only: str.isdecimal() also takes "٣"


@dataclass(frozen=True)
class CompanyAnswer:
    """A CompanyQueryRs: its status and, when it has a CompanyRet, the company's name and the FileID
    data extensions of the OwnerID asked for."""

    status_code: int
    status_message: str
    name: str = ""
    file_ids: tuple[str, ...] = ()

    @property
    def answered(self) -> bool:
        # statusCode 0-999: QuickBooks returned data (500-999 with a warning); 1000+: none.
        return self.status_code < 1000 and bool(self.name)


@dataclass(frozen=True)
class HostAnswers:
    """What the first sendRequestXML of a session carries (strHCPResponse plus its other arguments)."""

    qbxml_version: str
    qbxml_country: str
    company: CompanyAnswer | None


def choose_qbxml_version(supported: list[str], major: str = "", minor: str = "") -> str:
    """The qbXML version to ask the company file in: the newest it supports (its HostRet list, else the
    request processor's version the Web Connector passes), no newer than QBXML_NEWEST; "" if none
    can be read."""
    candidates: list[tuple[tuple[int, int], str]] = []
    for text in supported:
        match = _QBXML_VERSION.fullmatch(text.strip())
        if match:
            candidates.append(((int(match[2]), int(match[3])), match[0]))
    if not candidates and _NUMBER.fullmatch(major) and _NUMBER.fullmatch(minor):
        candidates.append(((int(major), int(minor)), f"{int(major)}.{int(minor)}"))
    usable = [c for c in candidates if c[0] <= QBXML_NEWEST]
    if not usable:
        return ""
    number, text = max(usable)
    return f"{number[0]}.{number[1]}" if number >= _UNIFIED_FROM else text


def _parse(xml: str) -> etree._Element | None:
    try:
        return etree.fromstring(xml.encode(), parser=_safe_parser())
    except (etree.XMLSyntaxError, ValueError):
        return None


def _company_answer(rs: etree._Element, owner_id: str) -> CompanyAnswer:
    code = rs.get("statusCode", "")
    ret = rs.find("CompanyRet")
    name = (ret.findtext("CompanyName") or "").strip() if ret is not None else ""
    file_ids = []
    if ret is not None and owner_id:
        for ext in ret.iterfind("DataExtRet"):
            if _bare_guid(ext.findtext("OwnerID") or "") == _bare_guid(owner_id) and (
                (ext.findtext("DataExtName") or "").strip() == "FileID"
            ):
                file_ids.append((ext.findtext("DataExtValue") or "").strip())
    return CompanyAnswer(
        # Unreadable counts as an error (no data): never a guess that it succeeded.
        status_code=int(code) if re.fullmatch(r"[0-9]{1,5}", code) else 9999,
        status_message=(rs.get("statusMessage") or "")[:200],
        name=name[:200],
        file_ids=tuple(file_ids),
    )


def _bare_guid(text: str) -> str:
    return text.strip().strip("{}").lower()


def company_answer_from(response_xml: str, owner_id: str) -> CompanyAnswer | None:
    root = _parse(response_xml)
    rs = root.find(".//CompanyQueryRs") if root is not None else None
    return _company_answer(rs, owner_id) if rs is not None else None


def company_name_from(response_xml: str) -> str | None:
    answer = company_answer_from(response_xml, "")
    return answer.name if answer is not None and answer.answered else None


def host_answers(hcp: str, *, owner_id: str, country: str, major: str, minor: str) -> HostAnswers:
    """Read strHCPResponse (HostQuery, CompanyQuery and PreferencesQuery answers, first call of a
    session only) and the qbXMLCountry/qbXMLMajorVers/qbXMLMinorVers arguments."""
    root = _parse(hcp) if hcp else None
    supported: list[str] = []
    company = None
    if root is not None:
        host = root.find(".//HostQueryRs/HostRet")
        if host is not None:
            supported = [v.text or "" for v in host.iterfind("SupportedQBXMLVersion")]
            country = country or (host.findtext("Country") or "")
        rs = root.find(".//CompanyQueryRs")
        company = _company_answer(rs, owner_id) if rs is not None else None
    return HostAnswers(
        qbxml_version=choose_qbxml_version(supported, major, minor),
        qbxml_country=country.strip()[:2].upper(),
        company=company,
    )


def company_query(*, version: str, owner_id: str) -> str:
    """CompanyQuery asking for the data extensions of this set-up's OwnerID (the FileID the Web
    Connector wrote into the company record when Dext Connect was added to it)."""
    owner = f"<OwnerID>{{{escape(owner_id)}}}</OwnerID>" if owner_id else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><?qbxml version="{escape(version)}"?>'
        '<QBXML><QBXMLMsgsRq onError="stopOnError"><CompanyQueryRq requestID="company">'
        f"{owner}</CompanyQueryRq></QBXMLMsgsRq></QBXML>"
    )


# --- the SOAP service ------------------------------------------------------------------------------


class SoapFault(Exception):
    pass


def _safe_parser() -> etree.XMLParser:
    """No entity expansion (XXE, billion laughs), no DTD loading, no network, no huge trees."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


def parse_call(body: bytes) -> tuple[str, dict[str, str]]:
    """(method, params) of a SOAP 1.1 request. Anything we cannot read is a SoapFault, never a 500."""
    try:
        root = etree.fromstring(body, parser=_safe_parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise SoapFault("The request is not XML.") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        # SOAP 1.1 forbids a DTD in a message; refusing it refuses every entity trick with it.
        raise SoapFault("The request must not contain a DTD.")
    soap_body = root.find(f"{{{SOAP_ENV}}}Body")
    # Elements only: comments, processing instructions and entity references are not calls or params.
    calls = list(soap_body.iterchildren(tag=etree.Element)) if soap_body is not None else []
    if not calls:
        raise SoapFault("The request has no SOAP body.")
    call = calls[0]
    try:
        params = {
            etree.QName(child).localname: child.text or "" for child in call.iterchildren(tag=etree.Element)
        }
        return etree.QName(call).localname, params
    except ValueError as exc:
        raise SoapFault("The request could not be read.") from exc


def envelope(method: str, result: Any) -> bytes:
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    body = etree.SubElement(env, f"{{{SOAP_ENV}}}Body")
    response = etree.SubElement(body, f"{{{QBWC_NS}}}{method}Response", nsmap={None: QBWC_NS})
    out = etree.SubElement(response, f"{{{QBWC_NS}}}{method}Result")
    if isinstance(result, list):
        for item in result:
            etree.SubElement(out, f"{{{QBWC_NS}}}string").text = item
    else:
        out.text = str(result)
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def fault(message: str) -> bytes:
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    body = etree.SubElement(env, f"{{{SOAP_ENV}}}Body")
    f = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(f, "faultcode").text = "soap:Client"
    etree.SubElement(f, "faultstring").text = message
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def _load(connection_id: int | None) -> Connection | None:
    if connection_id is None:
        return None
    # The Web Connector is signed in to no account: finding its connection by id is the named escape.
    with scopes_disabled():
        return Connection.objects.select_related("account").filter(pk=connection_id, provider="qbd").first()


def _by_ticket(ticket: str) -> Connection | None:
    connection = _load(_id_from_ticket(ticket))
    if connection is None or connection.status == ConnectionStatus.DISCONNECTED:
        return None
    stored = services.credentials_of(connection).get("qbwc_ticket", "")
    if not stored or not hmac.compare_digest(stored.encode(), ticket.encode()):
        return None
    return connection


class SignInGuard(Protocol):
    """Sign-in throttling for `authenticate` (accounts.throttling.SignInGuard)."""

    def locked(self, name: str) -> bool: ...

    def failed(self, name: str, *, account: Account | None = None) -> bool: ...


# What `authenticate` answers (QBWC Programmer's Guide, "authenticate"; docs/providers.md): a string
# array, [0] the session ticket, [1] "nvu" (not a valid user), "none" (nothing to do: the Web Connector
# stops without opening QuickBooks and reports no error), "" (use the company file open in QuickBooks)
# or a company file path (open that file). "nvu" is the only refusal it understands, so a locked-out
# sign-in gets it too; the log (accounts.throttling) says why.
NOT_VALID_USER = ("", "nvu")
NO_WORK = "none"
USE_OPEN_FILE = ""
# connectionError: "done" stops; any other string is a company file to try instead ("" = the open one).
# We never answer anything else: falling back to whatever file is open is the risk pinning removes.
DONE = "done"
# The request processor's HRESULT when another company file is open than the one asked for.
OTHER_FILE_OPEN = "0x8004040a"
SESSION_ENDED = "Your Web Connector session has ended or the password changed. Sign in again."


def _password_matches(password: str, encoded: str) -> bool:
    """check_password, at the same cost when there is no usable hash (unknown user name, no password
    set yet): otherwise a fast "nvu" would tell a guesser which Web Connector user names exist. Django's
    ModelBackend does the same for an unknown user (ticket #20760): it hashes the password once."""
    try:
        identify_hasher(encoded)
    except ValueError:
        make_password(password)
        return False
    return check_password(password, encoded)


def authenticate(username: str, password: str, *, guard: SignInGuard) -> list[str]:
    """[ticket, company file] when there is work (the pinned file, or "" before the first run has
    recorded one), [ticket, "none"] when there is none, NOT_VALID_USER for a wrong user or password,
    or while this user name or address is locked out after repeated failures (checked before anything)."""
    if guard.locked(username):
        return list(NOT_VALID_USER)
    connection = _load(_id_from_username(username))
    if connection is not None and connection.status == ConnectionStatus.DISCONNECTED:
        connection = None
    credentials = services.credentials_of(connection) if connection is not None else {}
    # Both checks, always: the answer takes as long whichever one fails.
    name_matches = hmac.compare_digest(credentials.get("qbwc_username", "").encode(), username.encode())
    password_matches = _password_matches(password, credentials.get("qbwc_password_hash", ""))
    if connection is None or not (name_matches and password_matches):
        # The account hears of a lockout only when the user name is really its Web Connector's.
        guard.failed(
            username, account=connection.account if connection is not None and name_matches else None
        )
        return list(NOT_VALID_USER)
    ticket = f"{connection.pk}.{secrets.token_urlsafe(24)}"
    if connection.status != ConnectionStatus.PENDING and not services.qbwc_work_pending(connection):
        # An idle poll writes nothing: the Web Connector makes no further call with this ticket.
        return [ticket, NO_WORK]
    credentials["qbwc_ticket"] = ticket
    credentials.pop(services.QBWC_OPEN_FILE, None)
    credentials.pop(QBWC_CONFIRMED, None)
    try:
        connection = services.qbwc_authenticated(
            account=connection.account, connection=connection, credentials=credentials
        )
    except DomainError:
        # E.g. another main software was connected meanwhile: the connection stays pending.
        return list(NOT_VALID_USER)
    # The earlier session's ticket no longer works; a list read it left half-way starts again.
    qbwc_lists.session_started(account=connection.account, connection=connection)
    return [ticket, connection.external_id or USE_OPEN_FILE]


def send_request_xml(ticket: str, hcp: str, company_file: str, country: str, major: str, minor: str) -> str:
    """The next qbXML request: first the CompanyQuery that identifies the company file (sent even when
    strHCPResponse already named the company, because the Web Connector treats "" as an error); then,
    while a list read runs, its queries one at a time (integrations/qbwc_lists.py); then, once the
    company file is confirmed in this session, the publish queue's message sets (costs/qbwc_publishing.py:
    adds, and lookups of documents whose answer was lost). "" refuses (the Web
    Connector then calls getLastError and shows its message): an unknown ticket, another company file
    than this connection's."""
    connection = _by_ticket(ticket)
    if connection is None:
        return ""
    reading = qbwc_lists.current(account=connection.account, connection=connection)
    if reading is not None:
        return _list_request(connection, reading, company_file)
    if _confirmed(connection, ticket):
        request = _publish_request(connection, ticket, company_file)
        if request is not None:
            return request
        # Nothing left after all (taken meanwhile): the CompanyQuery again, whose answer ends the run.
    owner_id = services.credentials_of(connection).get("owner_id", "")
    host = host_answers(hcp, owner_id=owner_id, country=country, major=major, minor=minor)
    company = host.company if host.company is not None and host.company.answered else None
    try:
        services.qbwc_company_file_opened(
            account=connection.account,
            connection=connection,
            company_file=company_file,
            file_ids=list(company.file_ids) if company is not None else None,
            company_name=company.name if company is not None else "",
            qbxml_version=host.qbxml_version,
            qbxml_country=host.qbxml_country,
        )
    except DomainError:
        return ""
    version = host.qbxml_version or connection.options.get("qbxml_version", "")
    if not version:
        services.qbwc_run_failed(
            account=connection.account,
            connection=connection,
            message="QuickBooks did not say which qbXML versions it supports; the Web Connector will "
            "try again at its next run.",
        )
        return ""
    return company_query(version=version, owner_id=owner_id)


def _list_request(connection: Connection, reading: qbwc_lists.Reading, company_file: str) -> str:
    """The list query the read needs next, to the company file this session was checked against."""
    version = connection.options.get("qbxml_version", "")
    problem = ""
    if not services.same_company_file(connection.external_id, company_file):
        problem = f"the Web Connector opened {company_file or 'no company file'} in the middle of the read."
    elif not version:
        problem = "QuickBooks did not say which qbXML versions it supports."
    if problem:
        qbwc_lists.failed(account=connection.account, connection=connection, reading=reading, problem=problem)
        return ""
    return qbd_lists.list_query(reading.step, version=version)


# Credentials key: the session (a digest of its ticket) whose CompanyQuery confirmed the company file.
# Until it has, nothing is published in that session: the file may not be this set-up's.
QBWC_CONFIRMED = "qbwc_confirmed"


def _confirmed(connection: Connection, ticket: str) -> bool:
    from costs import qbwc_publishing  # costs builds on integrations

    stored = services.credentials_of(connection).get(QBWC_CONFIRMED, "")
    return bool(stored) and hmac.compare_digest(stored, qbwc_publishing.session_key(ticket))


def _confirm(connection: Connection, ticket: str) -> None:
    from costs import qbwc_publishing

    with transaction.atomic(), scopes_disabled():
        # The stored credentials as they are now (the company check has just written to them).
        current = Connection.objects.select_for_update().get(pk=connection.pk)
        credentials = services.credentials_of(current)
        credentials[QBWC_CONFIRMED] = qbwc_publishing.session_key(ticket)
        services.store_credentials(
            account=connection.account, connection=current, credentials=credentials, access_expires_at=None
        )
    connection.credentials = credentials


def _publish_request(connection: Connection, ticket: str, company_file: str) -> str | None:
    """The publish queue's next message set (costs/qbwc_publishing.py), to the company file this session
    was checked against; "" (getLastError says why) when the file changed; None when nothing is due."""
    from costs import qbwc_publishing

    if not services.same_company_file(connection.external_id, company_file):
        services.qbwc_run_failed(
            account=connection.account,
            connection=connection,
            message=f"The Web Connector opened {company_file or 'no company file'} in the middle of its run, "
            "so nothing was sent to it.",
        )
        return ""
    return qbwc_publishing.next_request(account=connection.account, connection=connection, ticket=ticket)


def _then_publish(connection: Connection, percent: int) -> int:
    """After the company check or a list read: a publish waiting keeps the session going (less than
    100: the Web Connector calls sendRequestXML again)."""
    from costs import qbwc_publishing

    if percent >= 100 and qbwc_publishing.wanted(connection):
        return 50
    return percent


def receive_response_xml(ticket: str, response: str, hresult: str, message: str) -> int:
    """The percentage done while a list read has more to ask or documents wait to be published (the Web
    Connector calls sendRequestXML again); 100: done (the Web Connector closes the session). Negative:
    the run stopped on a problem, and the Web Connector calls getLastError for the message."""
    connection = _by_ticket(ticket)
    if connection is None:
        return -1
    reading = qbwc_lists.current(account=connection.account, connection=connection)
    if reading is not None:
        if hresult:
            return qbwc_lists.failed(
                account=connection.account,
                connection=connection,
                reading=reading,
                problem=f"QuickBooks could not answer ({hresult}: {message})"[:300] + ".",
            )
        percent = qbwc_lists.answered(
            account=connection.account,
            connection=connection,
            reading=reading,
            answer=qbd_lists.list_answer_from(response, reading.step),
            version=connection.options.get("qbxml_version", ""),
        )
        return _then_publish(connection, percent) if _confirmed(connection, ticket) else percent
    from costs import qbwc_publishing

    if qbwc_publishing.holds(connection, ticket):
        # QuickBooks' answers to the documents this session was handed.
        if hresult:
            qbwc_publishing.interrupted(
                account=connection.account,
                connection=connection,
                ticket=ticket,
                why=f"QuickBooks could not run Dext Connect's requests ({hresult}: {message})"[:300] + ".",
            )
            services.qbwc_run_failed(
                account=connection.account,
                connection=connection,
                message=f"QuickBooks could not run Dext Connect's requests ({hresult}: {message})"[:400]
                + ". They are looked up at the Web Connector's next run.",
            )
            return -1
        return qbwc_publishing.answered(
            account=connection.account, connection=connection, ticket=ticket, response=response
        )

    def failed(text: str) -> int:
        services.qbwc_run_failed(account=connection.account, connection=connection, message=text)
        return -1

    if hresult:
        return failed(
            f"QuickBooks could not answer Dext Connect's request ({hresult}: {message})"[:400]
            + ". The Web Connector will try again at its next run."
        )
    owner_id = services.credentials_of(connection).get("owner_id", "")
    answer = company_answer_from(response, owner_id)
    if answer is None:
        return failed(
            "QuickBooks' answer could not be read. The Web Connector will try again at its next run."
        )
    if not answer.answered:
        return failed(
            f"QuickBooks did not answer the company query (statusCode {answer.status_code}: "
            f"{answer.status_message}). The Web Connector will ask again at its next run."
        )
    try:
        services.qbwc_company_answered(
            account=connection.account,
            connection=connection,
            company_name=answer.name,
            file_ids=list(answer.file_ids),
        )
    except DomainError:
        return -1
    _confirm(connection, ticket)
    # The company file is confirmed: a queued list read starts now (1: more requests follow), then
    # what waits to be published (costs/qbwc_publishing.py).
    if qbwc_lists.start(account=connection.account, connection=connection):
        return 1
    return _then_publish(connection, 100)


def last_error(ticket: str) -> str:
    """The message the Web Connector shows (and logs) after a refusal or a negative receiveResponseXML."""
    connection = _by_ticket(ticket)
    if connection is None:
        return SESSION_ENDED
    return (
        connection.last_error
        or "Dext Connect could not finish this run; see Business settings > Connections."
    )


def connection_error(ticket: str, hresult: str, message: str) -> str:
    """The Web Connector could not open QuickBooks or the company file: record why, and stop."""
    connection = _by_ticket(ticket)
    if connection is not None:
        _publish_interrupted(connection, ticket)
        qbwc_lists.interrupted(account=connection.account, connection=connection)
        hresult, message = hresult.strip()[:20], message.strip()[:300]
        if hresult.lower() == OTHER_FILE_OPEN:
            services.qbwc_other_file_open(
                account=connection.account, connection=connection, hresult=hresult, message=message
            )
        else:
            services.qbwc_run_failed(
                account=connection.account,
                connection=connection,
                message=f"The Web Connector could not open QuickBooks ({hresult}): {message}",
            )
    return DONE


def _publish_interrupted(connection: Connection, ticket: str) -> None:
    from costs import qbwc_publishing

    qbwc_publishing.interrupted(account=connection.account, connection=connection, ticket=ticket)


def close_connection(ticket: str) -> str:
    connection = _by_ticket(ticket)
    if connection is not None:
        # A list read still running now ended half-way: it is read again at the next run; documents
        # handed out with no answer back are looked up first at the next run.
        _publish_interrupted(connection, ticket)
        qbwc_lists.interrupted(account=connection.account, connection=connection)
        credentials = services.credentials_of(connection)
        credentials.pop("qbwc_ticket", None)
        credentials.pop(services.QBWC_OPEN_FILE, None)
        credentials.pop(QBWC_CONFIRMED, None)
        services.store_credentials(
            account=connection.account, connection=connection, credentials=credentials, access_expires_at=None
        )
    return "OK"


def client_version(version: str) -> str:
    """ "" accepts; "E:..." asks the customer to upgrade the Web Connector."""
    parts = [int(p) for p in version.split(".")[:2] if re.fullmatch(r"[0-9]{1,9}", p)]
    if len(parts) == 2 and tuple(parts) < MIN_CLIENT_VERSION:
        return "E:Update the QuickBooks Web Connector to version 2.1 or later, then try again."
    return ""


def dispatch(method: str, params: dict[str, str], *, guard: SignInGuard) -> Any:
    ticket = params.get("ticket", "")
    if method == "serverVersion":
        return SERVER_VERSION
    if method == "clientVersion":
        return client_version(params.get("strVersion", ""))
    if method == "authenticate":
        return authenticate(params.get("strUserName", ""), params.get("strPassword", ""), guard=guard)
    if method == "sendRequestXML":
        return send_request_xml(
            ticket,
            params.get("strHCPResponse", ""),
            params.get("strCompanyFileName", ""),
            params.get("qbXMLCountry", ""),
            params.get("qbXMLMajorVers", ""),
            params.get("qbXMLMinorVers", ""),
        )
    if method == "receiveResponseXML":
        return receive_response_xml(
            ticket, params.get("response", ""), params.get("hresult", ""), params.get("message", "")
        )
    if method == "getLastError":
        return last_error(ticket)
    if method == "connectionError":
        return connection_error(ticket, params.get("hresult", ""), params.get("message", ""))
    if method == "closeConnection":
        return close_connection(ticket)
    raise SoapFault(f"Unknown method {method}.")

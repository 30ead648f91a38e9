"""QuickBooks Desktop through the QuickBooks Web Connector.

The customer adds our .qwc file to the Web Connector, which then polls our SOAP service (/qbwc/) and
asks QuickBooks to run the qbXML we hand it. The Web Connector signs in with the user name from the
.qwc and the password we showed once; we keep only a hash of it in the encrypted credentials.
The connection becomes active the first time the Web Connector authenticates.
"""

from __future__ import annotations

import hmac
import re
import secrets
import uuid
from typing import TYPE_CHECKING, Any, Protocol
from xml.sax.saxutils import escape

from django.conf import settings
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from lxml import etree

from accounts.errors import DomainError
from integrations import services
from integrations.models import Connection, ConnectionStatus

if TYPE_CHECKING:
    from accounts.models import Account

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
QBWC_NS = "http://developer.intuit.com/"
SERVER_VERSION = "Dext Connect 1.0"
MIN_CLIENT_VERSION = (2, 1)
QBXML_VERSION = "13.0"


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


def company_query() -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><?qbxml version="{QBXML_VERSION}"?>'
        '<QBXML><QBXMLMsgsRq onError="stopOnError"><CompanyQueryRq requestID="company"/>'
        "</QBXMLMsgsRq></QBXML>"
    )


def _parse(xml: str) -> etree._Element | None:
    try:
        return etree.fromstring(xml.encode(), parser=_safe_parser())
    except (etree.XMLSyntaxError, ValueError):
        return None


def company_name_from(response_xml: str) -> str | None:
    root = _parse(response_xml)
    if root is None:
        return None
    rs = root.find(".//CompanyQueryRs")
    if rs is None or rs.get("statusCode", "0") != "0":
        return None
    name = rs.findtext(".//CompanyRet/CompanyName")
    return name.strip() if name else None


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


def _by_ticket(ticket: str) -> tuple[Connection, dict] | None:
    connection = _load(_id_from_ticket(ticket))
    if connection is None or connection.status == ConnectionStatus.DISCONNECTED:
        return None
    credentials = services.credentials_of(connection)
    if not hmac.compare_digest(credentials.get("qbwc_ticket", "").encode(), ticket.encode()):
        return None
    return connection, credentials


def _save(connection: Connection, credentials: dict) -> None:
    services.store_credentials(
        account=connection.account, connection=connection, credentials=credentials, access_expires_at=None
    )


class SignInGuard(Protocol):
    """Sign-in throttling for `authenticate` (accounts.throttling.SignInGuard)."""

    def locked(self, name: str) -> bool: ...

    def failed(self, name: str, *, account: Account | None = None) -> bool: ...


# What `authenticate` answers, from the QuickBooks Web Connector Programmer's Guide (QBWC 2.0,
# "authenticate"): a string array whose first element is the session ticket and whose second is ""
# (use the company file open in QuickBooks), a company file path, "none" (no work now) or "nvu" (not a
# valid user). "nvu" is the only refusal it understands, so a locked-out sign-in gets it too; the log
# (accounts.throttling) says why.
NOT_VALID_USER = ("", "nvu")


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
    """[ticket, ""] to work with the open company file; NOT_VALID_USER for a wrong user or password, or
    while this user name or address is locked out after repeated failures (checked before anything)."""
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
    credentials["qbwc_ticket"] = ticket
    if connection.status == ConnectionStatus.PENDING:
        try:
            services.activate_connection(
                account=connection.account,
                acting_user=None,
                provider="qbd",
                external_id=connection.external_id,
                # Unknown until the first CompanyQuery answers (then services.name_connection logs it).
                external_name=connection.external_name,
                credentials=credentials,
            )
        except DomainError:
            # E.g. another main software was connected meanwhile: the connection stays pending.
            return list(NOT_VALID_USER)
    else:
        _save(connection, credentials)
    return [ticket, ""]


def send_request_xml(ticket: str, company_file: str) -> str:
    """The next qbXML request, or "" when nothing is queued."""
    found = _by_ticket(ticket)
    if found is None:
        return ""
    connection, credentials = found
    if company_file and connection.external_id != company_file:
        # Not a status change, so not a services write: the company file the Web Connector has open.
        with scope(account=connection.account):
            Connection.objects.filter(pk=connection.pk).update(external_id=company_file[:200])
    if not credentials.get("company_name") and not credentials.get("company_queried"):
        credentials["company_queried"] = True
        _save(connection, credentials)
        return company_query()
    return ""


def receive_response_xml(ticket: str, response: str, hresult: str, message: str) -> int:
    """Percent done (100: finished); negative tells the Web Connector to call getLastError."""
    found = _by_ticket(ticket)
    if found is None:
        return -1
    connection, credentials = found
    if hresult:
        credentials["last_error"] = f"QuickBooks answered {hresult}: {message}"[:400]
        _save(connection, credentials)
        return -1
    name = company_name_from(response)
    if name:
        credentials["company_name"] = name
        credentials.pop("last_error", None)
        _save(connection, credentials)
        # The organisation's name for the Connections page and the activity log; not a status change.
        services.name_connection(account=connection.account, connection=connection, name=name)
    return 100


def last_error(ticket: str) -> str:
    found = _by_ticket(ticket)
    if found is None:
        return "Your Web Connector session has ended or the password changed. Sign in again."
    return found[1].get("last_error", "")


def connection_error(ticket: str, hresult: str, message: str) -> str:
    found = _by_ticket(ticket)
    if found is not None:
        connection, credentials = found
        credentials["last_error"] = f"The Web Connector could not open QuickBooks ({hresult}): {message}"[
            :400
        ]
        _save(connection, credentials)
    return "done"


def close_connection(ticket: str) -> str:
    found = _by_ticket(ticket)
    if found is not None:
        connection, credentials = found
        credentials.pop("qbwc_ticket", None)
        _save(connection, credentials)
    return "OK"


def client_version(version: str) -> str:
    """ "" accepts; "E:..." asks the customer to upgrade the Web Connector."""
    parts = [int(p) for p in version.split(".")[:2] if re.fullmatch(r"[0-9]{1,9}", p)]
    if len(parts) == 2 and tuple(parts) < MIN_CLIENT_VERSION:
        return "E:Update the QuickBooks Web Connector to version 2.1 or later, then try again."
    return ""


def dispatch(method: str, params: dict[str, str], *, guard: SignInGuard) -> Any:
    if method == "serverVersion":
        return SERVER_VERSION
    if method == "clientVersion":
        return client_version(params.get("strVersion", ""))
    if method == "authenticate":
        return authenticate(params.get("strUserName", ""), params.get("strPassword", ""), guard=guard)
    if method == "sendRequestXML":
        return send_request_xml(params.get("ticket", ""), params.get("strCompanyFileName", ""))
    if method == "receiveResponseXML":
        return receive_response_xml(
            params.get("ticket", ""),
            params.get("response", ""),
            params.get("hresult", ""),
            params.get("message", ""),
        )
    if method == "getLastError":
        return last_error(params.get("ticket", ""))
    if method == "connectionError":
        return connection_error(
            params.get("ticket", ""), params.get("hresult", ""), params.get("message", "")
        )
    if method == "closeConnection":
        return close_connection(params.get("ticket", ""))
    raise SoapFault(f"Unknown method {method}.")

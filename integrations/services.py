"""Every write to connections and defaults, and the only code that changes a connection's status.

Each service locks the account row first. That one lock serialises everything that could break the
order rule: connecting an additional integration in one tab while disconnecting the main software in
another can never leave an additional integration active without a main one.
"""

from __future__ import annotations

import logging
import ntpath
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from accounts.activity import record
from accounts.errors import DomainError
from accounts.models import Account, User
from accounts.tenancy import in_account_scope

from . import catalog, lists
from .catalog import provider_info
from .models import LIVE_STATUSES, Connection, ConnectionStatus, IntegrationDefaults
from .providers import LoginFailed, ProviderMisconfigured, billcom
from .selectors import live_additional, live_connections, main_connection

NOT_CONNECTED = "That integration is not connected to this account."

logger = logging.getLogger("integrations.services")


def _lock_account(account: Account) -> Account:
    # Lock the account row: two tabs or two users may connect and disconnect at once.
    return Account.objects.select_for_update().get(pk=account.pk)


def and_join(labels: list[str]) -> str:
    """["Bill.com", "ApprovalMax"] -> "Bill.com and ApprovalMax" (the one such helper; costs uses it too)."""
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def main_software_names() -> str:
    """ "Xero, QuickBooks Online or QuickBooks Desktop": every main software the registry offers."""
    return catalog.or_join([info.label for info in catalog.main()])


# --- the rules -----------------------------------------------------------------------------------


def connect_precondition(*, account: Account, provider: str) -> None:
    """May `provider` be connected to `account` now? Raises DomainError saying what to do if not."""
    info = provider_info(provider)
    if info is None:
        raise DomainError("That accounting software is not one we connect to.", code="unknown_provider")
    existing = live_connections(account).filter(provider=provider).first()
    if existing is not None and existing.status == ConnectionStatus.ACTIVE:
        raise DomainError(f"{info.label} is already connected.", code="already_connected")
    main = main_connection(account)
    if info.is_main and main is not None and main.provider != provider:
        raise DomainError(
            f"{main.label} is already your main accounting software. Disconnect it first to connect "
            f"{info.label}.",
            code="second_main",
        )
    if not info.is_main and main is None:
        raise DomainError(
            f"Connect your main accounting software ({main_software_names()}) "
            f"first: {info.label} works alongside it.",
            code="no_main",
        )


APPROVALMAX_LINKED_LABELS = {key: catalog.label_of(key) for key in catalog.APPROVALMAX.works_with}


def approvalmax_organisation_check(*, account: Account, name: str, linked_to: str) -> None:
    """May the ApprovalMax organisation `name`, connected in ApprovalMax to `linked_to` (our provider
    key, "" for nothing), be connected to `account`? Approved bills go to the accounting software the
    organisation is connected to, so it must be this account's main software.

    `linked_to` is LINKED_UNKNOWN when ApprovalMax did not say (its documented /companies answer has
    no such field): then only a main software ApprovalMax never connects to is refused."""
    from .providers import LINKED_UNKNOWN

    if linked_to == LINKED_UNKNOWN:
        main = main_connection(account)
        if main is not None and main.provider not in APPROVALMAX_LINKED_LABELS:
            raise DomainError(
                f"This account's main accounting software is {main.label}, which ApprovalMax does not "
                "connect to. ApprovalMax works with Xero or QuickBooks Online as the main accounting "
                "software.",
                code="approvalmax_other_main",
            )
        return
    if not linked_to:
        raise DomainError(
            "This ApprovalMax organisation is not connected to Xero or QuickBooks Online. Connect it in "
            "ApprovalMax first, then start again.",
            code="approvalmax_unlinked",
        )
    main = main_connection(account)
    if main is not None and main.provider != linked_to:
        linked_label = APPROVALMAX_LINKED_LABELS.get(linked_to, linked_to)
        if main.provider not in APPROVALMAX_LINKED_LABELS:
            raise DomainError(
                f"{name} is connected to {linked_label} in ApprovalMax, but this account's main accounting "
                f"software is {main.label}, which ApprovalMax does not connect to. ApprovalMax works with "
                "Xero or QuickBooks Online as the main accounting software.",
                code="approvalmax_other_main",
            )
        raise DomainError(
            f"{name} is connected to {linked_label} in ApprovalMax, but this account's main accounting "
            f"software is {main.label}. Choose an ApprovalMax organisation connected to {main.label}.",
            code="approvalmax_other_main",
        )


class DisconnectRefused(DomainError):
    """The guard's refusal, with the connections to disconnect first (`first`), so a page can offer
    those disconnects right where it says why (the Connections page, the refused confirmation)."""

    def __init__(self, message: str, *, first: list[Connection]) -> None:
        super().__init__(message, code="disconnect_order")
        self.first = first


def disconnect_guard(*, account: Account, connection: Connection) -> None:
    """A connection with items in flight (open publish attempts to it) cannot be disconnected until
    they finish or are cancelled; the main software cannot be disconnected while an additional
    integration is still active."""
    from costs.models import OPEN_ATTEMPT_STATES, PublishAttempt  # costs builds on integrations

    in_flight = PublishAttempt.objects.filter(
        account=account, connection=connection, state__in=OPEN_ATTEMPT_STATES
    ).count()
    if in_flight:
        being = "item is" if in_flight == 1 else "items are"
        raise DomainError(
            f"{in_flight} {being} being published to {connection.label}: wait until "
            f"{'it finishes' if in_flight == 1 else 'they finish'}, or cancel "
            f"{'it' if in_flight == 1 else 'them'}.",
            code="in_flight",
        )
    if not connection.is_main:
        return
    additional = live_additional(account)
    if additional:
        names = and_join([c.label for c in additional])
        message = f"First disconnect {names}, then disconnect {connection.label}."
        raise DisconnectRefused(message, first=additional)


# --- writes --------------------------------------------------------------------------------------


# Only the Web Connector kind (QuickBooks Desktop) has a "waiting" step that outlives the request: the
# customer's Web Connector finishes it, maybe hours later. OAuth flows and the Bill.com sign-in keep
# their in-between state elsewhere and create (or reuse) the row only in `activate_connection`, so an
# abandoned consent screen leaves nothing behind.
PENDING_KINDS = frozenset({"web_connector"})
NOT_PENDING = "That connection is not waiting to finish connecting."


@in_account_scope
def begin_connection(*, account: Account, acting_user: User, provider: str) -> Connection:
    """Start a QuickBooks Desktop set-up: check the preconditions and keep a pending row (or the old
    one, whose settings a reconnect keeps) until the Web Connector first signs in and
    `activate_connection` makes it active. `cancel_pending` takes it back."""
    with transaction.atomic():
        _lock_account(account)
        connect_precondition(account=account, provider=provider)
        if provider_info(provider).connect_kind not in PENDING_KINDS:
            # A programming error, not a user's: these flows must leave no row behind until they finish.
            raise ValueError(f"{provider} has no pending step: call activate_connection when it finishes.")
        connection, _ = Connection.objects.get_or_create(account=account, provider=provider)
        if not connection.is_live:
            connection.status = ConnectionStatus.PENDING
            connection.connected_by = acting_user
            connection.save(update_fields=["status", "connected_by"])
        return connection


@in_account_scope
def activate_connection(
    *,
    account: Account,
    acting_user: User | None,
    provider: str,
    external_id: str,
    external_name: str,
    credentials: dict,
    access_expires_at: datetime | None = None,
    options: dict | None = None,
) -> Connection:
    """The connect flow finished: the connection is active. Re-checks the preconditions under the
    account lock, because the world may have changed since the flow began (for ApprovalMax, given
    `options["linked_to"]`, also that its organisation is connected to this account's main software)."""
    with transaction.atomic():
        _lock_account(account)
        connect_precondition(account=account, provider=provider)
        if provider == "approvalmax" and options is not None and "linked_to" in options:
            approvalmax_organisation_check(
                account=account, name=external_name or external_id, linked_to=options["linked_to"]
            )
        connection, created = Connection.objects.get_or_create(account=account, provider=provider)
        # A flow without a pending step (Bill.com's sign-in form) creates the row here: it was not
        # "waiting to finish connecting", it was not connected at all.
        was = "Not connected" if created else ConnectionStatus(connection.status).label
        reconnect = connection.connected_at is not None
        connection.status = ConnectionStatus.ACTIVE
        connection.external_id = external_id
        connection.external_name = external_name
        connection.credentials = credentials  # EncryptedJSONField: encrypted on save
        connection.access_expires_at = access_expires_at
        connection.options = {**connection.options, **(options or {})}
        # Defaults that fell back to the main software when this connection was disconnected.
        was_default_for = connection.options.pop(WAS_DEFAULT_FOR, [])
        connection.connected_by = acting_user or connection.connected_by
        connection.connected_at = timezone.now()
        connection.disconnected_at = None
        connection.disconnected_by = None
        connection.last_error = ""
        connection.save()
        record(
            account=account,
            actor=acting_user,
            action="integration.reconnected" if reconnect else "integration.connected",
            summary=f"{'Reconnected' if reconnect else 'Connected'} {connection.label}"
            + (f" ({external_name})" if external_name else ""),
            before=was,
            after=ConnectionStatus.ACTIVE.label,
        )
        if was_default_for:
            _restore_defaults(
                account=account, connection=connection, fields=was_default_for, acting_user=acting_user
            )
        info = provider_info(provider)
        if info.lists and info.lists_read == "api":
            # Read its lists in the background, on connect as on reconnect (queued after the commit:
            # a connect rolled back queues nothing). QuickBooks Desktop's wait until its company file is
            # confirmed (_company_file_confirmed); ApprovalMax uses the main software's.
            lists.request_sync(account=account, connection=connection)
        return connection


@in_account_scope
def cancel_pending(*, account: Account, acting_user: User, connection_id: int | None) -> Connection:
    """Stop waiting for a connection to finish (a QuickBooks Desktop set-up whose Web Connector never
    signed in, or a row left pending by an older version). A row that was never connected is deleted;
    one that had been connected before goes back to disconnected and keeps its options (and the rules
    and defaults naming it), as a disconnect would. Its credentials go: the Web Connector password
    shown for the set-up stops working."""
    with transaction.atomic():
        _lock_account(account)
        connection = (
            Connection.objects.filter(account=account, pk=connection_id, status=ConnectionStatus.PENDING)
            .select_for_update()
            .first()
        )
        if connection is None:
            raise DomainError(NOT_PENDING, code="not_pending")
        if connection.connected_at is None:
            connection.delete()
            after = "Not connected"
        else:
            connection.status = ConnectionStatus.DISCONNECTED
            connection.credentials = {}
            connection.access_expires_at = None
            connection.save(update_fields=["status", "credentials", "access_expires_at"])
            after = ConnectionStatus.DISCONNECTED.label
        record(
            account=account,
            actor=acting_user,
            action="integration.cancelled",
            summary=f"Cancelled connecting {connection.label}",
            before=ConnectionStatus.PENDING.label,
            after=after,
        )
        return connection


@in_account_scope
def new_qbwc_password(*, account: Account, acting_user: User, connection: Connection) -> str:
    """Generate a new QuickBooks Desktop Web Connector password (shown once; only its hash is kept).
    The old password and the Web Connector's current session stop working. Logged: who, when."""
    from .providers import qbd  # qbd builds on this module

    with transaction.atomic():
        _lock_account(account)
        first = not credentials_of(connection).get("qbwc_password_hash")
        password = qbd.new_password(connection=connection)
        record(
            account=account,
            actor=acting_user,
            action="integration.qbwc_password",
            summary=(
                "Generated the QuickBooks Desktop Web Connector password"
                if first
                else "Generated a new QuickBooks Desktop Web Connector password (the old one stopped working)"
            ),
        )
    return password


# --- QuickBooks Desktop: what the Web Connector's answers mean for the connection ------------------
# The SOAP service (integrations/providers/qbd.py) reads the Web Connector's calls and hands their
# content here; these decide. The connection's company file is `external_id`, its company name
# `external_name`, the qbXML version and country its options. Sources: docs/providers.md.

QBWC_WRONG_COMPANY_FILE = "qbwc_wrong_company_file"
# Credentials keys (per set-up: a new set-up starts with none of them).
QBWC_FILE_VERIFIED = "company_file_verified"  # the company record carried this set-up's FileID
QBWC_OPEN_FILE = "qbwc_open_file"  # the company file of the Web Connector's current session


def same_company_file(a: str, b: str) -> bool:
    """Windows paths: the same file whatever the letter case or slash direction."""
    return ntpath.normcase(ntpath.normpath(a.strip())) == ntpath.normcase(ntpath.normpath(b.strip()))


def qbwc_work_pending(connection: Connection) -> bool:
    """Does the Web Connector have anything to do? Until the company file is pinned and verified and
    its company named, yes (identifying it is the work); so does a list read waiting for it
    (integrations/qbwc_lists.py), and a publish waiting for it (costs/qbwc_publishing.py). Otherwise
    no: `authenticate` answers "none" and the Web Connector does not even open QuickBooks."""
    from costs import qbwc_publishing  # costs builds on integrations

    from . import qbwc_lists  # it builds on this module

    credentials = credentials_of(connection)
    identified = connection.external_id and connection.external_name and credentials.get(QBWC_FILE_VERIFIED)
    return not identified or qbwc_lists.wanted(connection) or qbwc_publishing.wanted(connection)


@in_account_scope
def qbwc_authenticated(*, account: Account, connection: Connection, credentials: dict) -> Connection:
    """The Web Connector signed in with this connection's password; `credentials` carry its new
    session ticket. A pending set-up becomes active here (DomainError if the preconditions no longer
    hold, e.g. another main software was connected meanwhile: it stays pending). A new set-up starts
    with no company file: the Web Connector's first run records the one it opens."""
    if connection.status == ConnectionStatus.PENDING:
        return activate_connection(
            account=account,
            acting_user=None,
            provider="qbd",
            external_id="",
            external_name="",
            credentials=credentials,
        )
    store_credentials(account=account, connection=connection, credentials=credentials, access_expires_at=None)
    return connection


def _qbwc_refuse(*, account: Account, connection: Connection, message: str, unpin: bool) -> DomainError:
    """Record a refused company file (the set-up page shows `last_error`; the activity log has one row
    per new reason, not one per Web Connector run) and return the error for the caller to raise."""
    with transaction.atomic():
        current = Connection.objects.select_for_update().get(pk=connection.pk)
        fields = {"last_error": message[:500]}
        if unpin and not credentials_of(current).get(QBWC_FILE_VERIFIED):
            # Recorded this run from a file that then proved not to be this set-up's: forget it.
            fields["external_id"] = ""
        Connection.objects.filter(pk=connection.pk).update(**fields)
        if current.last_error != fields["last_error"]:
            record(
                account=account,
                actor=None,
                action="integration.qbwc_refused",
                summary=f"QuickBooks Desktop: {message}",
            )
    return DomainError(message, code=QBWC_WRONG_COMPANY_FILE)


def _not_this_setup(open_file: str) -> str:
    return (
        f"The company file open in QuickBooks ({open_file or 'unknown'}) is not the one Dext Connect was "
        "added to in the Web Connector, so nothing was sent to it. Open that company file in QuickBooks "
        "and run the Web Connector again. If this is the right company file, remove Dext Connect from "
        "the Web Connector and add the .qwc file from Business settings > Connections > QuickBooks "
        "Desktop again, with this company file open."
    )


@in_account_scope
def qbwc_company_file_opened(
    *,
    account: Account,
    connection: Connection,
    company_file: str,
    file_ids: list[str] | None,
    company_name: str,
    qbxml_version: str,
    qbxml_country: str,
) -> None:
    """The Web Connector opened `company_file` (sendRequestXML's strCompanyFileName) and, on the first
    call of its session, passed QuickBooks' Host/Company answers (strHCPResponse): `file_ids` are the
    FileID data extensions of this set-up's OwnerID on the company record (None: no company answer
    yet), `company_name` its name, `qbxml_version`/`qbxml_country` what it speaks.

    The first run records (pins) the file; later runs must open the same one. Another file, or a
    company record carrying another FileID of ours, is refused (DomainError, recorded): nothing may be
    sent to it. A missing FileID is not refused here, only when our own CompanyQuery, which asks for
    our OwnerID's extensions, answers without it (`qbwc_company_answered`)."""
    pinned = connection.external_id
    credentials = credentials_of(connection)
    if pinned and not same_company_file(pinned, company_file):
        raise _qbwc_refuse(
            account=account,
            connection=connection,
            message=(
                f"QuickBooks had the company file {company_file or '(none)'} open, but Dext Connect is set "
                f"up for {pinned}, so nothing was sent to it. Open {pinned} in QuickBooks, then run the "
                "Web Connector again."
            ),
            unpin=False,
        )
    file_id = credentials.get("file_id", "")
    if file_ids and not _has_file_id(file_ids, file_id):
        raise _qbwc_refuse(
            account=account, connection=connection, message=_not_this_setup(company_file), unpin=False
        )
    with transaction.atomic():
        current = Connection.objects.select_for_update().get(pk=connection.pk)
        credentials = credentials_of(current)
        credentials[QBWC_OPEN_FILE] = company_file
        verified = bool(file_ids) and _has_file_id(file_ids, file_id)
        if verified:
            if not credentials.get(QBWC_FILE_VERIFIED):
                _company_file_confirmed(account=account, connection=current)
            credentials[QBWC_FILE_VERIFIED] = True
        options = {**current.options}
        if qbxml_version:
            options.update(qbxml_version=qbxml_version, qbxml_country=qbxml_country)
        updates: dict = {"credentials": credentials, "options": options}
        if not current.external_id and company_file:
            updates["external_id"] = company_file[:200]
        for field, value in updates.items():
            setattr(current, field, value)
        current.save(update_fields=list(updates))
        if "external_id" in updates:
            record(
                account=account,
                actor=None,
                action="integration.qbwc_company_file",
                summary=f"QuickBooks Desktop is set up for the company file {company_file}",
                before="None yet",
                after=company_file,
            )
    if company_name and verified:
        # Named only from a company record shown to be this set-up's: otherwise the name waits for
        # our own CompanyQuery (qbwc_company_answered), which checks the FileID first.
        name_connection(account=account, connection=connection, name=company_name)


def _company_file_confirmed(*, account: Account, connection: Connection) -> None:
    """The set-up's company file was just shown to be this set-up's, for the first time: its lists are
    asked for, and the Web Connector reads them on this run or its next (the qbXML queries wait for
    it). Never stops the Web Connector's run: a connection that cannot be read now is left as it is."""
    try:
        lists.request_sync(account=account, connection=connection)
    except DomainError as exc:
        logger.info("QuickBooks Desktop lists of connection %s not asked for: %s", connection.pk, exc.message)


def _has_file_id(file_ids: list[str], file_id: str) -> bool:
    def bare(guid: str) -> str:
        return guid.strip().strip("{}").lower()

    return bool(file_id) and bare(file_id) in {bare(f) for f in file_ids}


@in_account_scope
def qbwc_company_answered(
    *, account: Account, connection: Connection, company_name: str, file_ids: list[str]
) -> None:
    """QuickBooks answered our CompanyQuery (asked with this set-up's OwnerID, so the answer lists all
    of its data extensions): the company record must carry this set-up's FileID, which the Web
    Connector wrote when Dext Connect was added to it. Without it the file is not this set-up's
    (DomainError, recorded; a file recorded this same run is forgotten). With it, the file is verified
    and the company named; the last problem is cleared."""
    credentials = credentials_of(connection)
    open_file = credentials.get(QBWC_OPEN_FILE, "")
    if not _has_file_id(file_ids, credentials.get("file_id", "")):
        raise _qbwc_refuse(
            account=account, connection=connection, message=_not_this_setup(open_file), unpin=True
        )
    with transaction.atomic():
        current = Connection.objects.select_for_update().get(pk=connection.pk)
        credentials = credentials_of(current)
        if not credentials.get(QBWC_FILE_VERIFIED):
            _company_file_confirmed(account=account, connection=current)
        credentials[QBWC_FILE_VERIFIED] = True
        current.credentials = credentials
        current.last_error = ""
        current.save(update_fields=["credentials", "last_error"])
    if company_name:
        name_connection(account=account, connection=connection, name=company_name)


@in_account_scope
def qbwc_run_failed(*, account: Account, connection: Connection, message: str) -> None:
    """The Web Connector's run stopped on a problem (QuickBooks could not be opened, could not answer,
    answered with an error status). Not a status change: the connection stays as it is and the next
    run tries again. The set-up page shows the message; the Web Connector shows it via getLastError."""
    Connection.objects.filter(pk=connection.pk).update(last_error=message[:500])


@in_account_scope
def qbwc_other_file_open(*, account: Account, connection: Connection, hresult: str, message: str) -> None:
    """QuickBooks could not open the pinned company file because another one is open (the request
    processor's 0x8004040A, reported through connectionError). Refused and recorded like any other
    file; raises nothing (connectionError has nothing to refuse, it only answers "done")."""
    pinned = connection.external_id or "the company file Dext Connect is set up for"
    _qbwc_refuse(
        account=account,
        connection=connection,
        message=(
            f"QuickBooks has another company file open ({hresult}: {message}). Dext Connect is set up "
            f"for {pinned}: open it in QuickBooks, then run the Web Connector again."
        ),
        unpin=False,
    )


@in_account_scope
def disconnect(*, account: Account, acting_user: User, connection_id: int) -> Connection:
    """Disconnect here, then tell the provider (Xero: remove the tenant's connection and, when no other
    connection of ours needs the grant, revoke it; QuickBooks Online: revoke the token).

    Our side is done first and stays done: the provider is told after the transaction committed, and a
    provider that cannot be told (unreachable, refusing, misconfigured) is logged, recorded in the
    activity log and reported in the returned connection's `provider_notice` (what the user must still
    do at the provider; "" when nothing is left to do)."""
    with transaction.atomic():
        _lock_account(account)
        connection = live_connections(account).filter(pk=connection_id).select_for_update().first()
        if connection is None:
            raise DomainError(NOT_CONNECTED, code="not_found")
        try:
            disconnect_guard(account=account, connection=connection)
        except DomainError as refusal:
            refused = refusal
        else:
            refused = None
            was = connection.status
            held = credentials_of(connection)
            connection.status = ConnectionStatus.DISCONNECTED
            connection.credentials = {}
            connection.access_expires_at = None
            connection.disconnected_by = acting_user
            connection.disconnected_at = timezone.now()
            connection.last_error = ""
            connection.save()
            _drop_from_defaults(account=account, connection=connection, acting_user=acting_user)
            record(
                account=account,
                actor=acting_user,
                action="integration.disconnected",
                summary=f"Disconnected {connection.label}"
                + (f" ({connection.external_name})" if connection.external_name else ""),
                # A connection that needed reconnecting is disconnected too: say which it was.
                before=ConnectionStatus(was).label,
                after=ConnectionStatus.DISCONNECTED.label,
            )
    if refused is not None:
        # Logged in its own transaction: the refused attempt itself changed nothing.
        record(
            account=account,
            actor=acting_user,
            action="integration.disconnect_refused",
            summary=f"Tried to disconnect {connection.label}: {refused.message}",
        )
        raise refused
    connection.provider_notice = _tell_provider(
        account=account, acting_user=acting_user, connection=connection, held=held
    )
    return connection


def _tell_provider(*, account: Account, acting_user: User, connection: Connection, held: dict) -> str:
    """The provider side of a disconnect (outside any transaction: it is HTTP). Returns what the user
    must still do at the provider, or ""."""
    from .providers import ProviderError, oauth_provider

    provider = oauth_provider(connection.provider)
    if provider is None or not (held.get("refresh_token") or held.get("access_token")):
        return ""

    def shared(org_ids: list[str]) -> bool:
        # Is the grant (or the company) still needed by another live connection, in any account?
        # Deliberately unscoped: one existence check across tenants, nothing read from them.
        with scopes_disabled():
            return (
                Connection.objects.filter(
                    provider=connection.provider, external_id__in=org_ids, status__in=LIVE_STATUSES
                )
                .exclude(pk=connection.pk)
                .exists()
            )

    try:
        ended = provider.end_grant(credentials=held, external_id=connection.external_id, shared=shared)
    except Exception as exc:  # whatever went wrong at the provider, our disconnect stands
        reason = exc.message if isinstance(exc, ProviderError) else f"unexpected answer ({exc!r})"
        logger.error(
            "Disconnected %s for account %s, but %s could not be told: %s",
            connection.label,
            account.pk,
            connection.label,
            reason,
            exc_info=not isinstance(exc, ProviderError),
        )
        notice = f"Disconnected here; {connection.label} could not be told — {provider.remove_access_hint}."
        record(
            account=account,
            actor=acting_user,
            action="integration.provider_not_told",
            summary=f"{notice} ({reason})"[:500],
        )
        return notice
    record(
        account=account,
        actor=acting_user,
        action="integration.provider_told",
        summary=f"Told {connection.label} about the disconnect: {ended.detail}"[:500],
    )
    return f"Disconnected here; {ended.still_to_do}." if ended.still_to_do else ""


DEFAULT_FIELDS = (
    ("publishing", "Default publishing integration"),
    ("expense_claims", "Default expense claims integration"),
)
# Kept on a disconnected connection: the defaults that named it and fell back to the main software,
# so that reconnecting it restores them (its settings are kept, as the disconnect preview promises).
WAS_DEFAULT_FOR = "was_default_for"


def _drop_from_defaults(*, account: Account, connection: Connection, acting_user: User) -> None:
    """Defaults naming a connection that goes away fall back to the main software; the connection
    remembers which, for `_restore_defaults` on reconnect."""
    defaults = IntegrationDefaults.objects.filter(account=account).first()
    if defaults is None:
        return
    fell_back = []
    for field, label in DEFAULT_FIELDS:
        if getattr(defaults, f"{field}_id") == connection.pk:
            setattr(defaults, field, None)
            fell_back.append(field)
            record(
                account=account,
                actor=acting_user,
                action="defaults.changed",
                summary=f"{label} fell back to the main accounting software",
                before=connection.label,
                after="Main accounting software",
            )
    if fell_back:
        defaults.save()
        connection.options = {**connection.options, WAS_DEFAULT_FOR: fell_back}
        connection.save(update_fields=["options"])


def _restore_defaults(
    *, account: Account, connection: Connection, fields: list[str], acting_user: User | None
) -> None:
    """Reconnecting a connection gives it back the defaults that fell back when it was disconnected,
    unless someone has since pointed them elsewhere (then their choice stands)."""
    defaults, _ = IntegrationDefaults.objects.get_or_create(account=account)
    restored = []
    for field, label in DEFAULT_FIELDS:
        if field in fields and getattr(defaults, f"{field}_id") is None:
            setattr(defaults, f"{field}_id", connection.pk)
            restored.append(label)
    if not restored:
        return
    defaults.save()
    main = main_connection(account)
    for label in restored:
        record(
            account=account,
            actor=acting_user,
            action="defaults.changed",
            summary=f"{label} restored to {connection.label} on reconnecting it",
            before=main.label if main is not None else "Main accounting software",
            after=connection.label,
        )


@in_account_scope
def set_defaults(
    *,
    account: Account,
    acting_user: User,
    publishing_id: int | None,
    expense_claims_id: int | None,
) -> IntegrationDefaults:
    """Save both dropdowns. An id must name a live connection of this account; None means main."""
    with transaction.atomic():
        _lock_account(account)
        live = {c.pk: c for c in live_connections(account)}
        for value in (publishing_id, expense_claims_id):
            if value is not None and value not in live:
                raise DomainError(
                    "Choose one of the connected integrations of this account.", code="bad_default"
                )
        defaults, _ = IntegrationDefaults.objects.get_or_create(account=account)
        # Taken from the rows already read under the lock: no second query, no second snapshot.
        main = next((c for c in live.values() if c.is_main), None)

        def name(pk: int | None) -> str:
            # None is "the main software"; a stale id (its connection went away) falls back the same way.
            if pk is not None and pk in live:
                return live[pk].label
            return main.label if main is not None else "Main accounting software"

        changes = []
        for field, label, value in (
            ("publishing", "Default publishing integration", publishing_id),
            ("expense_claims", "Default expense claims integration", expense_claims_id),
        ):
            # Storing the main connection's id or None means the same; keep None for "main", so the
            # default keeps meaning "the main software" if the main is ever replaced.
            value = None if main is not None and value == main.pk else value
            old = getattr(defaults, f"{field}_id")
            if old != value:
                setattr(defaults, f"{field}_id", value)
                changes.append((label, old, value))
        if changes:
            defaults.save()
        for label, old, new in changes:
            record(
                account=account,
                actor=acting_user,
                action="defaults.changed",
                summary=f"Changed the {label.lower()}",
                before=name(old),
                after=name(new),
            )
        return defaults


@in_account_scope
def name_connection(*, account: Account, connection: Connection, name: str) -> None:
    """The organisation's name as the provider reports it after connecting (QuickBooks Desktop learns
    its company file's name from the first CompanyQuery). Logged when it changes, so the activity log
    names what the Connections page shows. Not a status change."""
    name = name[:200]
    with transaction.atomic():
        current = Connection.objects.filter(pk=connection.pk).select_for_update().first()
        if current is None or current.external_name == name:
            return
        Connection.objects.filter(pk=connection.pk).update(external_name=name)
        record(
            account=account,
            actor=None,
            action="integration.renamed",
            summary=f"{connection.label} reported its organisation: {name}",
            before=current.external_name or "Not known yet",
            after=name,
        )


@in_account_scope
def mark_needs_reconnect(*, account: Account, connection: Connection, reason: str) -> Connection:
    """A refresh failed for good: keep the connection (items still route to it) but ask for a reconnect."""
    with transaction.atomic():
        updated = Connection.objects.filter(pk=connection.pk, status=ConnectionStatus.ACTIVE).update(
            status=ConnectionStatus.NEEDS_RECONNECT, last_error=reason[:500]
        )
        if updated:
            record(
                account=account,
                actor=None,
                action="integration.needs_reconnect",
                summary=f"{connection.label} needs reconnecting: {reason}"[:500],
                before=ConnectionStatus.ACTIVE.label,
                after=ConnectionStatus.NEEDS_RECONNECT.label,
            )
    connection.refresh_from_db()
    return connection


@in_account_scope
def note_misconfigured(*, account: Account, connection: Connection, reason: str) -> Connection:
    """The provider refused this server's own client credentials (not the customer's grant): the
    connection keeps its status; its `last_error` says the server is misconfigured, so the Connections
    page shows the warning. Recorded once, when the warning appears."""
    with transaction.atomic():
        updated = (
            Connection.objects.filter(pk=connection.pk)
            .exclude(last_error=reason[:500])
            .update(last_error=reason[:500])
        )
        if updated:
            record(
                account=account,
                actor=None,
                action="integration.misconfigured",
                summary=f"{connection.label} could not refresh its access: {reason}"[:500],
            )
    connection.refresh_from_db()
    return connection


@in_account_scope
def clear_warning(*, account: Account, connection: Connection) -> None:
    """A refresh worked again: drop the configuration warning from an active connection."""
    Connection.objects.filter(pk=connection.pk, status=ConnectionStatus.ACTIVE).exclude(last_error="").update(
        last_error=""
    )


@in_account_scope
def store_credentials(
    *, account: Account, connection: Connection, credentials: dict, access_expires_at: datetime | None
) -> None:
    """Save rotated tokens or a new session (no activity row: nothing a user did)."""
    Connection.objects.filter(pk=connection.pk).update(
        credentials=credentials, access_expires_at=access_expires_at
    )


def credentials_of(connection: Connection) -> dict:
    """The connection's credentials (decrypted by the field), as a copy the caller may change."""
    return dict(connection.credentials)


# --- Bill.com: what its answers mean for a connection ------------------------------------------------
#
# The adapter (providers/billcom.py) signs in and calls; these decide. Only a wrong user name or
# password (BDC_1101) asks for a reconnect. A busy Bill.com (BDC_1144 hourly cap, BDC_1322 concurrency)
# is "try again later" and changes nothing. A refused developer key (BDC_1102) is this server's
# misconfiguration: logged loudly, no connection changes. Logins are capped per developer key across
# all customers (200 an hour), so a session is kept, encrypted with the credentials, and reused until
# Bill.com's 35 idle minutes are nearly up or Bill.com says it is invalid (BDC_1109).

# Sign in again a minute before Bill.com's idle limit: a call sent at 34:59 may arrive after it.
BILLCOM_SESSION_REUSE = billcom.SESSION_IDLE_LIFE - timedelta(minutes=1)
BILLCOM_RELOGIN_REFUSED = (
    "Bill.com no longer accepts the saved sign-in. Reconnect Bill.com with its current password."
)


def _billcom_misconfigured(exc: ProviderMisconfigured, *, connection: Connection | None = None) -> None:
    logger.error(
        "SERVER MISCONFIGURED: Bill.com refused this server's developer key (%s)%s. Check BILLCOM_DEV_KEY "
        "(and that it belongs to BILLCOM_API_URL's environment). No connection was changed.",
        exc.code,
        f" while calling for connection {connection.pk}" if connection is not None else " at a sign-in",
    )


def _billcom_session_fields(session: billcom.Session) -> dict:
    now = timezone.now().isoformat()
    return {
        "session_id": session.session_id,
        "user_id": session.user_id,
        "session_started_at": now,
        "session_used_at": now,
    }


@in_account_scope
def connect_billcom(
    *, account: Account, acting_user: User, username: str, password: str, organisation_id: str
) -> Connection:
    """The Bill.com sign-in form: sign in, read the organisation's name, activate. A refusal raises
    the adapter's outcome (LoginFailed, RateLimited, ProviderMisconfigured, ProviderUnavailable) and
    stores nothing: the connection, if any, stays as it was."""
    try:
        session = billcom.login(username=username, password=password, organisation_id=organisation_id)
        name = billcom.organisation_name(session)
    except ProviderMisconfigured as exc:
        _billcom_misconfigured(exc)
        raise
    credentials = {
        "username": username,
        "password": password,
        "organisation_id": session.organisation_id,
        **_billcom_session_fields(session),
    }
    return activate_connection(
        account=account,
        acting_user=acting_user,
        provider="billcom",
        external_id=session.organisation_id,
        external_name=name or session.organisation_id,
        credentials=credentials,
    )


def _billcom_session_fresh(credentials: dict) -> bool:
    used = credentials.get("session_used_at")
    if not credentials.get("session_id") or not used:
        return False
    try:
        used_at = datetime.fromisoformat(used)
    except ValueError:
        return False
    return timezone.now() - used_at < BILLCOM_SESSION_REUSE


def _billcom_sign_in_again(*, account: Account, connection: Connection, credentials: dict) -> dict:
    session = billcom.login(
        username=credentials.get("username", ""),
        password=credentials.get("password", ""),
        organisation_id=credentials.get("organisation_id", connection.external_id),
    )
    credentials = {**credentials, **_billcom_session_fields(session)}
    # Kept at once: the session is good even if the call it was made for is refused.
    store_credentials(account=account, connection=connection, credentials=credentials, access_expires_at=None)
    return credentials


@in_account_scope
def billcom_call(
    *,
    account: Account,
    connection: Connection,
    method: str,
    path: str,
    json: dict | None = None,
    params: dict | None = None,
    data: bytes | None = None,
    content_type: str = "",
):
    """A Bill.com API call for an active connection, with its kept session (signing in only when it
    is missing, nearly idle for 35 minutes, or refused as invalid; then retrying once).

    - BDC_1101 on signing in again: the connection needs reconnecting (LoginFailed).
    - BDC_1144 / BDC_1322: RateLimited ("Bill.com is busy…"); the connection stays active.
    - BDC_1102: ProviderMisconfigured, logged as a server misconfiguration; nothing changes.
    - anything else: the adapter's ProviderUnavailable / ProviderError; nothing changes."""
    current = Connection.objects.filter(pk=connection.pk, account=account, provider="billcom").first()
    if current is None or current.status != ConnectionStatus.ACTIVE:
        # Never sign in for a connection that needs reconnecting: the saved password was refused
        # already, and every guess spends the developer key's hourly logins.
        label = provider_info("billcom").label
        raise DomainError(
            f"{label} needs reconnecting before it can be used: reconnect it in Business settings > "
            f"Connections."
            if current is not None and current.status == ConnectionStatus.NEEDS_RECONNECT
            else NOT_CONNECTED,
            code="billcom_not_active",
        )
    credentials = credentials_of(current)
    try:
        if not _billcom_session_fresh(credentials):
            credentials = _billcom_sign_in_again(account=account, connection=current, credentials=credentials)
        try:
            answer = billcom.request(
                credentials["session_id"],
                method,
                path,
                json=json,
                params=params,
                data=data,
                content_type=content_type,
            )
        except billcom.SessionInvalid:
            credentials = _billcom_sign_in_again(account=account, connection=current, credentials=credentials)
            answer = billcom.request(
                credentials["session_id"],
                method,
                path,
                json=json,
                params=params,
                data=data,
                content_type=content_type,
            )
    except LoginFailed as exc:
        mark_needs_reconnect(account=account, connection=current, reason=BILLCOM_RELOGIN_REFUSED)
        raise LoginFailed(BILLCOM_RELOGIN_REFUSED, code="billcom_relogin_failed") from exc
    except ProviderMisconfigured as exc:
        _billcom_misconfigured(exc, connection=current)
        raise
    # The session's idle timer restarts with every call Bill.com answers.
    credentials["session_used_at"] = timezone.now().isoformat()
    store_credentials(account=account, connection=current, credentials=credentials, access_expires_at=None)
    return answer


__all__ = [
    "LIVE_STATUSES",
    "NOT_CONNECTED",
    "activate_connection",
    "and_join",
    "approvalmax_organisation_check",
    "begin_connection",
    "billcom_call",
    "cancel_pending",
    "connect_billcom",
    "clear_warning",
    "connect_precondition",
    "credentials_of",
    "disconnect",
    "disconnect_guard",
    "DisconnectRefused",
    "mark_needs_reconnect",
    "name_connection",
    "new_qbwc_password",
    "qbwc_authenticated",
    "qbwc_company_answered",
    "qbwc_company_file_opened",
    "qbwc_other_file_open",
    "qbwc_run_failed",
    "qbwc_work_pending",
    "same_company_file",
    "note_misconfigured",
    "set_defaults",
    "store_credentials",
]

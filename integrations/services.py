"""Every write to connections and defaults, and the only code that changes a connection's status.

Each service locks the account row first. That one lock serialises everything that could break the
order rule: connecting an additional integration in one tab while disconnecting the main software in
another can never leave an additional integration active without a main one.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.activity import record
from accounts.errors import DomainError
from accounts.models import Account, User
from accounts.tenancy import in_account_scope

from . import catalog
from .catalog import provider_info
from .models import LIVE_STATUSES, Connection, ConnectionStatus, IntegrationDefaults
from .selectors import live_additional, live_connections, main_connection

NOT_CONNECTED = "That integration is not connected to this account."


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
    organisation is connected to, so it must be this account's main software."""
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


def disconnect_guard(*, account: Account, connection: Connection) -> None:
    """The main software cannot be disconnected while an additional integration is still active."""
    if not connection.is_main:
        return
    additional = [c.label for c in live_additional(account)]
    if additional:
        raise DomainError(
            f"First disconnect {and_join(additional)}, then disconnect {connection.label}.",
            code="disconnect_order",
        )


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


@in_account_scope
def disconnect(*, account: Account, acting_user: User, connection_id: int) -> Connection:
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
            connection.status = ConnectionStatus.DISCONNECTED
            connection.credentials = {}
            connection.access_expires_at = None
            connection.disconnected_by = acting_user
            connection.disconnected_at = timezone.now()
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
    return connection


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


__all__ = [
    "LIVE_STATUSES",
    "NOT_CONNECTED",
    "activate_connection",
    "and_join",
    "approvalmax_organisation_check",
    "begin_connection",
    "cancel_pending",
    "connect_precondition",
    "credentials_of",
    "disconnect",
    "disconnect_guard",
    "mark_needs_reconnect",
    "name_connection",
    "new_qbwc_password",
    "set_defaults",
    "store_credentials",
]

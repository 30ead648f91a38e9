"""Invitations: the only way a person becomes a user of a Business account.

An Admin (or a practice user acting as one) invites an e-mail address with a role. The person gets a
single-use link that expires after INVITATION_LIFETIME. Whether or not the address already has a
login, the Admin sees the same words and nothing is created for the person until they accept:
- no login yet: the link lets them choose their own password (Django's validators), then they are
  signed in, in the account;
- a login exists: they sign in as that address, then accept; only then does the membership exist.
Nobody but the owner of the mailbox ever knows the password.

These are services (writes), with the rules of services.py: keyword-only arguments, one transaction,
an activity-log row, DomainError with a message the person can act on.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import smtplib
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from .activity import record
from .errors import DomainError
from .models import Account, Invitation, Membership, Role, User
from .services import lock_account, require_users_manage
from .tenancy import in_account_scope

logger = logging.getLogger(__name__)

INVITATION_LIFETIME = timedelta(days=7)

UNKNOWN_LINK = (
    "This invitation link does not work. It may be incomplete, or a newer invitation replaced it: "
    "open the link in the most recent invitation e-mail, or ask the person who invited you to send "
    "it again."
)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    """A random token for the link, and the hash the database keeps instead of it."""
    token = secrets.token_urlsafe(32)
    return token, _hash(token)


def invitation_url(token: str) -> str:
    return settings.SITE_URL + reverse("accounts:invitation", kwargs={"token": token})


def invited_message(invitation: Invitation) -> str:
    """What the Admin reads after inviting. The same words whether or not the address has a login
    anywhere: the page must not tell one Admin about another account's users."""
    return (
        f"We sent an invitation to {invitation.email}. "
        f"They join {invitation.account.name} when they accept it."
    )


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation a link names, whatever its state; None when the link names none (mistyped,
    tampered with, or replaced by Resend). Deliberately unscoped: the link is what decides which
    account's invitation this is, the way the switcher's lookup decides which scope a user enters."""
    if not token or len(token) > 100:
        return None
    with scopes_disabled():
        return (
            Invitation.objects.select_related("account", "invited_by").filter(token_hash=_hash(token)).first()
        )


def invitation_problem(invitation: Invitation) -> str | None:
    """Why this invitation cannot be accepted any more, in words for the invited person; else None."""
    name = invitation.account.name
    if invitation.accepted_at is not None:
        return f"This invitation has already been used. Sign in to open {name}."
    if invitation.cancelled_at is not None:
        return f"This invitation was cancelled. If you still need to open {name}, ask one of its Admins."
    if invitation.is_expired:
        return (
            f"This invitation expired on {timezone.localtime(invitation.expires_at):%d %B %Y}. "
            f"Ask an Admin of {name} to send it again."
        )
    return None


def login_exists(email: str) -> bool:
    return User.objects.filter(email__iexact=email).exists()


def _send(invitation: Invitation, token: str, inviter: User) -> None:
    """E-mail the link. Called inside the service's transaction: if the mail cannot be handed over,
    nothing is saved and the Admin is told to try again (an invitation nobody received helps no one)."""
    context = {
        "invitation": invitation,
        "account": invitation.account,
        "inviter": inviter,
        "url": invitation_url(token),
        "expires_at": timezone.localtime(invitation.expires_at),
    }
    body = render_to_string("accounts/invitation_email.txt", context)
    subject = f"Invitation to join {invitation.account.name} on Dext Connect"
    try:
        send_mail(subject, body, None, [invitation.email])
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("Could not send the invitation e-mail to %s: %s", invitation.email, exc)
        raise DomainError(
            f"We could not send the e-mail to {invitation.email} just now, so nothing was saved. "
            "Try again in a few minutes.",
            code="mail_failed",
        ) from exc


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise DomainError("Choose a role: Admin or Standard user.", code="bad_role")


def _refuse_members(account: Account, email: str) -> None:
    # Saying so reveals nothing new: the Users page lists the account's members.
    if Membership.objects.filter(account=account, user__email__iexact=email).exists():
        raise DomainError(f"{email} is already a user of {account.name}.", code="duplicate")


def _open(account: Account) -> QuerySet[Invitation]:
    return Invitation.objects.filter(account=account, accepted_at__isnull=True, cancelled_at__isnull=True)


@in_account_scope
def invite_user(*, account: Account, acting_user: User, email: str, role: str) -> Invitation:
    """Invite `email` to `account` as `role` and e-mail them the link. Nothing else is created: no
    login, no membership, until the person accepts."""
    email = email.strip().lower()
    _check_role(role)
    require_users_manage(acting_user, account)
    with transaction.atomic():
        account = lock_account(account)
        _refuse_members(account, email)
        if _open(account).filter(email=email).exists():
            raise DomainError(
                f"{email} is already invited. Use Resend beside their address to send a new link.",
                code="already_invited",
            )
        token, token_hash = _new_token()
        now = timezone.now()
        invitation = Invitation.objects.create(
            account=account,
            email=email,
            role=role,
            invited_by=acting_user,
            token_hash=token_hash,
            created_at=now,
            sent_at=now,
            expires_at=now + INVITATION_LIFETIME,
        )
        record(
            account=account,
            actor=acting_user,
            action="user.invited",
            summary=f"Invited {email} as {Role(role).label}",
            after=Role(role).label,
        )
        _send(invitation, token, acting_user)
        return invitation


def _open_invitation(account: Account, invitation_id: int) -> Invitation:
    invitation = _open(account).select_for_update().filter(pk=invitation_id).first()
    if invitation is None:
        raise DomainError(
            "That invitation is not open any more: it was accepted or cancelled.", code="not_open"
        )
    return invitation


@in_account_scope
def resend_invitation(*, account: Account, acting_user: User, invitation_id: int) -> Invitation:
    """A new link for an open invitation: the old link stops working and the expiry starts again.
    The resender becomes the inviter (the new link is their decision)."""
    require_users_manage(acting_user, account)
    with transaction.atomic():
        account = lock_account(account)
        invitation = _open_invitation(account, invitation_id)
        _refuse_members(account, invitation.email)
        token, invitation.token_hash = _new_token()
        now = timezone.now()
        invitation.sent_at = now
        invitation.expires_at = now + INVITATION_LIFETIME
        invitation.invited_by = acting_user
        invitation.save(update_fields=["token_hash", "sent_at", "expires_at", "invited_by"])
        record(
            account=account,
            actor=acting_user,
            action="user.invitation_resent",
            summary=f"Sent a new invitation to {invitation.email}",
        )
        _send(invitation, token, acting_user)
        return invitation


@in_account_scope
def cancel_invitation(*, account: Account, acting_user: User, invitation_id: int) -> Invitation:
    require_users_manage(acting_user, account)
    with transaction.atomic():
        invitation = _open_invitation(account, invitation_id)
        invitation.cancelled_at = timezone.now()
        invitation.save(update_fields=["cancelled_at"])
        record(
            account=account,
            actor=acting_user,
            action="user.invitation_cancelled",
            summary=f"Cancelled the invitation to {invitation.email}",
            before=invitation.get_role_display(),
        )
        return invitation


def _consume(invitation: Invitation, token: str, user: User | None) -> None:
    """Mark the invitation used, once. One conditional UPDATE: of two requests with the same link at
    the same moment, exactly one changes the row (the other waits for its row lock on PostgreSQL, or
    for the write lock on SQLite, and then finds nothing left to change)."""
    now = timezone.now()
    taken = Invitation.objects.filter(
        pk=invitation.pk,
        token_hash=_hash(token),
        accepted_at__isnull=True,
        cancelled_at__isnull=True,
        expires_at__gt=now,
    ).update(accepted_at=now, accepted_by=user)
    if taken != 1:
        invitation.refresh_from_db()
        raise DomainError(invitation_problem(invitation) or UNKNOWN_LINK, code="not_open")


def _join(invitation: Invitation, user: User) -> Membership:
    membership, created = Membership.objects.get_or_create(
        account=invitation.account, user=user, defaults={"role": invitation.role}
    )
    record(
        account=invitation.account,
        actor=user,
        action="user.invitation_accepted",
        summary=(
            f"{user.email} accepted the invitation and joined as {invitation.get_role_display()}"
            if created
            else f"{user.email} accepted the invitation (already a user, as {membership.get_role_display()})"
        ),
        after=membership.get_role_display(),
    )
    return membership


def _invitation(account: Account, invitation_id: int) -> Invitation:
    invitation = (
        Invitation.objects.select_related("account").filter(account=account, pk=invitation_id).first()
    )
    if invitation is None:
        raise DomainError(UNKNOWN_LINK, code="not_found")
    return invitation


@in_account_scope
def accept_invitation(*, account: Account, acting_user: User, invitation_id: int, token: str) -> Membership:
    """The signed-in person whose e-mail was invited joins the account."""
    with transaction.atomic():
        invitation = _invitation(account, invitation_id)
        if acting_user.email.lower() != invitation.email:
            raise DomainError(
                f"This invitation is for {invitation.email}, and you are signed in as {acting_user.email}. "
                f"Sign out, then sign in as {invitation.email} to accept it.",
                code="wrong_user",
            )
        _consume(invitation, token, acting_user)
        return _join(invitation, acting_user)


@in_account_scope
def accept_invitation_as_new_user(
    *, account: Account, invitation_id: int, token: str, password: str, full_name: str = ""
) -> User:
    """The invited person has no login yet: create it with the password they chose (the view's form
    ran Django's password validators) and join. There is no acting user: the person does not exist
    until this runs; the activity log names them as the actor."""
    with transaction.atomic():
        invitation = _invitation(account, invitation_id)
        if login_exists(invitation.email):
            raise DomainError(
                f"There is already a login for {invitation.email}. Sign in, then open the invitation "
                "link again to accept it.",
                code="login_exists",
            )
        # Consume first: a second request with the same link stops here instead of racing to create
        # the same login.
        _consume(invitation, token, None)
        user = User.objects.create_user(email=invitation.email, password=password, full_name=full_name)
        Invitation.objects.filter(pk=invitation.pk).update(accepted_by=user)
        _join(invitation, user)
        return user

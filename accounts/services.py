"""Every write in the accounts app. Keyword-only arguments, the acting user, one transaction,
an activity-log row. Services raise DomainError with a message the user can act on.

Adding a user is an invitation: see accounts/invitations.py."""

from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify

from .activity import record
from .errors import DomainError
from .models import (
    Account,
    Membership,
    Practice,
    PracticeMembership,
    PracticeRole,
    Role,
    User,
)
from .permissions import practice_staff_opening, require
from .tenancy import in_account_scope


def lock_account(account: Account) -> Account:
    # Lock the account row: two admins editing users at once must not both remove "the other" admin.
    return Account.objects.select_for_update().get(pk=account.pk)


def create_business_account(*, name: str, owner: User, slug: str | None = None) -> Account:
    with transaction.atomic():
        base = slug or slugify(name)[:50] or "account"
        candidate, n = base, 1
        while Account.objects.filter(slug=candidate).exists():
            n += 1
            candidate = f"{base}-{n}"
        account = Account.objects.create(name=name, slug=candidate, owner=owner)
        Membership.objects.create(account=account, user=owner, role=Role.ADMIN)
        record(account=account, actor=owner, action="account.created", summary=f"Created {name}")
        return account


def require_users_manage(acting_user: User, account: Account) -> None:
    """Who is a direct user of the account is its own Admins' decision (accounts/permissions.py)."""
    require(
        user=acting_user,
        account=account,
        permission="users.manage",
        refusal=f"Only an Admin of {account.name} can invite, change or remove its users.",
    )


def _admin_count(account: Account) -> int:
    return Membership.objects.filter(account=account, role=Role.ADMIN).count()


@in_account_scope
def change_role(*, account: Account, acting_user: User, membership_id: int, role: str) -> Membership:
    require_users_manage(acting_user, account)
    if role not in Role.values:
        raise DomainError("Choose a role: Admin or Standard user.", code="bad_role")
    with transaction.atomic():
        account = lock_account(account)
        membership = _membership(account, membership_id)
        if membership.role == role:
            return membership
        if membership.user_id == account.owner_id:
            raise DomainError("The account owner is always an Admin.", code="owner")
        if membership.role == Role.ADMIN and _admin_count(account) <= 1:
            raise DomainError("This is the last Admin. Make someone else an Admin first.", code="last_admin")
        before = membership.get_role_display()
        membership.role = role
        membership.save(update_fields=["role"])
        record(
            account=account,
            actor=acting_user,
            action="user.role_changed",
            summary=f"Changed {membership.user.email}'s role",
            before=before,
            after=membership.get_role_display(),
        )
        return membership


PUBLISH_SETTING = "Standard users may publish"


@in_account_scope
def set_standard_users_may_publish(*, account: Account, acting_user: User, allowed: bool) -> bool:
    """Business settings > Users: whether Standard users may publish items (off by default; Admins and
    practice users always may: accounts/permissions.py). Admins only. Returns whether it changed."""
    require_users_manage(acting_user, account)
    with transaction.atomic():
        account = lock_account(account)
        if account.standard_users_may_publish == allowed:
            return False
        account.standard_users_may_publish = allowed
        account.save(update_fields=["standard_users_may_publish"])
        record(
            account=account,
            actor=acting_user,
            action="account.standard_users_may_publish",
            summary=f"Turned {PUBLISH_SETTING} {'on' if allowed else 'off'}",
            before="Off" if allowed else "On",
            after="On" if allowed else "Off",
        )
        return True


@in_account_scope
def remove_user(*, account: Account, acting_user: User, membership_id: int) -> str:
    require_users_manage(acting_user, account)
    with transaction.atomic():
        account = lock_account(account)
        membership = _membership(account, membership_id)
        if membership.user_id == account.owner_id:
            raise DomainError("The account owner cannot be removed.", code="owner")
        if membership.role == Role.ADMIN and _admin_count(account) <= 1:
            raise DomainError("This is the last Admin. Make someone else an Admin first.", code="last_admin")
        email = membership.user.email
        membership.delete()
        record(
            account=account,
            actor=acting_user,
            action="user.removed",
            summary=f"Removed {email}",
            before=membership.get_role_display(),
        )
        return email


def _membership(account: Account, membership_id: int) -> Membership:
    membership = Membership.objects.filter(account=account, pk=membership_id).select_related("user").first()
    if membership is None:
        raise DomainError("That user is not part of this account.", code="not_found")
    return membership


def set_bookkeeper_clients(
    *, practice: Practice, acting_user: User, membership_id: int, client_ids: list[int]
) -> PracticeMembership:
    """Assign a bookkeeper to exactly these clients of the practice."""
    with transaction.atomic():
        # Lock the practice row: a client ending the practice's access at this moment must not find
        # an assignment to it recreated right after (see end_practice_access).
        Practice.objects.select_for_update().filter(pk=practice.pk).first()
        membership = (
            PracticeMembership.objects.select_for_update()
            .filter(practice=practice, pk=membership_id, role=PracticeRole.BOOKKEEPER)
            .select_related("user")
            .first()
        )
        if membership is None:
            raise DomainError("That bookkeeper is not part of this practice.", code="not_found")
        clients = list(practice.clients.filter(pk__in=client_ids))
        if len(clients) != len(set(client_ids)):
            raise DomainError("Choose clients of this practice only.", code="not_a_client")
        before = set(membership.assigned_clients.values_list("pk", flat=True))
        membership.assigned_clients.set(clients)
        after = {c.pk for c in clients}
        for client in practice.clients.filter(pk__in=before ^ after):
            verb = "Assigned" if client.pk in after else "Unassigned"
            record(
                account=client,
                actor=acting_user,
                action="practice.assignment",
                summary=f"{verb} bookkeeper {membership.user.email} ({practice.name})",
            )
        return membership


@in_account_scope
def end_practice_access(*, account: Account, acting_user: User, practice_id: int) -> Practice:
    """The client ends a practice's access: the account stops being a client of the practice, and none
    of the practice's bookkeepers stays assigned to it, so adding the client again later starts from
    no assignments rather than silently bringing the old ones back. Staff of the practice whom the
    client has also made its own users keep that membership (the Users page lists them).

    Only a direct Admin of the account may do this (permission "practices.manage"): the view declares
    it, and the service checks it again because a practice user must never end a practice's access,
    whichever caller asks."""
    require(
        user=acting_user,
        account=account,
        permission="practices.manage",
        refusal=f"Only an Admin of {account.name} can end a practice's access.",
    )
    with transaction.atomic():
        account = lock_account(account)
        # Only a practice that is a client of *this* account: any other id (another account's practice,
        # one already ended, a forged one) gets the same message and changes nothing.
        practice = Practice.objects.select_for_update().filter(pk=practice_id, clients=account).first()
        if practice is None:
            raise DomainError(
                f"That practice has no access to {account.name}. "
                "The list under “Accountants and bookkeepers” shows the practices that have.",
                code="not_a_client",
            )
        losing = practice_staff_opening(account).filter(practice=practice)
        emails = list(losing.order_by("user__email").values_list("user__email", flat=True))
        practice.clients.remove(account)
        PracticeMembership.assigned_clients.through.objects.filter(
            practicemembership__practice=practice, account=account
        ).delete()
        record(
            account=account,
            actor=acting_user,
            action="practice.access_ended",
            summary=f"Ended access for {practice.name} (practice)",
            before=", ".join(emails),
            after="No access",
        )
        return practice

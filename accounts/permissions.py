"""Every "may this user do X in this account?" question is answered here, and only here.

A user reaches a Business account either as a member (Admin or Standard user) or through a practice
that has the account as a client (Practice admin: all clients; Bookkeeper: assigned clients only).
A practice user inside a client account acts as that client's Admin, with one exception: only the
client's own (direct) Admins decide who may open the account — its direct users ("users.manage") and
its practices ("practices.manage").

Someone can have both ways in (a partner the client also made a Standard user, say). Their access is
the higher of the two, by RANK: Standard user < practice user < Admin. "Higher" is well defined because
each kind may do at least what the kind below it may (tests/accounts/test_practice_access.py checks
the map keeps that chain), which is also why accessible_accounts() may simply OR the two routes.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django_scopes import scopes_disabled

from .models import Account, Membership, Practice, PracticeMembership, PracticeRole, Role, User

# What each way into an account may do. Views declare the permission they need; nothing else in
# the code compares roles.
ADMIN = "admin"
STANDARD = "standard"
PRACTICE = "practice"

PERMISSIONS: dict[str, frozenset[str]] = {
    "account.view": frozenset({ADMIN, STANDARD, PRACTICE}),
    "items.edit": frozenset({ADMIN, STANDARD, PRACTICE}),
    "items.publish": frozenset({ADMIN, STANDARD, PRACTICE}),
    "settings.view": frozenset({ADMIN, STANDARD, PRACTICE}),
    # Who is a direct user of the account, and with which role, is the client's own decision, like
    # which practices may open it: a practice user who could invite (any address: their own, a
    # colleague's, a second mailbox of theirs) or promote would keep the client after the practice's
    # access ends or the practice unassigns them. Practice users see the Users page read-only.
    "users.manage": frozenset({ADMIN}),
    "integrations.manage": frozenset({ADMIN, PRACTICE}),
    "rules.manage": frozenset({ADMIN, PRACTICE}),
    "activity.view": frozenset({ADMIN, PRACTICE}),
    # Ending a practice's access is the client's decision, never the practice's: a practice user must
    # not be able to remove a rival practice, nor (from inside the client) their own. A practice that
    # wants to stop working for a client says so to the client; the client's Admin ends it.
    "practices.manage": frozenset({ADMIN}),
}

# Permissions a Standard user has only while the account says so: the Account field that decides
# ("Standard users may publish", on the Users page, off by default, as Dext makes it a permission).
STANDARD_ONLY_WHEN: dict[str, str] = {"items.publish": "standard_users_may_publish"}

# Who may manage integrations, in the article's words: the one phrasing every page and message uses
# ("integrations.manage" above; the context processor gives it to templates as who_manages_integrations).
MANAGE_INTEGRATIONS_WHO = (
    "Only Admin users and accountants or bookkeepers accessing this account can connect, disconnect or "
    "manage accounting software integrations."
)
# The same people, for supplier rules ("rules.manage"), and who manages users ("users.manage").
MANAGE_RULES_WHO = (
    "Only Admin users and accountants or bookkeepers accessing this account can create or change "
    "supplier rules."
)
MANAGE_USERS_WHO = "Only Admins can add, change or remove users."
# Who may publish ("items.publish"): the same people, and Standard users when the account allows it.
PUBLISH_WHO = (
    "Only Admin users and accountants or bookkeepers accessing this account can publish items. An Admin "
    "can let Standard users publish on Business settings > Users."
)

# Which way in wins when a user has more than one (see the module docstring).
RANK = {STANDARD: 1, PRACTICE: 2, ADMIN: 3}

PRACTICE_PERMISSIONS: dict[str, frozenset[str]] = {
    "practice.view": frozenset({PracticeRole.PRACTICE_ADMIN, PracticeRole.BOOKKEEPER}),
    "practice.clients.manage": frozenset({PracticeRole.PRACTICE_ADMIN}),
}


@dataclass(frozen=True)
class AccountAccess:
    """How the user is inside this account: `kind` is one of ADMIN, STANDARD, PRACTICE."""

    account: Account
    kind: str
    label: str

    def can(self, permission: str) -> bool:
        if self.kind not in PERMISSIONS[permission]:
            return False
        if self.kind == STANDARD and permission in STANDARD_ONLY_WHEN:
            return bool(getattr(self.account, STANDARD_ONLY_WHEN[permission]))
        return True


def _opens(account) -> Q:
    """The one rule for practice access, on PracticeMembership: the account is a client of the
    membership's practice, and the member is its practice admin or a bookkeeper assigned to it."""
    return Q(practice__clients=account) & (Q(role=PracticeRole.PRACTICE_ADMIN) | Q(assigned_clients=account))


def _practice_route(user: User) -> Q:
    """Accounts reachable through a practice (as a filter on Account)."""
    return Q(Exists(PracticeMembership.objects.filter(user=user).filter(_opens(OuterRef("pk")))))


def accessible_accounts(user: User, permission: str = "account.view") -> QuerySet[Account]:
    """Every Business account where the user has `permission` (by default: may open it). One query,
    whatever the number of clients; the same map as AccountAccess.can, applied in SQL."""
    if not user.is_authenticated:
        return Account.objects.none()
    allowed = PERMISSIONS[permission]
    roles = [role for role, kind in ((Role.ADMIN, ADMIN), (Role.STANDARD, STANDARD)) if kind in allowed]
    # Deliberately unscoped: this is the lookup that decides which scope a user may enter.
    with scopes_disabled():
        member = Membership.objects.filter(user=user, account=OuterRef("pk"), role__in=roles)
        route = Q(Exists(member))
        if Role.STANDARD in roles and permission in STANDARD_ONLY_WHEN:
            # A Standard user has it only where the account's setting is on.
            as_admin = Membership.objects.filter(user=user, account=OuterRef("pk"), role=Role.ADMIN)
            as_standard = Membership.objects.filter(user=user, account=OuterRef("pk"), role=Role.STANDARD)
            setting_on = Q(**{STANDARD_ONLY_WHEN[permission]: True})
            route = Q(Exists(as_admin)) | (Q(Exists(as_standard)) & setting_on)
        if PRACTICE in allowed:
            route |= _practice_route(user)
        return Account.objects.filter(route)


def access_for(user: User, account: Account) -> AccountAccess | None:
    """The user's way into `account` — the higher of their direct membership and their practice
    access, labelled with the way used — or None when they may not open it (the caller answers 404)."""
    if not user.is_authenticated or not user.is_active:
        return None
    with scopes_disabled():
        membership = Membership.objects.filter(user=user, account=account).first()
    direct = None
    if membership is not None:
        kind = ADMIN if membership.role == Role.ADMIN else STANDARD
        direct = AccountAccess(account=account, kind=kind, label=membership.get_role_display())
        if kind == ADMIN:
            return direct  # nothing ranks higher: spare the practice query
    via = _practice_membership_into(user, account)
    if via is not None:
        practice = AccountAccess(
            account=account, kind=PRACTICE, label=f"{via.get_role_display()}, {via.practice.name}"
        )
        if direct is None or RANK[practice.kind] > RANK[direct.kind]:
            return practice
    return direct


def _practice_membership_into(user: User, account: Account) -> PracticeMembership | None:
    """The practice membership that opens `account` for `user` (practice admins first)."""
    return (
        PracticeMembership.objects.filter(user=user)
        .filter(_opens(account))
        .select_related("practice")
        .order_by("-role", "pk")  # "practice_admin" sorts after "bookkeeper": admins first
        .first()
    )


def practice_staff_opening(account: Account) -> QuerySet[PracticeMembership]:
    """The client's side of the same rule: every practice membership through which someone opens
    `account` (practice admins of a practice it is a client of, and bookkeepers assigned to it)."""
    # distinct(): a practice admin who also has assignments would otherwise appear once per assignment.
    return PracticeMembership.objects.filter(_opens(account)).distinct()


def practice_role(user: User, practice: Practice) -> str | None:
    if not user.is_authenticated:
        return None
    return (
        PracticeMembership.objects.filter(user=user, practice=practice).values_list("role", flat=True).first()
    )


def require(*, user: User, account: Account, permission: str, refusal: str) -> AccountAccess:
    """For services: the same question the views' declarations ask (AccountAccess.can), asked again so
    that no caller — a view, a task, a command, a test — can skip it. Raises DomainError(refusal)."""
    from .errors import DomainError

    access = access_for(user, account)
    if access is None or not access.can(permission):
        raise DomainError(refusal, code="forbidden")
    return access


def practice_can(role: str | None, permission: str) -> bool:
    return role is not None and role in PRACTICE_PERMISSIONS[permission]


def practices_for(user: User) -> QuerySet[Practice]:
    if not user.is_authenticated:
        return Practice.objects.none()
    return Practice.objects.filter(memberships__user=user)


def can_read_sent_mail(request) -> bool:
    """The Sent mail page (accounts/outbox.py) shows every e-mail the server kept in its file outbox,
    invitations and password resets included: whoever reads it can join any invited account and
    reset any password. So: superusers only, except while SENT_MAIL_OPEN is on (by default only in
    the demo, DEBUG with the sandbox): then also anyone browsing from the server's own machine (a
    loopback address), the way a development mail catcher works, because the person invited has no
    login yet to read their invitation with. That reveals nothing new: whoever is on that machine can
    read var/outbox/ anyway. A request that came through a proxy (X-Forwarded-For) is not local."""
    user = request.user
    if user.is_authenticated and user.is_active and user.is_superuser:
        return True
    return bool(settings.SENT_MAIL_OPEN and _from_this_machine(request))


def _from_this_machine(request) -> bool:
    import ipaddress

    if request.META.get("HTTP_X_FORWARDED_FOR"):
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False

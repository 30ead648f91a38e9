"""Reads more than one view needs."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.db.models.functions import Lower

from .models import Account, Membership, Practice, PracticeMembership, User
from .permissions import accessible_accounts, practice_staff_opening

SWITCHER_LIMIT = 50


def switcher_accounts(user: User, query: str = "", limit: int = SWITCHER_LIMIT) -> QuerySet[Account]:
    """The accounts the switcher offers, filtered by name. One indexed query, bounded in size, so it
    stays fast for a bookkeeper with hundreds of clients."""
    accounts = accessible_accounts(user)
    query = query.strip()
    if query:
        accounts = accounts.filter(name__icontains=query)
    return accounts.order_by(Lower("name"), "pk").only("name", "slug")[:limit]


@dataclass
class PracticeAccess:
    """A practice that has the account as a client, and the staff of it who can open the account.
    `direct_user_ids`: those of them the client has also made users of its own (they keep that access
    when the practice's access ends)."""

    practice: Practice
    staff: list[PracticeMembership] = field(default_factory=list)
    direct_user_ids: set[int] = field(default_factory=set)


def practice_access(account: Account, practice_id: int | None = None) -> list[PracticeAccess]:
    """The practices that can open `account` (or only `practice_id`), by name. At most three queries
    whatever the number of practices and people. Call inside the account's scope (a tenant view)."""
    practices = Practice.objects.filter(clients=account).order_by(Lower("name"), "pk")
    if practice_id is not None:
        practices = practices.filter(pk=practice_id)
    rows = {p.pk: PracticeAccess(practice=p) for p in practices}
    if not rows:
        return []
    staff = (
        practice_staff_opening(account)
        .filter(practice__in=list(rows))
        .select_related("user")
        .order_by("-role", "user__email")  # practice admins ("practice_admin" > "bookkeeper") first
    )
    for membership in staff:
        rows[membership.practice_id].staff.append(membership)
    direct = set(
        Membership.objects.filter(
            account=account, user__in=[m.user_id for row in rows.values() for m in row.staff]
        ).values_list("user_id", flat=True)
    )
    for row in rows.values():
        row.direct_user_ids = {m.user_id for m in row.staff} & direct
    return list(rows.values())

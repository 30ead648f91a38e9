"""Writing to the account's activity log. Every service that changes something calls `record`."""

from __future__ import annotations

from .models import Account, ActivityEntry, User


def record(
    *,
    account: Account,
    actor: User | None,
    action: str,
    summary: str,
    before: object = "",
    after: object = "",
) -> ActivityEntry:
    return ActivityEntry.objects.create(
        account=account,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        summary=summary[:500],
        before=str(before or "")[:200],
        after=str(after or "")[:200],
    )

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
        **_fields(account=account, actor=actor, action=action, summary=summary, before=before, after=after)
    )


def record_many(entries: list[dict]) -> list[ActivityEntry]:
    """`record` for many entries at once (each a dict of record's arguments), in one insert: a worker
    recording a batch's outcomes."""
    return ActivityEntry.objects.bulk_create([ActivityEntry(**_fields(**fields)) for fields in entries])


def _fields(
    *,
    account: Account,
    actor: User | None,
    action: str,
    summary: str,
    before: object = "",
    after: object = "",
) -> dict:
    return {
        "account": account,
        "actor": actor if actor is not None and actor.is_authenticated else None,
        "action": action,
        "summary": summary[:500],
        "before": str(before or "")[:200],
        "after": str(after or "")[:200],
    }

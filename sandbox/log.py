"""The sandbox's request log: what each sandboxed provider received."""

from __future__ import annotations

from collections.abc import Iterable

from .models import RequestLogEntry, RequestLogOrg


def log_request(
    *, provider: str, method: str, path: str, summary: str, status: int, org_ids: Iterable[str] = ()
) -> RequestLogEntry:
    """One line of "what each sandbox received", tagged with the organisations it concerned (who may
    see it on /sandbox/ follows from those; untagged lines are shown to superusers only)."""
    entry = RequestLogEntry.objects.create(
        provider=provider, method=method, path=path[:500], summary=summary[:500], status=status
    )
    RequestLogOrg.objects.bulk_create(
        [RequestLogOrg(entry=entry, org_id=org_id[:200]) for org_id in dict.fromkeys(org_ids) if org_id]
    )
    return entry

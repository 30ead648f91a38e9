"""Providers' limits on our calls, shared by every worker process, in the database (CallLimit and
CallSlot, integrations/models.py). Every call a Caller makes (integrations/provider_calls.py) first
takes a slot here:

- Xero, per organisation: 5 calls at once, 60 a minute, 5,000 a day (developer.xero.com/faq/limits);
- Bill.com, per organisation: one request at a time (docs/providers.md, "Publishing calls");
- after a 429, nobody calls that organisation again before its `Retry-After` (`blocked`).

How: `slot(provider, organisation)` locks the organisation's CallLimit row (SELECT … FOR UPDATE on
PostgreSQL; SQLite's IMMEDIATE transactions serialise every writer anyway), counts its slots, and
either records a new one (the call may go) or learns how long to wait. Short waits are slept in the
call (so a batch is not given up for a second's wait); a wait beyond MAX_WAIT (the day's limit, a long
Retry-After) raises RateLimited, which the publishing worker answers by trying again after it.

Counting is on the safe side of the provider's own: a call counts in the minute (and day) window until
its answer came back plus the window, and as "at once" until it finished, so the provider, which
counts from when the request arrived, never sees more than the limit.

The clock: `settings.RATE_LIMIT_CLOCK`, a module with `now()` and `speed()`: real time
(`integrations.ratelimit`), or the sandbox's clock (`sandbox.clock`) for tests and the benchmark that
speed the sandbox's time up; waits are slept in real seconds (the clock's time / its speed).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import ModuleType

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_module

from .models import CallLimit, CallSlot
from .providers.base import RateLimited


@dataclass(frozen=True)
class Limits:
    concurrent: int
    per_minute: int | None = None
    per_day: int | None = None


LIMITS = {
    "xero": Limits(concurrent=5, per_minute=60, per_day=5000),
    "billcom": Limits(concurrent=1),
}
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
# A call still in flight after this long belongs to a process that died: it no longer counts "at once".
STALE_CALL = timedelta(minutes=5)
# The longest wait slept inside a call (real seconds); longer ones are RateLimited for the caller.
MAX_WAIT = 90.0
# How often a caller waiting for a free "at once" slot looks again (real seconds).
POLL = 0.05


# The real clock (the default RATE_LIMIT_CLOCK): this module's own now() and speed().
def now() -> datetime:
    return timezone.now()


def speed() -> float:
    return 1.0


def clock() -> ModuleType:
    return import_module(getattr(settings, "RATE_LIMIT_CLOCK", "integrations.ratelimit"))


def key_of(provider: str, organisation: str) -> str:
    return f"{provider}:{organisation}"


def _limit_row(key: str) -> CallLimit:
    try:
        return CallLimit.objects.get_or_create(key=key)[0]
    except IntegrityError:  # made by another worker at the same moment
        return CallLimit.objects.get(key=key)


def try_take(key: str, limits: Limits, at: datetime) -> int | float:
    """A new slot's id if a call may start at `at` (clock time), else the wait in clock seconds."""
    row = _limit_row(key)
    with transaction.atomic():
        row = CallLimit.objects.select_for_update().get(pk=row.pk)
        if row.blocked_until is not None and row.blocked_until > at:
            return (row.blocked_until - at).total_seconds()
        slots = CallSlot.objects.filter(limit=row)
        in_flight = slots.filter(finished_at__isnull=True, started_at__gt=at - STALE_CALL).count()
        if in_flight >= limits.concurrent:
            return 0.0
        for window, limit in ((MINUTE, limits.per_minute), (DAY, limits.per_day)):
            if limit is None:
                continue
            counted = slots.filter(Q(finished_at__isnull=True) | Q(finished_at__gt=at - window))
            used = counted.count()
            if used >= limit:
                # The oldest calls leave the window as their answers get `window` old; unfinished ones
                # (still in flight) are waited for by polling.
                ends = sorted(
                    f for f in counted.order_by("finished_at").values_list("finished_at", flat=True) if f
                )
                frees = used - limit
                if frees < len(ends):
                    return max(0.0, (ends[frees] + window - at).total_seconds())
                return 0.0
        slot = CallSlot.objects.create(limit=row, started_at=at)
        # Slots older than the longest window count for nothing any more.
        slots.filter(started_at__lt=at - DAY - STALE_CALL).delete()
        return slot.pk


@contextmanager
def slot(provider: str, organisation: str) -> Iterator[None]:
    """Inside: one call to `organisation` of `provider` that its limits allow (waits first if needed).
    Raises RateLimited when the wait is longer than MAX_WAIT."""
    limits = LIMITS.get(provider)
    if limits is None or not organisation:
        yield
        return
    key = key_of(provider, organisation)
    the_clock = clock()
    deadline = time.monotonic() + MAX_WAIT
    while True:
        taken = try_take(key, limits, the_clock.now())
        if isinstance(taken, int):
            break
        real = max(taken / the_clock.speed(), POLL)
        if time.monotonic() + real > deadline:
            raise RateLimited(
                "The provider's limit on our calls is reached: this waits and is tried again later.",
                retry_after=math.ceil(real),
            )
        time.sleep(real)
    try:
        yield
    finally:
        CallSlot.objects.filter(pk=taken).update(finished_at=the_clock.now())


def blocked(provider: str, organisation: str, retry_after: float) -> None:
    """A 429 said "Retry-After: N" (real seconds): no worker calls that organisation before then."""
    if not organisation:
        return
    the_clock = clock()
    until = the_clock.now() + timedelta(seconds=retry_after * the_clock.speed())
    row = _limit_row(key_of(provider, organisation))
    CallLimit.objects.filter(pk=row.pk).filter(
        Q(blocked_until__isnull=True) | Q(blocked_until__lt=until)
    ).update(blocked_until=until)

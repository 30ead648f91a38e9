"""The sandbox's clock: what the pretend providers' time rules read (Xero's calls a minute and a day,
its 6-minute Idempotency-Key memory). Real time unless a test or the benchmark speeds it up or moves
it on; kept in the database (SandboxClock) so every process serving the sandbox reads the same time.

A wait the sandbox tells a client (Xero's `Retry-After`) is in real seconds: the client knows nothing
of the sandbox's clock, so a minute of sandbox time at speed 10 is a `Retry-After` of 6.

    clock.set_speed(10)                  # the benchmark: a sandbox minute lasts 6 real seconds
    clock.advance(timedelta(minutes=7))  # a test: Xero has forgotten the keys of 7 minutes ago
    clock.reset()
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.utils import timezone

from .models import SandboxClock


def _row() -> SandboxClock | None:
    return SandboxClock.objects.order_by("pk").first()


def now() -> datetime:
    row = _row()
    real = timezone.now()
    if row is None:
        return real
    return row.sandbox_anchor + (real - row.real_anchor) * row.speed


def speed() -> float:
    row = _row()
    return row.speed if row is not None else 1.0


def _set(*, speed: float, sandbox_now: datetime) -> None:
    SandboxClock.objects.all().delete()
    SandboxClock.objects.create(speed=speed, real_anchor=timezone.now(), sandbox_anchor=sandbox_now)


def set_speed(factor: float) -> None:
    """From now on sandbox time runs `factor` times as fast as real time (from the time it shows now)."""
    if factor <= 0:
        raise ValueError("The sandbox clock's speed must be positive.")
    _set(speed=factor, sandbox_now=now())


def advance(delta: timedelta) -> None:
    """Move sandbox time on by `delta` at once."""
    _set(speed=speed(), sandbox_now=now() + delta)


def reset() -> None:
    SandboxClock.objects.all().delete()


def real_seconds(sandbox_seconds: float) -> int:
    """A wait in sandbox seconds as whole real seconds (at least 1), for a Retry-After header."""
    return max(1, math.ceil(sandbox_seconds / speed()))

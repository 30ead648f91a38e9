"""Providers' limits shared by every worker (integrations/ratelimit.py), in the database: two workers
(threads with their own database connections, on PostgreSQL) calling one Xero organisation never have
more than 5 calls at once or 60 in a minute; Bill.com's organisation gets one request at a time; a 429's
Retry-After holds every worker back. Time is the sandbox's clock, sped up (no test sleeps through a
real minute); a call's start and end are read from that clock."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from integrations import ratelimit
from integrations.models import CallLimit, CallSlot
from integrations.providers import RateLimited
from sandbox import clock
from tests.concurrency import race

SPEED = 240.0  # a sandbox minute lasts a quarter of a real second


@pytest.fixture
def sped_up(settings):
    settings.RATE_LIMIT_CLOCK = "sandbox.clock"
    clock.set_speed(SPEED)
    yield
    clock.reset()


def calls_by_two_workers(provider: str, organisation: str, each: int, hold: float) -> list[tuple]:
    """Two workers make `each` calls each to one organisation; every call holds its slot `hold` real
    seconds. Returns every call's (start, end) in sandbox time."""
    spans: list[tuple] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(each):
            with ratelimit.slot(provider, organisation):
                start = clock.now()
                time.sleep(hold)
                end = clock.now()
            with lock:
                spans.append((start, end))

    assert race(worker, worker) == ["ok", "ok"]
    return sorted(spans)


def most_at_once(spans: list[tuple]) -> int:
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
    now = peak = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


def most_in_a_minute(spans: list[tuple]) -> int:
    starts = [s for s, _ in spans]
    return max(sum(1 for t in starts if s <= t < s + timedelta(minutes=1)) for s in starts)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_share_xeros_limits(sped_up):
    spans = calls_by_two_workers("xero", "tenant-1", each=70, hold=0.01)
    assert len(spans) == 140
    assert most_at_once(spans) <= 5
    assert most_in_a_minute(spans) <= 60
    # 140 calls at 60 a minute cannot all start within two sandbox minutes: the workers waited.
    assert spans[-1][0] - spans[0][0] >= timedelta(minutes=2)
    # The limits are per organisation: another one is not held back by this one's minute.
    assert CallSlot.objects.filter(limit__key="xero:tenant-1").count() == 140
    assert isinstance(ratelimit.try_take("xero:tenant-2", ratelimit.LIMITS["xero"], clock.now()), int)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_call_one_billcom_organisation_one_at_a_time(sped_up):
    spans = calls_by_two_workers("billcom", "org-1", each=10, hold=0.02)
    assert len(spans) == 20 and most_at_once(spans) == 1


@pytest.mark.django_db
def test_a_429s_retry_after_holds_every_worker_back(sped_up):
    limits = ratelimit.LIMITS["xero"]
    assert isinstance(ratelimit.try_take("xero:t", limits, clock.now()), int)
    ratelimit.blocked("xero", "t", retry_after=3)  # "Retry-After: 3" (real seconds)
    wait = ratelimit.try_take("xero:t", limits, clock.now())
    assert isinstance(wait, float) and 0 < wait <= 3 * SPEED  # in sandbox seconds
    clock.advance(timedelta(seconds=3 * SPEED + 1))
    assert isinstance(ratelimit.try_take("xero:t", limits, clock.now()), int)


@pytest.mark.django_db
def test_a_wait_longer_than_a_call_may_take_is_a_rate_limit_for_the_worker(settings):
    """The day's 5,000 are used: the call is not made; the worker is told when to try again."""
    limit = CallLimit.objects.create(key="xero:busy")
    now = ratelimit.now()
    CallSlot.objects.bulk_create(
        CallSlot(limit=limit, started_at=now - timedelta(hours=1), finished_at=now - timedelta(hours=1))
        for _ in range(ratelimit.LIMITS["xero"].per_day)
    )
    with pytest.raises(RateLimited) as refused:
        with ratelimit.slot("xero", "busy"):
            pytest.fail("the call was let through")
    assert refused.value.retry_after > ratelimit.MAX_WAIT


@pytest.mark.django_db
def test_the_minute_window_counts_from_when_a_call_finished(sped_up):
    limits = ratelimit.LIMITS["xero"]
    start = clock.now()
    for _ in range(60):
        taken = ratelimit.try_take("xero:m", limits, start)
        CallSlot.objects.filter(pk=taken).update(finished_at=start + timedelta(seconds=2))
    wait = ratelimit.try_take("xero:m", limits, start + timedelta(seconds=30))
    assert wait == pytest.approx(32.0)  # the first answer came back at +2 s: free at +62 s
    assert isinstance(ratelimit.try_take("xero:m", limits, start + timedelta(seconds=62.5)), int)

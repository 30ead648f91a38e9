"""Work the task worker does by itself, on a schedule: renew OAuth access tokens every five minutes, read
every connection's lists every night, and every minute hand stale publish attempts to a worker again
(costs/publishing.py sweep).

No cron and no shell loop: each scheduled task is a django-tasks task that, when it runs, first enqueues
its own next run (`run_after`) and then does its work. The database backend's task results table
(django_tasks_db's DBTaskResult) is the schedule: a READY row of the task is its next run. A worker killed
mid-run loses nothing, since the next run was enqueued before the work began.

`ensure` is the one way a run is enqueued, by the task itself and by `manage.py schedule_tasks` (run by
`make run` and the docker-compose worker before `db_worker`): under a lock it enqueues only when no run of
that task is waiting, so starting the worker twice, or two workers at once, never makes two schedules.
The lock: PostgreSQL's transaction-level advisory lock keyed by the task; on SQLite an exclusive
transaction (one writer for the whole database, which is what SQLite has anyway).

With the Redis backend (TASKS_BACKEND=rq, django-tasks-rq) the same works in Redis: a run with
`run_after` is an RQ scheduled job (the worker must run `--with-scheduler` to start it), "a run is
waiting" is a job of that task in the queue or its scheduled-job registry, and the lock is a Redis lock
keyed by the task. Any other backend (the immediate backend of a test) keeps no schedule.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import connection as db_connection
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks.base import Task

logger = logging.getLogger("integrations.schedules")

TOKENS_EVERY = timedelta(minutes=5)
SWEEP_EVERY = timedelta(minutes=1)
# Lists are read at night, in the server's time zone (TIME_ZONE), when nobody is waiting for them.
NIGHTLY_AT = time(2, 0)
# Finished runs of a scheduled task are deleted when it schedules its next one (one a day would still be
# 288 token refreshes); failed ones are kept this long for whoever looks into them.
KEEP_FINISHED = timedelta(days=1)
KEEP_FAILED = timedelta(days=14)


def every(interval: timedelta) -> Callable[[datetime], datetime]:
    return lambda now: now + interval


def nightly(at: time) -> Callable[[datetime], datetime]:
    """The next `at` after `now`, in the server's time zone."""

    def next_run(now: datetime) -> datetime:
        local = timezone.localtime(now)
        candidate = timezone.make_aware(datetime.combine(local.date(), at), local.tzinfo)
        if candidate <= local:
            candidate = timezone.make_aware(
                datetime.combine(local.date() + timedelta(days=1), at), local.tzinfo
            )
        return candidate

    return next_run


@dataclass(frozen=True)
class Schedule:
    task_path: str  # "integrations.tasks.nightly_lists"
    next_run: Callable[[datetime], datetime]
    # When `schedule_tasks` starts a schedule that has no run waiting: at once, or at its next time.
    start_now: bool

    @property
    def task(self) -> Task:
        from django.utils.module_loading import import_string

        return import_string(self.task_path)


SCHEDULES = {
    "refresh_access_tokens": Schedule("integrations.tasks.refresh_access_tokens", every(TOKENS_EVERY), True),
    "nightly_lists": Schedule("integrations.tasks.nightly_lists", nightly(NIGHTLY_AT), False),
    # Publish attempts whose worker died (lease expired) or lost their task: re-enqueued, same key.
    "sweep_publishing": Schedule("costs.tasks.sweep_publishing", every(SWEEP_EVERY), True),
}


def _lock(task_path: str) -> None:
    """Inside the caller's transaction: wait for any other `ensure` of this task to commit."""
    if db_connection.vendor == "postgresql":
        with db_connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [0x5EDC, zlib.crc32(task_path.encode()) >> 1]
            )


def _database_backend(task: Task) -> bool:
    from django_tasks_db.backend import DatabaseBackend

    return isinstance(task.get_backend(), DatabaseBackend)


def _rq_backend(task: Task) -> bool:
    try:
        from django_tasks_rq import RQBackend
    except ImportError:  # pragma: no cover - installed with the project
        return False
    return isinstance(task.get_backend(), RQBackend)


def _ensure_rq(schedule: Schedule, now: datetime, start: bool) -> datetime:
    """`ensure` on the Redis backend: the queue and the scheduled-job registry are the schedule."""
    import django_rq
    from django_tasks_rq import Job

    task = schedule.task
    queue = django_rq.get_queue(task.queue_name, job_class=Job)
    with queue.connection.lock(
        f"dext-connect:schedule:{schedule.task_path}", timeout=30, blocking_timeout=30
    ):
        registry = queue.scheduled_job_registry
        for job_id in [*registry.get_job_ids(), *queue.get_job_ids()]:
            job = queue.fetch_job(job_id)
            if job is not None and job.func_name == task.module_path:
                when = registry.get_scheduled_time(job) if job_id in registry else None
                return when or now
        run_after = now if start and schedule.start_now else schedule.next_run(now)
        task.using(run_after=run_after).enqueue()
    return run_after


def ensure(name: str, *, now: datetime | None = None, start: bool = False) -> datetime | None:
    """Enqueue the next run of schedule `name` unless one is already waiting; returns when the waiting
    run (new or not) will run, None when the task backend keeps no queue (the immediate backend of a
    test: a task that enqueues itself there would run itself forever). `start`: a schedule with nothing
    waiting starts at once if its `start_now` says so (schedule_tasks), otherwise at its next time."""
    from django_tasks_db.models import DBTaskResult
    from django_tasks_db.utils import exclusive_transaction

    schedule = SCHEDULES[name]
    task = schedule.task
    now = now or timezone.now()
    if _rq_backend(task):
        return _ensure_rq(schedule, now, start)
    if not _database_backend(task):
        logger.warning("%s is not scheduled: the task backend keeps no queue", name)
        return None
    with exclusive_transaction(DBTaskResult.objects.db):
        _lock(schedule.task_path)
        runs = DBTaskResult.objects.filter(task_path=schedule.task_path)
        waiting = runs.filter(status=TaskResultStatus.READY).order_by("run_after").first()
        if waiting is not None:
            return waiting.run_after
        run_after = now if start and schedule.start_now else schedule.next_run(now)
        task.using(run_after=run_after).enqueue()
        runs.filter(status=TaskResultStatus.SUCCESSFUL, finished_at__lt=now - KEEP_FINISHED).delete()
        runs.filter(status=TaskResultStatus.FAILED, finished_at__lt=now - KEEP_FAILED).delete()
    return run_after


def start_all() -> dict[str, datetime | None]:
    """`manage.py schedule_tasks`: every schedule has its run waiting (idempotent)."""
    return {name: ensure(name, start=True) for name in SCHEDULES}


def schedule_next(name: str) -> None:
    """Called by a scheduled task as it starts: enqueue its next run before the work (the worker runs
    tasks outside any transaction, so it is committed at once: a run that dies half-way still has its
    successor)."""
    ensure(name)

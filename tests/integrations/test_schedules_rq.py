"""The worker-side schedules on the Redis backend (TASKS_BACKEND=rq, integrations/schedules.py): a
scheduled run is an RQ scheduled job; starting the schedules twice makes one run of each, and the
sweeper enqueues stale publish attempts into Redis like the database backend. Run in CI's Redis pass."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations import schedules

pytestmark = [pytest.mark.redis_only, pytest.mark.django_db]


@pytest.fixture
def queue():
    import django_rq
    from django_tasks_rq import Job

    q = django_rq.get_queue("default", job_class=Job)

    def clear():
        for job_id in q.scheduled_job_registry.get_job_ids():
            q.scheduled_job_registry.remove(job_id, delete_job=True)
        q.empty()

    clear()
    yield q
    clear()


def jobs_of(queue, path: str) -> list:
    ids = [*queue.get_job_ids(), *queue.scheduled_job_registry.get_job_ids()]
    return [j for j in (queue.fetch_job(i) for i in ids) if j is not None and j.func_name == path]


def test_starting_the_schedules_twice_makes_one_run_of_each(queue):
    first = schedules.start_all()
    second = schedules.start_all()
    assert None not in first.values()
    # Redis keeps a scheduled time to the second.
    assert {k: v.replace(microsecond=0) for k, v in first.items()} == second
    for schedule in schedules.SCHEDULES.values():
        assert len(jobs_of(queue, schedule.task_path)) == 1
    # The nightly read waits for its time in the scheduled-job registry; the others start at once.
    [nightly] = jobs_of(queue, "integrations.tasks.nightly_lists")
    assert nightly.id in queue.scheduled_job_registry
    assert queue.scheduled_job_registry.get_scheduled_time(nightly) > timezone.now()


def test_a_scheduled_task_enqueues_its_next_run_in_redis(queue):
    when = schedules.ensure("sweep_publishing", now=timezone.now())
    assert when is not None and when > timezone.now() + timedelta(seconds=30)
    [job] = jobs_of(queue, "costs.tasks.sweep_publishing")
    assert job.id in queue.scheduled_job_registry
    assert schedules.ensure("sweep_publishing") == when.replace(microsecond=0)  # waiting: nothing more
    assert len(jobs_of(queue, "costs.tasks.sweep_publishing")) == 1

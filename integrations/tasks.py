"""Background tasks of the integrations app (django-tasks; `manage.py db_worker` runs them). A task
takes ids, never model instances, and re-enters its account's scope.

Two of them run on a schedule the worker keeps by itself (integrations/schedules.py): each first enqueues
its own next run, then works."""

from __future__ import annotations

import logging

from django_tasks import task

from accounts.models import Account

logger = logging.getLogger("integrations.tasks")


@task()
def sync_lists(*, account_id: int, connection_id: int) -> None:
    """Read a connection's lists (integrations/lists.py run_sync)."""
    from . import lists

    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        return
    lists.run_sync(account=account, connection_id=connection_id)


@task()
def nightly_lists() -> int:
    """Every night: ask every active connection with lists of its own for them (QuickBooks Desktop's
    wait for the Web Connector's next run). Returns how many reads were queued."""
    from . import lists, schedules

    schedules.schedule_next("nightly_lists")
    return lists.request_every_night()


@task()
def refresh_access_tokens() -> int:
    """Every five minutes: renew the OAuth access tokens that are about to expire (what
    `manage.py refresh_tokens` does). Returns how many connections could not be refreshed."""
    from . import schedules, tokens

    schedules.schedule_next("refresh_access_tokens")
    problems = 0
    for done in tokens.refresh_due():
        if done.problem:
            problems += 1
            logger.warning("%s: %s", done.name, done.problem)
    return problems

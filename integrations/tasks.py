"""Background tasks of the integrations app (django-tasks; `manage.py db_worker` runs them). A task
takes ids, never model instances, and re-enters its account's scope."""

from __future__ import annotations

from django_tasks import task

from accounts.models import Account


@task()
def sync_lists(*, account_id: int, connection_id: int) -> None:
    """Read a connection's lists (integrations/lists.py run_sync)."""
    from . import lists

    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        return
    lists.run_sync(account=account, connection_id=connection_id)

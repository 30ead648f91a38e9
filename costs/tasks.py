"""Background tasks of the costs app (django-tasks; `manage.py db_worker` runs them). A task takes ids,
never model instances, and re-enters its account's scope (costs/publishing.py)."""

from __future__ import annotations

from django_tasks import task

from accounts.models import Account


@task()
def publish_attempt(*, account_id: int, attempt_id: int) -> str | None:
    """Publish one attempt (costs/publishing.run_attempt): the attempt row is the state, this task only
    the trigger; a second trigger of the same attempt finds it claimed or finished and does nothing."""
    from . import publishing

    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        return None
    return publishing.run_attempt(account=account, attempt_id=attempt_id)


@task()
def sweep_publishing() -> int:
    """Every minute: re-enqueue the publish attempts whose worker died or whose task is gone, with the
    same key (costs/publishing.sweep). Returns how many."""
    from integrations import schedules

    from . import publishing

    schedules.schedule_next("sweep_publishing")
    from . import attachments

    attachments.sweep()  # attach steps whose worker died or whose task is gone, too
    return publishing.sweep()


@task()
def attach_document(*, account_id: int, document_id: int) -> str | None:
    """Attach a published item's document to its bill (costs/attachments.run_attachment): a step of
    its own after the publish, which never publishes the bill again."""
    from . import attachments

    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        return None
    return attachments.run_attachment(account=account, document_id=document_id)


@task()
def make_thumbnail(*, account_id: int, document_id: int) -> bool:
    """The inbox thumbnail of a new document (costs/documents.make_thumbnail), drawn in the background
    after the upload's transaction committed."""
    from . import documents

    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        return False
    return documents.make_thumbnail(account=account, document_id=document_id)

"""A worker process killed with SIGKILL mid-publish (its request held by the sandbox, which then creates
the bill: the answer never reaches anyone), then recovery: the lease runs out, the sweeper hands the
attempt to another worker with the same key, which finds the bill instead of creating a second one.
PostgreSQL only: the worker is a separate process on the same test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection as db_connection
from django.utils import timezone
from django_scopes import scopes_disabled

from costs import publishing
from costs.models import AttemptState, ItemStatus, PublishAttempt, PublishBatch
from sandbox import faults
from tests.integrations.publish_helpers import numbers, received
from tests.integrations.publishing_helpers import ready_item, work_off
from tests.integrations.sandbox_helpers import sandbox, xero_connection  # noqa: F401

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
WORKER = """
import django, sys
django.setup()
from accounts.models import Account
from costs import publishing
publishing.run_attempt(account=Account.objects.get(pk=int(sys.argv[1])), attempt_id=int(sys.argv[2]))
print("finished")
"""


def _worker_env(live_server_url: str) -> dict[str, str]:
    db = db_connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dext_connect.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "SITE_URL": live_server_url,
        "SANDBOX_BASE_URL": f"{live_server_url}/sandbox",
        "SECRET_KEY": django_settings.SECRET_KEY,
    }


@pytest.mark.usefixtures("sandbox")
def test_a_worker_killed_mid_publish_is_recovered_without_a_duplicate(
    tenant, other_tenant, connect, live_server
):
    xero = xero_connection(connect, tenant.account)
    item = ready_item(xero, "INV-SIGKILL")
    [attempt] = publishing.request_publish(
        account=tenant.account, acting_user=tenant.admin, item_ids=[item.pk]
    ).queued
    with faults.injected("xero", "dropped") as [fault]:
        worker = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", WORKER, str(tenant.account.pk), str(attempt.pk)],
            cwd=ROOT,
            env=_worker_env(live_server.url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert fault.reached.wait(faults.HOLD_LIMIT), worker.communicate(timeout=5)
            os.kill(worker.pid, signal.SIGKILL)  # mid-publish: the request is with Xero
            worker.wait(timeout=30)
        finally:
            if worker.poll() is None:
                os.kill(worker.pid, signal.SIGKILL)
                worker.wait(timeout=30)
    assert fault.done.wait(faults.HOLD_LIMIT)
    assert worker.returncode == -signal.SIGKILL
    assert numbers("xero", xero.external_id) == ["INV-SIGKILL"]  # Xero created it; nobody heard
    with scopes_disabled():
        attempt.refresh_from_db()
    assert (attempt.state, attempt.tries) == (AttemptState.SENDING, 1) and attempt.sent_at is not None
    # Stuck? Not for long: before the lease runs out nobody touches it, after it the sweeper does.
    assert publishing.sweep() == 0
    with scopes_disabled():
        PublishAttempt.objects.filter(pk=attempt.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
        PublishBatch.objects.update(lease_until=timezone.now() - timedelta(seconds=1))  # its batch's too
    assert publishing.sweep() == 1
    # Two triggers now wait (the task the dead worker never ran, and the sweeper's): one publishes.
    assert sorted(work_off(), key=str) == sorted([AttemptState.PUBLISHED, None], key=str)
    with scopes_disabled():
        attempt.refresh_from_db()
        item.refresh_from_db()
    [bill] = received("xero", xero.external_id)  # 0 duplicates
    assert (attempt.key, attempt.tries, item.status, item.external_id) == (
        attempt.key,
        2,
        ItemStatus.PUBLISHED,
        bill.bill_id,
    )


@pytest.mark.usefixtures("sandbox")
def test_a_worker_killed_mid_batch_is_recovered_without_a_duplicate(
    tenant, other_tenant, connect, live_server
):
    """A batch of four: the worker is killed while Xero creates them; the batch is resumed whole by
    another worker, under the same key with the same body, and Xero's memory of the key answers it."""
    xero = xero_connection(connect, tenant.account)
    items = [ready_item(xero, f"INV-BATCH-{n}") for n in range(4)]
    queued = publishing.request_publish(
        account=tenant.account, acting_user=tenant.admin, item_ids=[i.pk for i in items]
    ).queued
    with faults.injected("xero", "dropped") as [fault]:
        worker = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", WORKER, str(tenant.account.pk), str(queued[0].pk)],
            cwd=ROOT,
            env=_worker_env(live_server.url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert fault.reached.wait(faults.HOLD_LIMIT), worker.communicate(timeout=5)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
        finally:
            if worker.poll() is None:
                os.kill(worker.pid, signal.SIGKILL)
                worker.wait(timeout=30)
    assert fault.done.wait(faults.HOLD_LIMIT)
    assert sorted(numbers("xero", xero.external_id)) == [f"INV-BATCH-{n}" for n in range(4)]
    with scopes_disabled():
        [batch] = PublishBatch.objects.filter(account=tenant.account)
        assert sorted(batch.attempt_ids) == sorted(a.pk for a in queued)
        assert set(PublishAttempt.objects.values_list("state", flat=True)) == {AttemptState.SENDING}
        past = timezone.now() - timedelta(seconds=1)
        PublishAttempt.objects.update(lease_until=past)  # the leases run out
        PublishBatch.objects.update(lease_until=past)
    assert publishing.sweep() == 4
    results = work_off()  # the batch's task + 4 from the sweeper: one run resumes the batch
    assert results.count(AttemptState.PUBLISHED) == 1 and results.count(None) == 4
    with scopes_disabled():
        assert set(PublishAttempt.objects.values_list("state", flat=True)) == {AttemptState.PUBLISHED}
        assert set(PublishAttempt.objects.values_list("tries", flat=True)) == {2}
    bills = received("xero", xero.external_id)
    assert len(bills) == 4 and {b.idempotency_key for b in bills} == {batch.key}  # 0 duplicates

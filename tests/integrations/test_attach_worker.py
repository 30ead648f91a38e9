"""The document goes with the bill (costs/attachments.py), end to end against the sandbox over real HTTP:
the worker publishes an item with a document, then attaches it as a step of its own; a failed
attachment leaves the bill published and "Attach again" sends the file only (1 bill, 1 attachment);
a rate limit waits; a lost answer is looked up, never sent twice; QuickBooks Desktop takes none; who
may attach again, and another account's item is 404. The other tenant never changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import stamina
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from accounts.errors import DomainError
from accounts.models import ActivityEntry
from costs import attachments, publishing
from costs.models import AttachState, AttemptState, Document, Item, ItemStatus, PublishAttempt
from integrations.models import ConnectionStatus
from sandbox import clock, faults
from sandbox.models import SandboxAttachment
from tests.conftest import client_for
from tests.integrations.attach_helpers import (  # noqa: F401  (fixture: media)
    JPEG_1PX,
    attach_tasks,
    document_of,
    media,
    with_document,
    work_off_attachments,
)
from tests.integrations.publish_helpers import BILLCOM_ACME, answer_lost, billcom_connection, received
from tests.integrations.publishing_helpers import ready_item, work_off
from tests.integrations.sandbox_helpers import other_tenant_untouched, sandbox, xero_connection  # noqa: F401

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_untouched", "media")


@pytest.fixture(autouse=True)
def _no_backoff_waits():
    with stamina.set_testing(True, attempts=attachments.IN_CALL_ATTEMPTS):
        yield


@pytest.fixture
def xero(tenant, connect):
    connection = xero_connection(connect, tenant.account)
    yield connection
    clock.reset()


def published_with_document(tenant, connection, reference, capture, **document):
    """A Ready item with a document, published by the worker (the attach task queued on commit)."""
    item = ready_item(
        connection, reference, **({"tax_rate": None} if connection.provider == "billcom" else {})
    )
    with_document(item, **document)
    with capture(execute=True):
        publishing.request_publish(account=tenant.account, acting_user=tenant.admin, item_ids=[item.pk])
    with capture(execute=True):
        assert work_off() == [AttemptState.PUBLISHED]
    return item


def files_on(provider: str, org_id: str) -> list[SandboxAttachment]:
    return list(
        SandboxAttachment.objects.filter(bill__provider=provider, bill__org_id=org_id).select_related("bill")
    )


def item_page(user, item) -> str:
    url = reverse("costs:item_detail", args=[item.account.slug, item.pk])
    response = client_for(user).get(url)
    assert response.status_code == 200
    return response.content.decode()


def attach_again_url(account, item) -> str:
    return reverse("costs:attach_again", args=[account.slug, item.pk])


# --- the worker path ------------------------------------------------------------------------------


def test_an_item_published_with_its_document_shows_bill_and_attachment_in_the_sandbox(
    xero, tenant, django_capture_on_commit_callbacks
):
    item = published_with_document(tenant, xero, "INV-DOC1", django_capture_on_commit_callbacks)
    assert document_of(item).attach_state == AttachState.PENDING
    assert item_page(tenant.admin, item).count('data-attach-state="attaching"') == 1
    [task] = attach_tasks()
    assert task == {"account_id": tenant.account.pk, "document_id": document_of(item).pk}
    assert files_on("xero", xero.external_id) == []  # nothing is sent until a worker runs

    assert work_off_attachments() == [AttachState.ATTACHED]
    [bill] = received("xero", xero.external_id)
    [file] = files_on("xero", xero.external_id)
    document = document_of(item)
    assert file.bill == bill and bill.number == "INV-DOC1"
    assert (file.file_name, file.content_type, file.size) == (
        "INV-DOC1.pdf",
        "application/pdf",
        document.size,
    )
    assert (document.attach_external_id, document.attached_at is not None) == (file.attachment_id, True)
    with scopes_disabled():
        assert (
            ActivityEntry.objects.filter(account=tenant.account, action="item.document_attached").count() == 1
        )
    # /sandbox/ lists the file beside its bill; the item page says it went.
    sandbox_page = client_for(tenant.admin).get("/sandbox/").content.decode()
    assert f'data-attachment="{file.attachment_id}"' in sandbox_page and "INV-DOC1.pdf (" in sandbox_page
    assert 'data-attach-state="attached"' in item_page(tenant.admin, item)
    # A second run of the task does nothing: no second attachment.
    assert attachments.run_attachment(account=tenant.account, document_id=document.pk) is None
    assert len(files_on("xero", xero.external_id)) == 1


def test_an_item_without_a_document_queues_no_attachment(xero, tenant, django_capture_on_commit_callbacks):
    item = ready_item(xero, "INV-NODOC")
    with django_capture_on_commit_callbacks(execute=True):
        publishing.request_publish(account=tenant.account, acting_user=tenant.admin, item_ids=[item.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert work_off() == [AttemptState.PUBLISHED]
    assert attach_tasks(due_only=False) == []
    assert "data-attach-state" not in item_page(tenant.admin, item)


def test_a_failed_attachment_leaves_the_bill_published_and_attach_again_sends_only_the_file(
    xero, tenant, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(attachments, "MAX_RUNS", 1)
    item = published_with_document(tenant, xero, "INV-FAIL", django_capture_on_commit_callbacks)
    with faults.injected("xero", *["500"] * attachments.IN_CALL_ATTEMPTS, path="/Attachments"):
        assert work_off_attachments() == [AttachState.FAILED]
    with scopes_disabled():
        item.refresh_from_db()
    document = document_of(item)
    assert item.status == ItemStatus.PUBLISHED and item.external_id
    assert "Xero is having trouble right now (500)" in document.attach_message
    assert len(received("xero", xero.external_id)) == 1 and files_on("xero", xero.external_id) == []
    page = item_page(tenant.admin, item)
    assert 'data-attach-state="failed"' in page and "Attach again</button>" in page
    assert attach_again_url(tenant.account, item) in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(tenant.admin).post(attach_again_url(tenant.account, item))
    assert response.status_code == 302 and response["Location"].endswith(f"/costs/{item.pk}/")
    assert document_of(item).attach_state == AttachState.PENDING
    assert work_off_attachments() == [AttachState.ATTACHED]
    # One bill, one attachment, one publish attempt: the bill was never published twice.
    assert len(received("xero", xero.external_id)) == 1
    assert [f.bill.number for f in files_on("xero", xero.external_id)] == ["INV-FAIL"]
    with scopes_disabled():
        assert PublishAttempt.objects.filter(item=item).count() == 1
        assert ActivityEntry.objects.filter(account=tenant.account, action="item.attach_retried").count() == 1


def test_a_rate_limit_waits_for_retry_after_then_attaches(xero, tenant, django_capture_on_commit_callbacks):
    item = published_with_document(tenant, xero, "INV-429", django_capture_on_commit_callbacks)
    with (
        faults.injected("xero", "429", path="/Attachments"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert work_off_attachments() == [AttachState.PENDING]
    document = document_of(item)
    assert document.attach_next_try_at > timezone.now() and document.attach_lease_until is None
    assert attach_tasks() == [] and len(attach_tasks(due_only=False)) == 1  # run_after: Retry-After
    with scopes_disabled():
        Document.objects.filter(pk=document.pk).update(
            attach_next_try_at=timezone.now() - timedelta(seconds=1)
        )
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(task_path="costs.tasks.attach_document").update(run_after=timezone.now())
    assert work_off_attachments() == [AttachState.ATTACHED]
    assert len(files_on("xero", xero.external_id)) == 1


def test_billcom_a_lost_upload_is_looked_up_in_the_call_never_sent_twice(
    tenant, connect, settings, django_capture_on_commit_callbacks
):
    billcom = billcom_connection(tenant, connect)
    item = published_with_document(
        tenant,
        billcom,
        "BC-DOC",
        django_capture_on_commit_callbacks,
        content=JPEG_1PX,
        content_type="image/jpeg",
        name="scan of receipt.jpeg",
    )
    with answer_lost(settings, "billcom", "dropped") as fault:
        fault.path = "/documents"
        assert work_off_attachments() == [AttachState.ATTACHED]  # stamina's next try looked it up
    [file] = files_on("billcom", BILLCOM_ACME["organisation_id"])
    assert (file.file_name, file.content_type) == ("scan of receipt.jpg", "image/jpeg")
    assert document_of(item).attach_external_id == file.attachment_id
    assert len(received("billcom", BILLCOM_ACME["organisation_id"])) == 1


def test_approvalmax_items_are_attached_in_xero_where_their_bill_is(
    xero, tenant, connect, django_capture_on_commit_callbacks
):
    approvalmax = connect(tenant.account, "approvalmax", external_id="am-org")
    item = ready_item(xero, "INV-AM", to=approvalmax)
    with_document(item)
    with django_capture_on_commit_callbacks(execute=True):
        publishing.request_publish(account=tenant.account, acting_user=tenant.admin, item_ids=[item.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert work_off() == [AttemptState.PUBLISHED]
    assert work_off_attachments() == [AttachState.ATTACHED]
    [bill] = received("xero", xero.external_id)
    [file] = files_on("xero", xero.external_id)
    assert bill.status == "SUBMITTED" and file.bill == bill


# --- QuickBooks Desktop, and who may attach again -------------------------------------------------


def test_quickbooks_desktop_takes_no_attachments_and_the_item_page_says_so(tenant, connect):
    with scopes_disabled():
        qbd = connect(tenant.account, "qbd", external_id="")
        item = Item.objects.create(
            account=tenant.account,
            type="bill",
            status=ItemStatus.PUBLISHED,
            reference="INV-QBD",
            total="120.00",
            published_to=qbd,
            external_id="80000001-1",
            published_at=timezone.now(),
        )
        attempt = PublishAttempt.objects.create(
            account=tenant.account, item=item, connection=qbd, key="k-qbd", state=AttemptState.PUBLISHED
        )
    with_document(item)
    with scopes_disabled():
        assert attachments.enqueue_attachment(attempt) == AttachState.UNSUPPORTED
    assert attach_tasks(due_only=False) == []
    assert document_of(item).attach_message.startswith("QuickBooks Desktop cannot take attachments")
    page = item_page(tenant.admin, item)
    assert 'data-attach-state="unsupported"' in page and "QuickBooks Desktop cannot take attachments" in page
    assert "Attach again</button>" not in page
    with pytest.raises(DomainError, match="QuickBooks Desktop cannot take attachments"):
        attachments.attach_again(account=tenant.account, acting_user=tenant.admin, item_id=item.pk)


def failed_attachment(tenant, xero, capture, monkeypatch, reference="INV-F"):
    monkeypatch.setattr(attachments, "MAX_RUNS", 1)
    item = published_with_document(tenant, xero, reference, capture)
    with faults.injected("xero", *["500"] * attachments.IN_CALL_ATTEMPTS, path="/Attachments"):
        assert work_off_attachments() == [AttachState.FAILED]
    return item


def test_another_accounts_item_is_404_and_nothing_is_sent(
    xero, tenant, other_tenant, monkeypatch, django_capture_on_commit_callbacks
):
    item = failed_attachment(tenant, xero, django_capture_on_commit_callbacks, monkeypatch)
    stranger = client_for(other_tenant.admin)
    # Under our account's URL (they cannot open it), and under their own account with our item's id.
    assert stranger.post(attach_again_url(tenant.account, item)).status_code == 404
    assert stranger.post(attach_again_url(other_tenant.account, item)).status_code == 404
    with pytest.raises(DomainError):
        attachments.attach_again(
            account=other_tenant.account, acting_user=other_tenant.admin, item_id=item.pk
        )
    assert document_of(item).attach_state == AttachState.FAILED and attach_tasks(due_only=False) == []


def test_only_users_who_may_publish_attach_again(
    xero, tenant, monkeypatch, django_capture_on_commit_callbacks
):
    item = failed_attachment(tenant, xero, django_capture_on_commit_callbacks, monkeypatch)
    assert not tenant.account.standard_users_may_publish
    assert client_for(tenant.staff).post(attach_again_url(tenant.account, item)).status_code == 403
    assert "Attach again</button>" not in item_page(tenant.staff, item)
    assert document_of(item).attach_state == AttachState.FAILED and attach_tasks(due_only=False) == []


def test_attach_again_only_for_a_failed_attachment(xero, tenant, django_capture_on_commit_callbacks):
    item = published_with_document(tenant, xero, "INV-OK", django_capture_on_commit_callbacks)
    assert work_off_attachments() == [AttachState.ATTACHED]
    response = client_for(tenant.admin).post(attach_again_url(tenant.account, item), follow=True)
    assert "The document is already attached to the bill." in response.content.decode()
    assert attach_tasks(due_only=False) == [] and len(files_on("xero", xero.external_id)) == 1
    waiting = ready_item(xero, "INV-READY")
    with_document(waiting)
    with pytest.raises(DomainError, match="Only a published item"):
        attachments.attach_again(account=tenant.account, acting_user=tenant.admin, item_id=waiting.pk)


def test_a_killed_workers_attach_step_is_swept_up_and_attached_once(
    xero, tenant, django_capture_on_commit_callbacks
):
    item = published_with_document(tenant, xero, "INV-KILLED", django_capture_on_commit_callbacks)
    document = document_of(item)
    # A worker claimed it and died mid-call: the lease is held, its task is spent.
    with scopes_disabled():
        assert attachments.claim(document.pk) is not None
    assert work_off_attachments() == [None]  # held by the dead worker: nothing done
    assert attachments.sweep() == 0 and attach_tasks(due_only=False) == []
    assert attachments.sweep(timezone.now() + attachments.LEASE + timedelta(seconds=1)) == 1
    with scopes_disabled():
        Document.objects.filter(pk=document.pk).update(
            attach_lease_until=timezone.now() - timedelta(seconds=1)
        )
    assert work_off_attachments() == [AttachState.ATTACHED]
    assert len(files_on("xero", xero.external_id)) == 1 and len(received("xero", xero.external_id)) == 1


def test_an_access_token_refused_is_refreshed_once_then_the_file_attached(
    xero, tenant, django_capture_on_commit_callbacks
):
    item = published_with_document(tenant, xero, "INV-401", django_capture_on_commit_callbacks)
    with scopes_disabled():
        xero.refresh_from_db()
        xero.credentials = {**xero.credentials, "access_token": "replaced-early"}  # Xero answers 401
        xero.save()
    assert work_off_attachments() == [AttachState.ATTACHED]
    with scopes_disabled():
        xero.refresh_from_db()
    assert xero.status == ConnectionStatus.ACTIVE and xero.credentials["access_token"] != "replaced-early"
    assert (
        len(files_on("xero", xero.external_id)) == 1
        and document_of(item).attach_state == AttachState.ATTACHED
    )


def test_revoked_access_fails_the_attachment_asks_to_reconnect_and_keeps_the_bill(
    xero, tenant, django_capture_on_commit_callbacks
):
    item = published_with_document(tenant, xero, "INV-REVOKED", django_capture_on_commit_callbacks)
    with scopes_disabled():
        xero.refresh_from_db()
        xero.credentials = {**xero.credentials, "access_token": "revoked", "refresh_token": "revoked"}
        xero.save()
    assert work_off_attachments() == [AttachState.FAILED]
    with scopes_disabled():
        xero.refresh_from_db()
        item.refresh_from_db()
    assert xero.status == ConnectionStatus.NEEDS_RECONNECT and item.status == ItemStatus.PUBLISHED
    assert document_of(item).attach_message.endswith("Reconnect Xero, then use Attach again.")
    assert files_on("xero", xero.external_id) == [] and len(received("xero", xero.external_id)) == 1


def test_a_sales_items_failed_attachment_is_attached_again_from_its_own_page(tenant, connect):
    with scopes_disabled():
        xero = connect(tenant.account, "xero", external_id="sales-org")
        item = Item.objects.create(
            account=tenant.account,
            type="sales_invoice",
            status=ItemStatus.PUBLISHED,
            reference="SI-1",
            total="120.00",
            published_to=xero,
            external_id="invoice-1",
            published_at=timezone.now(),
        )
    document = with_document(item)
    with scopes_disabled():
        Document.objects.filter(pk=document.pk).update(
            attach_state=AttachState.FAILED, attach_message="Xero is having trouble right now (500)."
        )
    page = client_for(tenant.admin).get(
        reverse("costs:sales_item_detail", args=[tenant.account.slug, item.pk])
    )
    url = reverse("costs:sales_attach_again", args=[tenant.account.slug, item.pk])
    assert url in page.content.decode()
    # The cost inbox's URL does not take a sales item (404), the sales one does.
    assert client_for(tenant.admin).post(attach_again_url(tenant.account, item)).status_code == 404
    response = client_for(tenant.admin).post(url)
    assert response.status_code == 302 and response["Location"].endswith(f"/sales/{item.pk}/")
    assert document_of(item).attach_state == AttachState.PENDING and document_of(item).attach_key


def test_a_bill_published_through_the_web_connector_keeps_its_document_here(tenant):
    from tests.integrations.test_qbwc_publish import QBD

    world = QBD(tenant)
    item = world.item("INV-QBD-RUN")
    with_document(item)
    world.publish(item)
    assert world.run().ok
    with scopes_disabled():
        item.refresh_from_db()
    assert item.status == ItemStatus.PUBLISHED and len(world.bills()) == 1
    document = document_of(item)
    assert document.attach_state == AttachState.UNSUPPORTED and attach_tasks(due_only=False) == []
    page = item_page(tenant.admin, item)
    assert 'data-attach-state="unsupported"' in page and "QuickBooks Desktop cannot take attachments" in page

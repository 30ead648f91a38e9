"""An item published to ApprovalMax, on its Item details page (issue 10): the bill went to Xero awaiting
approval (ApprovalMax documents no create call), and the page shows its approval as ApprovalMax's own
read endpoint tells it, over real HTTP against the sandbox (integrations/providers/approvalmax_publish.py
approval_status; docs/providers.md, "ApprovalMax"). The other tenant sees nothing and never changes."""

from __future__ import annotations

import pytest
import stamina
from django_scopes import scopes_disabled

from costs import publishing
from costs.models import Item, ItemStatus
from sandbox.models import SandboxBill
from tests.conftest import client_for
from tests.integrations.publish_helpers import received
from tests.integrations.publishing_helpers import ready_item, work_off
from tests.integrations.sandbox_helpers import (  # noqa: F401
    a_consent,
    exchanged,
    org_ids,
    other_tenant_untouched,
    sandbox,
    xero_connection,
)

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_untouched")


@pytest.fixture(autouse=True)
def _no_backoff_waits():
    with stamina.set_testing(True, attempts=publishing.IN_CALL_ATTEMPTS):
        yield


@pytest.fixture
def connected(tenant, connect):
    xero = xero_connection(connect, tenant.account)
    company = org_ids("approvalmax", "Acme Approvals")[0]
    tokens = exchanged("approvalmax", a_consent("approvalmax", ["Acme Approvals"]))
    approvalmax = connect(
        tenant.account,
        "approvalmax",
        external_id=company,
        credentials=tokens.as_credentials(),
        access_expires_at=tokens.expires_at,
    )
    return xero, approvalmax


def page_url(item, action: str = "") -> str:
    return f"/a/{item.account.slug}/costs/{item.pk}/{action + '/' if action else ''}"


def test_the_item_page_shows_the_approval_read_from_approvalmax(
    tenant, other_tenant, connected, django_capture_on_commit_callbacks
):
    xero, approvalmax = connected
    item = ready_item(xero, "AM-PAGE-1", to=approvalmax)
    admin = client_for(tenant.admin)
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(page_url(item, "publish"))
    assert work_off() == ["published"]
    [bill] = received("xero", xero.external_id)
    assert bill.status == "SUBMITTED"
    with scopes_disabled():
        item = Item.objects.get(pk=item.pk)
    assert (item.status, item.published_to) == (ItemStatus.PUBLISHED, approvalmax)

    page = admin.get(page_url(item)).content.decode()
    assert "Published to <strong>ApprovalMax</strong> (sent to Xero awaiting approval)" in page
    assert f'hx-get="{page_url(item, "approval")}" hx-trigger="load"' in page
    assert "ID in Xero</dt>" in page and item.external_id in page

    def approval() -> str:
        return admin.get(page_url(item, "approval")).content.decode()

    assert 'data-approval="awaiting"' in approval() and "Awaiting approval in ApprovalMax." in approval()
    SandboxBill.objects.filter(bill_id=bill.bill_id).update(status="AUTHORISED")  # approved there
    assert 'data-approval="approved"' in approval() and "Approved in ApprovalMax." in approval()
    SandboxBill.objects.filter(bill_id=bill.bill_id).update(status="DRAFT")  # rejected there
    assert 'data-approval="rejected"' in approval()

    # Another account's Admin: no such item.
    assert client_for(other_tenant.admin).get(page_url(item, "approval")).status_code == 404


def test_an_item_not_sent_to_approvalmax_has_no_approval_to_read(tenant, other_tenant, connected):
    xero, _ = connected
    item = ready_item(xero, "X-ONLY-1")
    admin = client_for(tenant.admin)
    assert 'hx-trigger="load"' not in admin.get(page_url(item)).content.decode()
    answer = admin.get(page_url(item, "approval")).content.decode()
    assert 'data-approval="none"' in answer and "was not sent for approval in ApprovalMax" in answer

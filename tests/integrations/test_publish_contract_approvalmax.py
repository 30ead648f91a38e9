"""ApprovalMax through what it documents (integrations/providers/approvalmax_publish.py), against the
sandbox over real HTTP: no create call exists; the bill goes to the main Xero organisation awaiting
approval (SUBMITTED), ApprovalMax pulls it, and its approval is read from ApprovalMax's documented read
endpoint, or from the Xero bill's status."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrations.provider_calls import caller_for
from integrations.providers import approvalmax_publish, xero_publish
from integrations.providers.publishing import BillLine, Party, Published
from sandbox.approvalmax_reads import PULLS_FROM_XERO
from sandbox.models import SandboxBill
from tests.integrations.publish_helpers import a_bill, entry
from tests.integrations.sandbox_helpers import (  # noqa: F401
    XERO_ACME,
    a_consent,
    exchanged,
    org_ids,
    other_tenant_untouched,
    sandbox,
    xero_connection,
)

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_untouched")


@pytest.fixture
def connected(tenant, connect):
    xero = xero_connection(connect, tenant.account)
    company = org_ids("approvalmax", "Acme Approvals")[0]
    assert PULLS_FROM_XERO[company] == xero.external_id
    tokens = exchanged("approvalmax", a_consent("approvalmax", ["Acme Approvals"]))
    approvalmax = connect(
        tenant.account,
        "approvalmax",
        external_id=company,
        credentials=tokens.as_credentials(),
        access_expires_at=tokens.expires_at,
    )
    return xero, approvalmax


def the_bill(xero, key: str = "am-1"):
    contact = entry("xero", xero.external_id, "supplier", "Acme Supplies").entry_id
    line = BillLine(
        "Paper", Decimal("100.00"), tax_amount=Decimal("20.00"), account_code="429", tax_rate_code="INPUT2"
    )
    return a_bill(key, supplier=Party(external_id=contact), lines=[line]), contact


def test_a_bill_for_approvalmax_goes_to_xero_awaiting_approval_and_its_approval_is_read_back(connected):
    xero, approvalmax = connected
    bill, contact = the_bill(xero)
    [sent] = xero_publish.send(
        caller_for(xero), organisation=xero.external_id, bills=[approvalmax_publish.for_approval(bill)]
    ).outcomes
    assert isinstance(sent, Published)
    assert SandboxBill.objects.get(bill_id=sent.external_id).status == "SUBMITTED"

    def read():
        return approvalmax_publish.approval_status(
            caller_for(approvalmax), company_id=approvalmax.external_id, bill=bill, contact_id=contact
        )

    waiting = read()
    assert waiting.state == approvalmax_publish.AWAITING and waiting.request_id
    SandboxBill.objects.filter(bill_id=sent.external_id).update(status="AUTHORISED")  # approved
    assert read().state == approvalmax_publish.APPROVED
    in_xero = xero_publish.statuses(
        caller_for(xero), organisation=xero.external_id, invoice_ids=[sent.external_id]
    )
    assert (
        approvalmax_publish.status_from_xero(in_xero[sent.external_id]).state == approvalmax_publish.APPROVED
    )
    SandboxBill.objects.filter(bill_id=sent.external_id).update(status="DRAFT")  # rejected
    assert read().state == approvalmax_publish.REJECTED


def test_a_bill_approvalmax_has_not_pulled_is_unknown_and_a_draft_is_never_pulled(connected):
    xero, approvalmax = connected
    bill, contact = the_bill(xero)
    xero_publish.send(caller_for(xero), organisation=xero.external_id, bills=[bill])  # a plain draft
    status = approvalmax_publish.approval_status(
        caller_for(approvalmax), company_id=approvalmax.external_id, bill=bill, contact_id=contact
    )
    assert status.state == approvalmax_publish.UNKNOWN and "not pulled" in status.detail


def test_an_organisation_not_granted_to_the_token_is_unknown_with_approvalmaxs_answer(connected):
    xero, approvalmax = connected
    bill, _ = the_bill(xero)
    other = org_ids("approvalmax", "Globex Approvals")[0]
    status = approvalmax_publish.approval_status(caller_for(approvalmax), company_id=other, bill=bill)
    assert status.state == approvalmax_publish.UNKNOWN and "403" in status.detail


def test_quickbooks_online_has_no_approval_path():
    refused = approvalmax_publish.not_for_quickbooks()
    assert refused.code == "approvalmax_quickbooks" and "QuickBooks Online" in refused.message

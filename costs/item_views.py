"""The Item details page's publishing actions (issue 10): Publish, Retry, Cancel, the small status partial
the page polls while the item is being published, and an ApprovalMax item's approval, read from
ApprovalMax's API. Writes go through costs/publishing.py (which asks accounts/permissions.py); a refusal
becomes a message on the item page and changes nothing. Another account's item is a 404
(get_item_for_account), the same answer as one that does not exist."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from accounts.errors import DomainError
from accounts.tenancy import account_view

from . import publishing
from .models import Item, ItemStatus, SupplierLink
from .selectors import get_item_for_account

APPROVAL_WORDS = {
    "awaiting": "Awaiting approval in ApprovalMax",
    "approved": "Approved in ApprovalMax",
    "rejected": "Rejected in ApprovalMax: it is back in draft in Xero",
    "unknown": "Approval status not known yet",
}


def item_url(request: HttpRequest, item: Item, *, sales: bool, origin: str = "") -> str:
    url = reverse(
        f"costs:{'sales_item_detail' if sales else 'item_detail'}", args=[request.account.slug, item.pk]
    )
    return url + (f"?{urlencode({'from': origin})}" if origin else "")


def _back_to_item(request: HttpRequest, item: Item, *, sales: bool) -> HttpResponse:
    # The inbox's filters travel with the item page ("Back" returns to the same list): keep them.
    return redirect(item_url(request, item, sales=sales, origin=request.POST.get("from", "")[:2000]))


def _act(request: HttpRequest, item_id: int, *, sales: bool, action: str) -> HttpResponse:
    item = get_item_for_account(account=request.account, id=item_id, sales=sales)
    account, user = request.account, request.user
    try:
        if action == "publish":
            result = publishing.request_publish(account=account, acting_user=user, item_ids=[item.pk])
            [attempt] = result.queued
            messages.success(request, f"Publishing to {attempt.connection.label}…")
        elif action == "retry":
            attempt = publishing.retry(account=account, acting_user=user, item_id=item.pk)
            messages.success(request, f"Publishing again, to {attempt.connection.label}…")
        else:
            publishing.cancel(account=account, acting_user=user, item_id=item.pk)
            messages.success(request, "Publishing cancelled: the item is Ready again and nothing was sent.")
    except DomainError as error:
        messages.error(request, error.message)
    return _back_to_item(request, item, sales=sales)


@require_POST
@account_view("account.view")
def item_publish(request: HttpRequest, item_id: int) -> HttpResponse:
    return _act(request, item_id, sales=False, action="publish")


@require_POST
@account_view("account.view")
def item_retry(request: HttpRequest, item_id: int) -> HttpResponse:
    return _act(request, item_id, sales=False, action="retry")


@require_POST
@account_view("account.view")
def item_cancel(request: HttpRequest, item_id: int) -> HttpResponse:
    return _act(request, item_id, sales=False, action="cancel")


@require_POST
@account_view("account.view")
def sales_item_publish(request: HttpRequest, item_id: int) -> HttpResponse:
    return _act(request, item_id, sales=True, action="publish")


@require_POST
@account_view("account.view")
def sales_item_retry(request: HttpRequest, item_id: int) -> HttpResponse:
    return _act(request, item_id, sales=True, action="retry")


@require_POST
@account_view("account.view")
def sales_item_cancel(request: HttpRequest, item_id: int) -> HttpResponse:
    return _act(request, item_id, sales=True, action="cancel")


# --- the status partial ---------------------------------------------------------------------------


def _status(request: HttpRequest, item_id: int, *, sales: bool) -> HttpResponse:
    """The page's state block (badge, where it publishes, the actions and banners), polled every 2 s
    while the item is Publishing. Once it is not, the answer also carries the fields column (an htmx
    out-of-band swap): a failed item's fields become editable again without a reload."""
    from .views import item_page_context

    item = get_item_for_account(account=request.account, id=item_id, sales=sales)
    context = item_page_context(request, item, sales=sales, origin=request.GET.get("from", ""))
    context["fields_oob"] = item.status != ItemStatus.PUBLISHING
    return render(request, "costs/_item_status_poll.html", context)


@require_GET
@account_view("account.view")
def item_status(request: HttpRequest, item_id: int) -> HttpResponse:
    return _status(request, item_id, sales=False)


@require_GET
@account_view("account.view")
def sales_item_status(request: HttpRequest, item_id: int) -> HttpResponse:
    return _status(request, item_id, sales=True)


# --- ApprovalMax ----------------------------------------------------------------------------------


def approval_of(item: Item) -> tuple[str, str]:
    """(state, words) of an item published to ApprovalMax: the bill went to Xero awaiting approval and
    ApprovalMax pulled it; its decision is read from ApprovalMax's documented read endpoint
    (integrations/providers/approvalmax_publish.approval_status; docs/providers.md, "ApprovalMax")."""
    from integrations.lists import source_for
    from integrations.provider_calls import caller_for
    from integrations.providers import approvalmax_publish
    from integrations.providers.publishing import BillData, Party

    connection = item.published_to
    main = source_for(connection)
    contact_id = ""
    if main is not None and item.supplier_id:
        link = (
            SupplierLink.objects.filter(supplier_id=item.supplier_id, connection=main)
            .select_related("entry")
            .first()
        )
        contact_id = link.entry.external_id if link is not None and link.entry is not None else ""
    bill = BillData(
        key=item.external_id or str(item.pk),
        kind=item.type,
        number=item.reference,
        date=item.date,
        supplier=Party(external_id=contact_id, name=item.supplier.name if item.supplier_id else ""),
        lines=(),
        total=item.total or Decimal("0"),
    )
    try:
        approval = approvalmax_publish.approval_status(
            caller_for(connection), company_id=connection.external_id, bill=bill, contact_id=contact_id
        )
    except DomainError as exc:  # ProviderError and NeedsReconnect are DomainErrors
        return "unknown", f"ApprovalMax could not be asked: {exc.message}"
    words = APPROVAL_WORDS.get(approval.state, APPROVAL_WORDS["unknown"])
    return approval.state, f"{words}." + (f" {approval.detail}" if approval.detail else "")


def _approval(request: HttpRequest, item_id: int, *, sales: bool) -> HttpResponse:
    item = get_item_for_account(account=request.account, id=item_id, sales=sales)
    connection = item.published_to
    if item.status != ItemStatus.PUBLISHED or connection is None or connection.provider != "approvalmax":
        state, words = "none", "This item was not sent for approval in ApprovalMax."
    else:
        state, words = approval_of(item)
    return render(request, "costs/_item_approval.html", {"approval_state": state, "approval_words": words})


@require_GET
@account_view("account.view")
def item_approval(request: HttpRequest, item_id: int) -> HttpResponse:
    return _approval(request, item_id, sales=False)

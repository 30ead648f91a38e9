""" "Attach again" (costs/attachments.py): a POST under the item's URL, for users who may publish
(accounts/permissions.py "items.publish"). Another account's item is 404, like everything else."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.errors import DomainError
from accounts.tenancy import account_view

from . import attachments
from .selectors import get_item_for_account


def _attach_again(request: HttpRequest, item_id: int, *, sales: bool) -> HttpResponse:
    item = get_item_for_account(account=request.account, id=item_id, sales=sales)
    try:
        attachments.attach_again(account=request.account, acting_user=request.user, item_id=item.pk)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Attaching the document again. The bill itself is not sent again.")
    name = "costs:sales_item_detail" if sales else "costs:item_detail"
    return redirect(reverse(name, args=[request.account.slug, item.pk]))


@require_POST
@account_view("items.publish")
def attach_again(request: HttpRequest, item_id: int) -> HttpResponse:
    return _attach_again(request, item_id, sales=False)


@require_POST
@account_view("items.publish")
def sales_attach_again(request: HttpRequest, item_id: int) -> HttpResponse:
    return _attach_again(request, item_id, sales=True)

"""The item page's document: `{% item_document %}` renders templates/costs/_item_document.html (the
viewer, and the values read from a PDF's text layer to confirm) from the page's own context."""

from __future__ import annotations

from django import template
from django.urls import reverse

from costs import prefill
from costs.models import is_changeable

register = template.Library()


@register.inclusion_tag("costs/_item_document.html", takes_context=True)
def item_document(context) -> dict:
    item = context["item"]
    account = context["account"]
    sales = item.is_sales
    prefix = "costs:sales_" if sales else "costs:"
    document = getattr(item, "document", None)
    can = context.get("can")
    editable = bool(can and getattr(can, "items_edit", False)) and is_changeable(item)
    result = {
        "item": item,
        "document": document,
        "sales": sales,
        "editable": editable,
        "csrf_token": context.get("csrf_token"),
        "upload_url": reverse(f"{prefix}upload", args=[account.slug]),
        "ready_url": reverse(f"{prefix}item_ready", args=[account.slug, item.pk]),
        "to_review": item.status == "to_review",
    }
    if document is None:
        return result
    args = [account.slug, item.pk]
    page_url = reverse(f"{prefix}document_page", args=args)
    result |= {
        "document_url": reverse(f"{prefix}document", args=args),
        "page_urls": [f"{page_url}?page={n}" for n in range(1, document.pages + 1)],
        "is_pdf": document.content_type == "application/pdf",
        "offer": prefill.offer(item) if editable else None,
        "prefill_url": reverse(f"{prefix}item_prefill", args=args),
    }
    return result

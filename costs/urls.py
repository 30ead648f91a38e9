from django.urls import path

from . import attachment_views, document_views, item_views, list_views, views

app_name = "costs"
urlpatterns = [
    path("a/<slug:account_slug>/costs/", views.inbox, name="inbox"),
    path("a/<slug:account_slug>/costs/integration/", views.bulk_integration, name="bulk_integration"),
    # Bulk Publish from the Costs and Sales inboxes, and its progress (polled by htmx).
    path("a/<slug:account_slug>/costs/publish/", views.bulk_publish, name="bulk_publish"),
    path("a/<slug:account_slug>/costs/publish/progress/", views.publish_progress, name="publish_progress"),
    path("a/<slug:account_slug>/costs/<int:item_id>/", views.item_detail, name="item_detail"),
    path("a/<slug:account_slug>/costs/<int:item_id>/lists/", list_views.item_lists, name="item_lists"),
    # The item page's publishing actions and the status partial it polls (costs/item_views.py).
    path("a/<slug:account_slug>/costs/<int:item_id>/publish/", item_views.item_publish, name="item_publish"),
    path("a/<slug:account_slug>/costs/<int:item_id>/retry/", item_views.item_retry, name="item_retry"),
    path("a/<slug:account_slug>/costs/<int:item_id>/cancel/", item_views.item_cancel, name="item_cancel"),
    path("a/<slug:account_slug>/costs/<int:item_id>/status/", item_views.item_status, name="item_status"),
    path(
        "a/<slug:account_slug>/costs/<int:item_id>/approval/", item_views.item_approval, name="item_approval"
    ),
    # "Attach again": the attach step only (costs/attachments.py), never a second publish.
    path(
        "a/<slug:account_slug>/costs/<int:item_id>/attach/",
        attachment_views.attach_again,
        name="attach_again",
    ),
    path(
        "a/<slug:account_slug>/sales/<int:item_id>/attach/",
        attachment_views.sales_attach_again,
        name="sales_attach_again",
    ),
    path("a/<slug:account_slug>/sales/", views.sales_inbox, name="sales_inbox"),
    path("a/<slug:account_slug>/sales/<int:item_id>/", views.sales_item_detail, name="sales_item_detail"),
    path(
        "a/<slug:account_slug>/sales/<int:item_id>/publish/",
        item_views.sales_item_publish,
        name="sales_item_publish",
    ),
    path(
        "a/<slug:account_slug>/sales/<int:item_id>/retry/",
        item_views.sales_item_retry,
        name="sales_item_retry",
    ),
    path(
        "a/<slug:account_slug>/sales/<int:item_id>/cancel/",
        item_views.sales_item_cancel,
        name="sales_item_cancel",
    ),
    path(
        "a/<slug:account_slug>/sales/<int:item_id>/status/",
        item_views.sales_item_status,
        name="sales_item_status",
    ),
    # Items in (issue 11): uploads, the scoped document views, the pre-fill, Ready (costs/document_views.py).
    path("a/<slug:account_slug>/costs/upload/", document_views.upload, name="upload"),
    path("a/<slug:account_slug>/sales/upload/", document_views.sales_upload, name="sales_upload"),
    path("a/<slug:account_slug>/costs/<int:item_id>/document/", document_views.document, name="document"),
    path(
        "a/<slug:account_slug>/costs/<int:item_id>/document/page/",
        document_views.document_page,
        name="document_page",
    ),
    path("a/<slug:account_slug>/costs/<int:item_id>/thumbnail/", document_views.thumbnail, name="thumbnail"),
    path(
        "a/<slug:account_slug>/costs/<int:item_id>/prefill/", document_views.item_prefill, name="item_prefill"
    ),
    path("a/<slug:account_slug>/costs/<int:item_id>/ready/", document_views.item_ready, name="item_ready"),
    path(
        "a/<slug:account_slug>/sales/<int:item_id>/document/",
        document_views.sales_document,
        name="sales_document",
    ),
    path(
        "a/<slug:account_slug>/sales/<int:item_id>/document/page/",
        document_views.sales_document_page,
        name="sales_document_page",
    ),
    path(
        "a/<slug:account_slug>/sales/<int:item_id>/thumbnail/",
        document_views.sales_thumbnail,
        name="sales_thumbnail",
    ),
    path(
        "a/<slug:account_slug>/sales/<int:item_id>/prefill/",
        document_views.sales_item_prefill,
        name="sales_item_prefill",
    ),
    path(
        "a/<slug:account_slug>/sales/<int:item_id>/ready/",
        document_views.sales_item_ready,
        name="sales_item_ready",
    ),
    path("a/<slug:account_slug>/rules/", views.rules, name="rules"),
    path("a/<slug:account_slug>/rules/new/", views.rule_create, name="rule_create"),
    path("a/<slug:account_slug>/rules/new/lists/", list_views.rule_lists_new, name="rule_lists_new"),
    path("a/<slug:account_slug>/rules/<int:rule_id>/", views.rule_edit, name="rule_edit"),
    path("a/<slug:account_slug>/rules/<int:rule_id>/lists/", list_views.rule_lists, name="rule_lists"),
    path("a/<slug:account_slug>/rules/<int:rule_id>/link/", list_views.rule_link, name="rule_link"),
    path("a/<slug:account_slug>/rules/<int:rule_id>/delete/", views.rule_delete, name="rule_delete"),
    # The type-ahead's searches (costs/list_views.py): 20 matches at a time, this account's only.
    path("a/<slug:account_slug>/choose/suppliers/", list_views.choose_suppliers, name="choose_suppliers"),
    path(
        "a/<slug:account_slug>/choose/<int:connection_id>/<slug:kind>/",
        list_views.choose_entries,
        name="choose_entries",
    ),
]

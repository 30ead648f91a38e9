from django.urls import path

from . import list_views, views

app_name = "costs"
urlpatterns = [
    path("a/<slug:account_slug>/costs/", views.inbox, name="inbox"),
    path("a/<slug:account_slug>/costs/integration/", views.bulk_integration, name="bulk_integration"),
    # Bulk Publish from the Costs and Sales inboxes, and its progress (polled by htmx).
    path("a/<slug:account_slug>/costs/publish/", views.bulk_publish, name="bulk_publish"),
    path("a/<slug:account_slug>/costs/publish/progress/", views.publish_progress, name="publish_progress"),
    path("a/<slug:account_slug>/costs/<int:item_id>/", views.item_detail, name="item_detail"),
    path("a/<slug:account_slug>/costs/<int:item_id>/lists/", list_views.item_lists, name="item_lists"),
    path("a/<slug:account_slug>/sales/", views.sales_inbox, name="sales_inbox"),
    path("a/<slug:account_slug>/sales/<int:item_id>/", views.sales_item_detail, name="sales_item_detail"),
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

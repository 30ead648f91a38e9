from django.urls import path

from . import views

app_name = "costs"
urlpatterns = [
    path("a/<slug:account_slug>/costs/", views.inbox, name="inbox"),
    path("a/<slug:account_slug>/costs/integration/", views.bulk_integration, name="bulk_integration"),
    path("a/<slug:account_slug>/costs/<int:item_id>/", views.item_detail, name="item_detail"),
    path("a/<slug:account_slug>/sales/", views.sales_inbox, name="sales_inbox"),
    path("a/<slug:account_slug>/sales/<int:item_id>/", views.sales_item_detail, name="sales_item_detail"),
    path("a/<slug:account_slug>/rules/", views.rules, name="rules"),
    path("a/<slug:account_slug>/rules/new/", views.rule_create, name="rule_create"),
    path("a/<slug:account_slug>/rules/<int:rule_id>/", views.rule_edit, name="rule_edit"),
    path("a/<slug:account_slug>/rules/<int:rule_id>/delete/", views.rule_delete, name="rule_delete"),
]

from django.urls import path

from . import payment_accounts_views, views

# Business settings > Connections: list and defaults (with their preview), the software that can be
# connected, the disconnect confirmation, each connection's lists (their state, Refresh lists), and the
# accounts QuickBooks Online paid receipts are paid from (Payment accounts).
urlpatterns: list = [
    path("a/<slug:account_slug>/settings/connections/", views.connections, name="connections"),
    path(
        "a/<slug:account_slug>/settings/connections/defaults/preview/",
        views.defaults_preview,
        name="defaults_preview",
    ),
    path("a/<slug:account_slug>/settings/connections/connect/", views.connect_choose, name="connect_choose"),
    path(
        "a/<slug:account_slug>/settings/connections/<int:connection_id>/disconnect/",
        views.disconnect,
        name="disconnect",
    ),
    path(
        "a/<slug:account_slug>/settings/connections/<int:connection_id>/lists/",
        views.lists_status,
        name="lists_status",
    ),
    path(
        "a/<slug:account_slug>/settings/connections/<int:connection_id>/lists/refresh/",
        views.lists_refresh,
        name="lists_refresh",
    ),
    path(
        "a/<slug:account_slug>/settings/connections/<int:connection_id>/payment-accounts/",
        payment_accounts_views.payment_accounts_page,
        name="payment_accounts",
    ),
]

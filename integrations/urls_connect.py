from django.urls import path

from . import connect_oauth, connect_qbd, connect_views, qbwc_views

# Connect flows: OAuth start/callback, organisation choice, Bill.com sign-in, QuickBooks Desktop set-up.
urlpatterns: list = [
    path(
        "a/<slug:account_slug>/settings/connections/connect/<str:provider>/",
        connect_views.connect_start,
        name="connect_start",
    ),
    path(
        "a/<slug:account_slug>/settings/connections/connect/<str:provider>/organisation/",
        connect_oauth.choose_organisation,
        name="choose_organisation",
    ),
    path(
        "a/<slug:account_slug>/settings/connections/qbd/status/",
        connect_qbd.qbd_status,
        name="qbd_status",
    ),
    path(
        "a/<slug:account_slug>/settings/connections/qbd/app.qwc",
        connect_qbd.qwc_download,
        name="qwc_download",
    ),
    # The fixed redirect URI registered with each provider: not under an account, the state says which.
    path("connect/callback/<str:provider>/", connect_oauth.oauth_callback, name="oauth_callback"),
    # The QuickBooks Web Connector's SOAP endpoint (AppURL in the .qwc file).
    path("qbwc/", qbwc_views.qbwc, name="qbwc"),
]

from django.contrib.auth import views as auth_views
from django.urls import path

from . import invitation_views, mail_views, password_views, switching, views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/change/", password_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/change/done/", password_views.PasswordChangeDoneView.as_view(), name="password_change_done"
    ),
    path("password/reset/", password_views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", password_views.PasswordResetSentView.as_view(), name="password_reset_sent"),
    path(
        "password/reset/<uidb64>/<token>/",
        password_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        password_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("invitations/<slug:token>/", invitation_views.invitation_accept, name="invitation"),
    path("sent-mail/", mail_views.sent_mail, name="sent_mail"),
    path("sent-mail/<slug:key>/", mail_views.sent_mail_message, name="sent_mail_message"),
    path("switch/", views.switch, name="switch"),
    path("a/<slug:account_slug>/", views.account_home, name="account_home"),
    # The switcher's links: the same section in the other account (accounts/switching.py).
    path("a/<slug:account_slug>/switch-to/<slug:section>/", switching.switch_to, name="switch_to"),
    path("a/<slug:account_slug>/settings/", views.business_settings, name="settings"),
    path("a/<slug:account_slug>/settings/users/", views.users, name="users"),
    path(
        "a/<slug:account_slug>/settings/users/publishing/",
        views.users_publishing,
        name="users_publishing",  # "users…": the Users tab stays current
    ),
    path(
        "a/<slug:account_slug>/settings/users/<int:membership_id>/role/",
        views.user_change_role,
        name="user_change_role",
    ),
    path(
        "a/<slug:account_slug>/settings/users/<int:membership_id>/remove/",
        views.user_remove,
        name="user_remove",
    ),
    path(
        "a/<slug:account_slug>/settings/users/practices/<int:practice_id>/end/",
        views.users_practice_end,
        name="users_practice_end",  # "users…": the Users tab stays current (context_processors._section)
    ),
    path(
        "a/<slug:account_slug>/settings/users/invitations/<int:invitation_id>/resend/",
        invitation_views.invitation_resend,
        name="user_invitation_resend",
    ),
    path(
        "a/<slug:account_slug>/settings/users/invitations/<int:invitation_id>/cancel/",
        invitation_views.invitation_cancel,
        name="user_invitation_cancel",
    ),
    path("a/<slug:account_slug>/settings/activity/", views.activity, name="activity"),
    path("p/<slug:practice_slug>/clients/", views.practice_clients, name="practice_clients"),
]

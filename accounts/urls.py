from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("switch/", views.switch, name="switch"),
    path("a/<slug:account_slug>/", views.account_home, name="account_home"),
    path("a/<slug:account_slug>/settings/", views.business_settings, name="settings"),
    path("a/<slug:account_slug>/settings/users/", views.users, name="users"),
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
    path("a/<slug:account_slug>/settings/activity/", views.activity, name="activity"),
    path("p/<slug:practice_slug>/clients/", views.practice_clients, name="practice_clients"),
]

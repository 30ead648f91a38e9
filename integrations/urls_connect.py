from django.urls import path  # noqa: F401

# Connect flows: OAuth start/callback, organisation choice, Bill.com sign-in, QuickBooks Desktop set-up.
urlpatterns: list = []

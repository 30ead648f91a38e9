from django.urls import path  # noqa: F401

# Business settings > Connections: list, defaults, disconnect (preview + confirm), reconnect.
urlpatterns: list = []

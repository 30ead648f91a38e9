from django.apps import apps
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("", include("integrations.urls")),
    path("", include("costs.urls")),
]

# Routed only where it is installed, i.e. with SANDBOX_ENABLED (settings): never in production.
if apps.is_installed("sandbox"):
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))

from django.apps import apps
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView


class FaviconView(RedirectView):
    permanent = True

    def get_redirect_url(self, *args, **kwargs) -> str:
        return static("favicon.svg")  # at request time: the hashed name needs collectstatic's manifest


urlpatterns = [
    # Browsers ask for /favicon.ico on pages that name no icon (a JSON answer opened in a tab).
    path("favicon.ico", FaviconView.as_view()),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("", include("integrations.urls")),
    path("", include("costs.urls")),
]

# Routed only where it is installed, i.e. with SANDBOX_ENABLED (settings): never in production.
if apps.is_installed("sandbox"):
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))

# The 403 names the account's Admins; 404 and 500 are the templates of the same names, in the demo too
# unless SHOW_DEBUG_ERRORS (dext_connect/errors.py).
handler403 = "dext_connect.errors.permission_denied"

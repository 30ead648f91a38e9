from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    """django.contrib.admin with the project's site: every admin page runs outside the tenant scopes
    (accounts/admin_site.py)."""

    default_site = "accounts.admin_site.UnscopedAdminSite"

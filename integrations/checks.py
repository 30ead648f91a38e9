from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def encryption_keys_set(app_configs, **kwargs):
    if settings.FIELD_ENCRYPTION_KEYS:
        return []
    return [
        Error(
            "FIELD_ENCRYPTION_KEYS is not set: credentials would be encrypted with a key derived "
            "from SECRET_KEY.",
            hint="Generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'",
            id="integrations.E001",
        )
    ]


# The QuickBooks Web Connector connects only to an https AppURL, except on localhost (QBWC Programmer's
# Guide, chapter 4, AppURL: "If you don't use HTTPS, the web connector won't connect with your web
# service"; QBWC1051 when adding such a .qwc). Every customer's .qwc names SITE_URL + /qbwc/.
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


@register(Tags.security, deploy=True)
def web_connector_needs_https(app_configs, **kwargs):
    url = urlsplit(settings.SITE_URL)
    if url.scheme == "https" or (url.scheme == "http" and url.hostname in _LOCAL_HOSTS):
        return []
    return [
        Error(
            f"SITE_URL ({settings.SITE_URL}) is not an https address: the QuickBooks Web Connector refuses "
            "the AppURL of every .qwc file made from it (QBWC1051), so QuickBooks Desktop cannot connect.",
            hint="Set SITE_URL to the https address users browse, e.g. https://connect.example.com, and "
            "serve it over TLS.",
            id="integrations.E002",
        )
    ]

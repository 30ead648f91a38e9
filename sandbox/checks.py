"""The sandbox's own deploy check. Registered only while the sandbox is installed, which is exactly
when SANDBOX_ENABLED is on (settings), so it is the sandbox that warns about itself."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def sandbox_off_in_production(app_configs, **kwargs):
    """The sandbox plays Xero, QuickBooks, Bill.com and ApprovalMax: anyone can open its consent pages
    and Web Connector, unset provider URLs point at it and the client credentials are its fixed ones.
    It is for the demo and tests (on by default while DEBUG), never for a production server."""
    if settings.DEBUG or not settings.SANDBOX_ENABLED:
        return []
    return [
        Warning(
            "SANDBOX_ENABLED is on while DEBUG is off: /sandbox/ pretends to be the accounting providers "
            "and connections made on this server go to it, not to the real providers.",
            hint="Set SANDBOX_ENABLED=false (and the providers' client credentials, see README) on a "
            "production server.",
            id="sandbox.W001",
        )
    ]

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def sent_mail_closed(app_configs, **kwargs):
    """The open Sent mail page lets anyone read invitations and password resets: demo only."""
    if not settings.SENT_MAIL_OPEN or settings.DEBUG:
        return []
    return [
        Error(
            "SENT_MAIL_OPEN is on: anyone can read the invitation and password-reset e-mail on /sent-mail/.",
            hint="Unset SENT_MAIL_OPEN (it is for the demo only) and set EMAIL_URL to a real mail server.",
            id="accounts.E001",
        )
    ]

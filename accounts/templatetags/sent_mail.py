from django import template

from accounts.permissions import can_read_sent_mail as _can_read_sent_mail

register = template.Library()


@register.filter
def can_read_sent_mail(request) -> bool:
    """`{% if request|can_read_sent_mail %}`: the nav shows Sent mail to whoever may open it."""
    return _can_read_sent_mail(request)

"""`{% connect_extras provider %}`: what optional apps add to a connect page (integrations/extras.py)."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from integrations import extras

register = template.Library()


@register.simple_tag(takes_context=True)
def connect_extras(context: template.Context, provider: str) -> SafeString:
    return extras.connect_extras(
        request=context["request"], account=context["account"], provider=provider, context=context.flatten()
    )

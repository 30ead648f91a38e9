from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()


@register.simple_tag(takes_context=True)
def account_url(context, name: str, *args) -> str:
    """URL of a page of the current account: `{% account_url 'costs:inbox' %}`."""
    account = context.get("account")
    if account is None:
        return ""
    return reverse(name, args=[account.slug, *args])


@register.simple_tag
def nav_url(name: str, account) -> str:
    """The navigation links to sections; a section whose app is not installed is left out."""
    try:
        return reverse(name, kwargs={"account_slug": account.slug})
    except NoReverseMatch:
        return ""

"""`{% money item.total item.currency %}`: the amount in its currency, in the account's locale
(costs/money.py). Outside an account page (no `account` in the context) en-GB is used."""

from __future__ import annotations

from django import template

from costs.money import format_money

register = template.Library()


@register.simple_tag(takes_context=True)
def money(context, amount, currency) -> str:
    account = context.get("account")
    return format_money(amount, currency, getattr(account, "locale", None))

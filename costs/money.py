"""Money as the account reads it: Babel writes each amount in its own currency, in the account's locale.

"£1,608.31" (GBP, en-GB), "$1,608.31" (USD, en-US), "1.608,31 €" (EUR, de-DE); a credit note's negative
total keeps its sign ("-£1,608.31"). The locale is the account's (Account.locale, en-GB by default):
it decides separators and where the symbol goes, never the currency, which is the item's own.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.core import Locale, UnknownLocaleError
from babel.numbers import format_currency

DEFAULT_LOCALE = "en-GB"


def format_money(amount, currency: str, locale: str | None = None) -> str:
    """`amount` in `currency`, written for `locale` (a tag such as "en-GB"; en-GB when empty)."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    code = (currency or "").strip().upper()
    try:
        babel_locale = Locale.parse((locale or DEFAULT_LOCALE).replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        babel_locale = Locale.parse(DEFAULT_LOCALE.replace("-", "_"))
    # A code Babel has no symbol for is written as the code itself ("XYZ1,608.31"): never hidden.
    return format_currency(value, code, locale=babel_locale)

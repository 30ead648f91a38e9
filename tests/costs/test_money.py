"""Money written for its currency with Babel (costs/money.py), in the account's locale (en-GB unless
the account says otherwise), on the Costs and Sales inboxes and the item page."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from costs.money import format_money
from tests.factories import ItemFactory

NBSP, NNBSP = "\xa0", "\u202f"


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        (Decimal("1608.31"), "GBP", "en-GB", "£1,608.31"),
        (Decimal("1608.31"), "USD", "en-US", "$1,608.31"),
        (Decimal("1608.31"), "EUR", "de-DE", f"1.608,31{NBSP}€"),
        (Decimal("1608.31"), "EUR", "fr-FR", f"1{NNBSP}608,31{NBSP}€"),
        # The currency is the amount's own; the locale only decides how it is written.
        (Decimal("1608.31"), "USD", "en-GB", "US$1,608.31"),
        (Decimal("1608.31"), "EUR", "en-GB", "€1,608.31"),
        (Decimal("1608.31"), "GBP", "en-US", "£1,608.31"),
        # Credit notes: negative totals keep their sign.
        (Decimal("-1608.31"), "GBP", "en-GB", "-£1,608.31"),
        (Decimal("-1608.31"), "USD", "en-US", "-$1,608.31"),
        (Decimal("-1608.31"), "EUR", "de-DE", f"-1.608,31{NBSP}€"),
        (Decimal("0"), "GBP", "en-GB", "£0.00"),
        (Decimal("0.00"), "USD", "en-US", "$0.00"),
        (Decimal("0"), "EUR", "de-DE", f"0,00{NBSP}€"),
        (Decimal("1234567.5"), "GBP", "en-GB", "£1,234,567.50"),
        # A currency without minor units is written without them.
        (Decimal("1608"), "JPY", "en-GB", "JP¥1,608"),
    ],
)
def test_amounts_are_written_for_their_currency_and_locale(amount, currency, locale, expected):
    assert format_money(amount, currency, locale) == expected


def test_en_gb_when_no_locale_or_an_unknown_one():
    assert format_money(Decimal("1608.31"), "GBP") == "£1,608.31"
    assert format_money(Decimal("1608.31"), "GBP", "") == "£1,608.31"
    assert format_money(Decimal("1608.31"), "GBP", "xx-nowhere") == "£1,608.31"


def test_lower_case_currency_codes_and_missing_amounts():
    assert format_money(Decimal("5"), "gbp", "en-GB") == "£5.00"
    assert format_money(None, "GBP", "en-GB") == ""


def _cells(body: str, reference: str) -> str:
    row = next(r for r in re.findall(r"<tr\b[^>]*>.*?</tr>", body, flags=re.S) if reference in r)
    return " ".join(re.findall(r'<td class="num"[^>]*>([^<]*)</td>', row))


@pytest.mark.django_db
def test_costs_inbox_writes_total_and_tax_in_the_item_currency(account, other_account, admin_client_):
    ItemFactory(account=account, reference="INV-GBP", total=Decimal("1608.31"), tax=Decimal("268.05"))
    ItemFactory(account=account, reference="INV-EUR", currency="EUR", total=Decimal("99.5"), tax=Decimal("0"))
    ItemFactory(
        account=account, reference="CN-1", type="credit_note", total=Decimal("-20"), tax=Decimal("-3.33")
    )
    ItemFactory(account=other_account, reference="INV-OTHER", total=Decimal("777.77"))
    body = admin_client_.get(f"/a/{account.slug}/costs/").content.decode()
    assert _cells(body, "INV-GBP") == "£1,608.31 £268.05"
    assert _cells(body, "INV-EUR") == "€99.50 €0.00"
    assert _cells(body, "CN-1") == "-£20.00 -£3.33"
    assert "INV-OTHER" not in body and "777.77" not in body


@pytest.mark.django_db
def test_the_account_locale_decides_how_money_is_written(account, admin_client_):
    account.locale = "de-DE"
    account.save(update_fields=["locale"])
    ItemFactory(
        account=account, reference="INV-EUR", currency="EUR", total=Decimal("1608.31"), tax=Decimal("268.05")
    )
    body = admin_client_.get(f"/a/{account.slug}/costs/").content.decode()
    assert _cells(body, "INV-EUR") == f"1.608,31{NBSP}€ 268,05{NBSP}€"


@pytest.mark.django_db
def test_sales_inbox_and_item_page_write_money_the_same_way(account, admin_client_):
    sale = ItemFactory(
        account=account,
        reference="S-1",
        type="sales_invoice",
        currency="USD",
        total=Decimal("1608.31"),
        tax=Decimal("0"),
    )
    body = admin_client_.get(f"/a/{account.slug}/sales/").content.decode()
    assert _cells(body, "S-1") == "US$1,608.31 US$0.00"
    detail = admin_client_.get(f"/a/{account.slug}/sales/{sale.pk}/").content.decode()
    assert re.search(r'data-amount="total">US\$1,608.31<', detail)
    assert re.search(r'data-amount="tax">US\$0.00<', detail)
    cost = ItemFactory(account=account, reference="INV-9", total=Decimal("12.5"), tax=Decimal("2.08"))
    detail = admin_client_.get(f"/a/{account.slug}/costs/{cost.pk}/").content.decode()
    assert re.search(r'data-amount="total">£12.50<', detail)
    assert re.search(r'data-amount="tax">£2.08<', detail)

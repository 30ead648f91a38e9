"""The account a paid receipt was paid from, for QuickBooks Online (issue 10 §4: `purchase` for paid
receipts). Sources: docs/providers.md, "QuickBooks Online: paid receipts".

QuickBooks Online records a paid receipt as a Purchase: `PaymentType` (Cash, Check or CreditCard) and
`AccountRef`, the bank or credit card account the money left ("Check must specify bank account,
CreditCard must specify credit card account"). Those accounts are in QuickBooks' Account list, which the
lists read already keeps whole (integrations/providers/qbo.py read_list: every Account, its AccountType
in ListEntry.detail; "Bank" and "Credit Card" are not Categories, `for_costs` is false).

DECISION (what a bookkeeper expects, as Dext does with its payment methods): the item's **payment
method** says how it was paid, and each method is paid from one account, chosen once per connection:
- Card → PaymentType CreditCard, from a Credit Card account;
- Cheque → PaymentType Check, from a Bank account;
- Cash, Bank transfer, or no method given → PaymentType Cash, from a Bank account.
Which account: the one an Admin chose for that method (`choose`, kept in the connection's options
`payment_accounts`); else, when QuickBooks has exactly one active account of that type, that one (a
company with one current account and one card needs no set-up); else the receipt is refused before
anything is sent, naming the accounts to choose from. A chosen account that has since been made
inactive or deleted in QuickBooks is not used (refused, naming it), never swapped silently.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from accounts.activity import record
from accounts.errors import DomainError
from accounts.models import Account, User
from accounts.permissions import require
from accounts.tenancy import in_account_scope
from integrations.lists import source_for
from integrations.models import LIVE_STATUSES, Connection, ListEntry, ListKind
from integrations.providers.publishing import PAID_RECEIPT, Rejected

from .models import PaymentMethod

OPTION = "payment_accounts"
BANK, CREDIT_CARD = "Bank", "Credit Card"
# payment method → (QuickBooks Online PaymentType, the AccountType it must be paid from)
PAID_WITH = {
    PaymentMethod.CARD: ("CreditCard", CREDIT_CARD),
    PaymentMethod.CHEQUE: ("Check", BANK),
    PaymentMethod.CASH: ("Cash", BANK),
    PaymentMethod.BANK_TRANSFER: ("Cash", BANK),
    PaymentMethod.NONE: ("Cash", BANK),
}
# Software whose paid receipts need it.
PROVIDERS = ("qbo",)
MAY_NOT_CHOOSE = "Only an Admin can choose the accounts receipts are paid from."


@dataclass(frozen=True)
class Payment:
    account_id: str = ""
    payment_type: str = ""


def _words(method: str) -> str:
    return {
        PaymentMethod.CARD: "card payments",
        PaymentMethod.CHEQUE: "cheque payments",
        PaymentMethod.CASH: "cash payments",
        PaymentMethod.BANK_TRANSFER: "bank transfers",
    }.get(method, "receipts with no payment method")


def candidates(connection: Connection, account_type: str):
    """The active accounts of that type in the software's Account list, as last read."""
    return ListEntry.objects.filter(
        connection=connection, kind=ListKind.ACCOUNT, detail=account_type, active=True
    ).order_by("name")


def for_item(item, connection: Connection) -> Payment | Rejected:
    """How the item was paid, for the software behind `connection`: Payment("", "") when the document
    is not a paid receipt or the software records none; Rejected when no account can be told."""
    source = source_for(connection)
    if item.type != PAID_RECEIPT or source is None or source.provider not in PROVIDERS:
        return Payment()
    method = item.payment_method or PaymentMethod.NONE
    payment_type, account_type = PAID_WITH.get(method, PAID_WITH[PaymentMethod.NONE])
    chosen_id = (source.options.get(OPTION) or {}).get(method or "none", "")
    if chosen_id:
        chosen = ListEntry.objects.filter(
            connection=source, kind=ListKind.ACCOUNT, external_id=chosen_id
        ).first()
        if chosen is None or not chosen.active or chosen.detail != account_type:
            name = chosen.name if chosen is not None else "the account chosen"
            return Rejected(
                f"{source.label}: {name}, chosen to pay {_words(method)}, is no longer an active "
                f"{account_type} account there. An Admin chooses another, then Retry.",
                "payment_account_gone",
            )
        return Payment(chosen.external_id, payment_type)
    found = list(candidates(source, account_type)[:6])
    if len(found) == 1:
        return Payment(found[0].external_id, payment_type)
    if not found:
        return Rejected(
            f"{source.label} records a paid receipt against the {account_type.lower()} account it was paid "
            f"from, and it has no active {account_type} account for {_words(method)}. Add one in "
            f"{source.label}, refresh the lists, then Retry.",
            "no_payment_account",
        )
    names = ", ".join(e.name for e in found[:5]) + (", …" if len(found) > 5 else "")
    return Rejected(
        f"{source.label} has more than one {account_type} account ({names}) and none is chosen for "
        f"{_words(method)}. An Admin chooses the account they are paid from, then Retry.",
        "choose_payment_account",
    )


@in_account_scope
def choose(
    *, account: Account, acting_user: User, connection_id: int, payment_method: str, entry_id: int | None
) -> Connection:
    """An Admin chooses the account `payment_method`'s receipts are paid from (None: back to the
    automatic choice). The entry must be an active account of the right type in that connection's
    lists; anything else changes nothing."""
    require(user=acting_user, account=account, permission="integrations.manage", refusal=MAY_NOT_CHOOSE)
    if payment_method not in PAID_WITH:
        raise DomainError("Choose a payment method.", code="bad_method")
    with transaction.atomic():
        connection = (
            Connection.objects.select_for_update()
            .filter(account=account, pk=connection_id, status__in=LIVE_STATUSES, provider__in=PROVIDERS)
            .first()
        )
        if connection is None:
            raise DomainError("Choose a connected QuickBooks Online.", code="not_found")
        payment_type, account_type = PAID_WITH[payment_method]
        entry = None
        if entry_id is not None:
            entry = candidates(connection, account_type).filter(pk=entry_id).first()
            if entry is None:
                raise DomainError(
                    f"Choose one of {connection.label}'s active {account_type} accounts for "
                    f"{_words(payment_method)}.",
                    code="bad_payment_account",
                )
        chosen = dict(connection.options.get(OPTION) or {})
        key = payment_method or "none"
        before = chosen.get(key, "")
        if entry is None:
            chosen.pop(key, None)
        else:
            chosen[key] = entry.external_id
        connection.options = {**connection.options, OPTION: chosen}
        connection.save(update_fields=["options"])
        record(
            account=account,
            actor=acting_user,
            action="integration.payment_account",
            summary=(
                f"{connection.label}: {_words(payment_method)} are paid from "
                f"{entry.name if entry is not None else 'the only ' + account_type + ' account'}"
            ),
            before=before or "Automatic",
            after=entry.name if entry is not None else "Automatic",
        )
        return connection

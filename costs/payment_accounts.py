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

from dataclasses import dataclass, field

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


# The two choices Business settings > Connections > Payment accounts offers, in the bookkeeper's words:
# the account type → (the page's name for it, the payment methods paid from it).
PAID_FROM = {
    CREDIT_CARD: ("Card payments", (PaymentMethod.CARD,)),
    BANK: (
        "Bank payments",
        (PaymentMethod.CHEQUE, PaymentMethod.CASH, PaymentMethod.BANK_TRANSFER, PaymentMethod.NONE),
    ),
}


@dataclass
class PaidFrom:
    """One choice on the Payment accounts page: what `for_item` answers now for its payment methods."""

    account_type: str
    label: str
    candidates: list  # the active accounts of that type, as the lists last read them
    chosen: ListEntry | None = None  # the account an Admin chose (the same for all its methods)
    automatic: ListEntry | None = None  # none chosen: the only account of that type, used automatically
    mixed: list = field(default_factory=list)  # chosen one by one before: [(words, account name)]
    gone: list = field(default_factory=list)  # chosen, but no longer an active account of that type

    @property
    def current(self) -> ListEntry | None:
        return self.chosen or self.automatic


def paid_from(connection: Connection) -> list[PaidFrom]:
    """What each choice is now, for the Payment accounts page: from the connection's options and its
    lists, by the same rule `for_item` applies (the chosen account, else the only one)."""
    chosen_ids = connection.options.get(OPTION) or {}
    entries = {
        e.external_id: e
        for e in ListEntry.objects.filter(
            connection=connection, kind=ListKind.ACCOUNT, external_id__in=list(chosen_ids.values())
        )
    }
    shown = []
    for account_type, (label, methods) in PAID_FROM.items():
        found = list(candidates(connection, account_type))
        choice = PaidFrom(account_type, label, found)
        picked = {m: chosen_ids[m or "none"] for m in methods if chosen_ids.get(m or "none")}
        for method, external_id in picked.items():
            entry = entries.get(external_id)
            if entry is None or not entry.active or entry.detail != account_type:
                choice.gone.append((_words(method), entry.name if entry is not None else external_id))
        ids = set(picked.values())
        if len(ids) == 1 and len(picked) == len(methods) and not choice.gone:
            choice.chosen = entries[ids.pop()]
        elif picked and not choice.gone:
            unpicked = found[0].name + " (the only one)" if len(found) == 1 else "none chosen"
            choice.mixed = [
                (_words(m), entries[picked[m]].name if m in picked else unpicked) for m in methods
            ]
        elif not picked and len(found) == 1:
            choice.automatic = found[0]
        shown.append(choice)
    return shown


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
    return _choose(account, acting_user, connection_id, [payment_method], _words(payment_method), entry_id)


@in_account_scope
def choose_paid_from(
    *, account: Account, acting_user: User, connection_id: int, account_type: str, entry_id: int | None
) -> Connection:
    """The Payment accounts page: an Admin chooses the account all payment methods of one kind are paid
    from ("Card payments": card; "Bank payments": cheque, cash, bank transfer, none), in one change and
    one activity-log row. Same checks as `choose`; anything else changes nothing."""
    require(user=acting_user, account=account, permission="integrations.manage", refusal=MAY_NOT_CHOOSE)
    if account_type not in PAID_FROM:
        raise DomainError("Choose Card payments or Bank payments.", code="bad_method")
    label, methods = PAID_FROM[account_type]
    return _choose(account, acting_user, connection_id, list(methods), label.lower(), entry_id)


def _choose(
    account: Account, acting_user: User, connection_id: int, methods: list[str], words: str, entry_id
) -> Connection:
    with transaction.atomic():
        connection = (
            Connection.objects.select_for_update()
            .filter(account=account, pk=connection_id, status__in=LIVE_STATUSES, provider__in=PROVIDERS)
            .first()
        )
        if connection is None:
            raise DomainError("Choose a connected QuickBooks Online.", code="not_found")
        payment_type, account_type = PAID_WITH[methods[0]]
        entry = None
        if entry_id is not None:
            entry = candidates(connection, account_type).filter(pk=entry_id).first()
            if entry is None:
                raise DomainError(
                    f"Choose one of {connection.label}'s active {account_type} accounts for {words}.",
                    code="bad_payment_account",
                )
        chosen = dict(connection.options.get(OPTION) or {})
        keys = [method or "none" for method in methods]
        before_ids = sorted({chosen[k] for k in keys if chosen.get(k)})
        names = dict(
            ListEntry.objects.filter(
                connection=connection, kind=ListKind.ACCOUNT, external_id__in=before_ids
            ).values_list("external_id", "name")
        )
        before = ", ".join(names.get(i, i) for i in before_ids)
        for key in keys:
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
                f"{connection.label}: {words} are paid from "
                f"{entry.name if entry is not None else 'the only ' + account_type + ' account'}"
            ),
            before=before or "Automatic",
            after=entry.name if entry is not None else "Automatic",
        )
        return connection

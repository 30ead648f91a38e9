"""What an adapter is handed to publish, and what it hands back: plain data, no models (the adapters do
I/O only; the publishing service, which is later work, builds a BillData from an item and decides what
each outcome means for the item and its attempt).

A publishing adapter (integrations/providers/<provider>_publish.py) provides a create call that takes
a list of BillData and returns one outcome per bill, in the same order:

- `Published(external_id, url)`: the provider created it (url: a link to the document in the
  provider's web app, "" where the provider has none);
- `Rejected(message)`: the provider refused THIS bill (validation), in its own words; sending it again
  unchanged would be refused again;
- `RetryAfter(seconds)`: a rate or concurrency limit: nothing was created; send again after the wait;
- `AuthExpired(message)`: the provider did not accept our access even after one refresh (the callers
  of integrations/provider_calls.py refresh once on a 401): the connection needs reconnecting, the
  bill waits;
- `InDoubt(message)`: the answer was lost (a timeout, a dropped connection, a 5xx, an unreadable
  answer): the provider may or may not have created it. Before it is ever sent again it must be
  looked up (each adapter's `find_*`), unless the provider's idempotency key still covers the resend
  (Xero: the same batch with the same key within 6 minutes; QuickBooks Online: the same requestid).

Lookups (`find_*`) answer `Published` (it is there), `NotFound` (it is not: safe to send), or
RetryAfter / AuthExpired / InDoubt (the lookup itself could not tell).

Amounts are Decimals in the document's currency. Ids are the provider's own (ListEntry.external_id and
.code, integrations/models.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

# Document kinds: costs.models.ItemType's values (repeated here so this module imports no models).
BILL = "bill"
CREDIT_NOTE = "credit_note"
# A receipt is paid already (PRODUCT.md "Receipt"): QuickBooks Online records it as a Purchase against
# the account it was paid from; the others as a bill.
PAID_RECEIPT = "receipt"
EXPENSE_CLAIM = "expense_claim"
SALES_INVOICE = "sales_invoice"
KINDS = (BILL, CREDIT_NOTE, PAID_RECEIPT, EXPENSE_CLAIM, SALES_INVOICE)

# How line amounts are written.
TAX_EXCLUSIVE = "exclusive"  # line amounts before tax; tax added on top
TAX_INCLUSIVE = "inclusive"  # line amounts include their tax
NO_TAX = "no_tax"
AMOUNT_TYPES = (TAX_EXCLUSIVE, TAX_INCLUSIVE, NO_TAX)


@dataclass(frozen=True)
class Party:
    """The supplier (the customer, for a sales invoice): the provider's id when it has one, else the
    name, which the adapter sends for the provider to find or create where the provider does that
    (Xero `Contact{Name}`), or which the publishing service must first create (create_supplier of
    integrations/providers/lists.py) where it does not."""

    external_id: str = ""
    name: str = ""


@dataclass(frozen=True)
class BillLine:
    description: str
    amount: Decimal  # net or gross, as BillData.amounts says
    tax_amount: Decimal | None = None
    account_id: str = ""  # the account's external id (QuickBooks, Bill.com)
    account_code: str = ""  # the account's code (Xero posts by code)
    tax_rate_id: str = ""  # QuickBooks TaxCode id
    tax_rate_code: str = ""  # Xero TaxType, QuickBooks Desktop sales tax code
    item_id: str = ""  # QuickBooks sales lines post to a product or service (ItemRef)


@dataclass(frozen=True)
class BillData:
    """One document to create. `key` identifies it for good (the publish attempt's idempotency key): the
    adapters send it where the provider takes one per document (QuickBooks Online `requestid`, qbXML
    `requestID`) and the lookups use it where the document can carry it."""

    key: str
    kind: str
    number: str  # the supplier's invoice number (Xero InvoiceNumber, QuickBooks DocNumber/RefNumber)
    date: date
    supplier: Party
    lines: tuple[BillLine, ...]
    currency: str = ""
    due_date: date | None = None
    amounts: str = TAX_EXCLUSIVE
    total: Decimal = Decimal("0")
    tax_total: Decimal = Decimal("0")
    memo: str = ""
    # A link back to the document in Dext Connect (Xero shows it as "Go to Dext Connect").
    source_url: str = ""
    # The account a paid receipt was paid from (QuickBooks Online Purchase.AccountRef: a bank or credit
    # card account) and how (Cash, Check, CreditCard).
    payment_account_id: str = ""
    payment_type: str = ""
    # Xero: create it awaiting approval (Status SUBMITTED) for ApprovalMax to pick up.
    awaiting_approval: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"BillData.kind must be one of {KINDS}, not {self.kind!r}.")
        if self.amounts not in AMOUNT_TYPES:
            raise ValueError(f"BillData.amounts must be one of {AMOUNT_TYPES}, not {self.amounts!r}.")


@dataclass(frozen=True)
class Published:
    external_id: str
    url: str = ""


@dataclass(frozen=True)
class Rejected:
    message: str
    code: str = ""


@dataclass(frozen=True)
class RetryAfter:
    seconds: float
    message: str = ""


@dataclass(frozen=True)
class AuthExpired:
    message: str


@dataclass(frozen=True)
class InDoubt:
    message: str


@dataclass(frozen=True)
class NotFound:
    """A lookup's answer: the provider has no such document (it is safe to send it)."""

    detail: str = ""


Outcome = Published | Rejected | RetryAfter | AuthExpired | InDoubt
Lookup = Published | NotFound | RetryAfter | AuthExpired | InDoubt


@dataclass
class Batch:
    """Outcomes of one call, one per bill in order, and what the call sent (for the caller to keep:
    Xero's key covers the batch, so a resend must be the same body under the same key)."""

    outcomes: list[Outcome] = field(default_factory=list)
    key: str = ""
    body: dict | None = None


def money(value: Decimal) -> float:
    """A Decimal as JSON takes it, rounded to cents (the providers' amounts have two decimals)."""
    return float(Decimal(value).quantize(Decimal("0.01")))


# A 429 that names no wait (Xero's concurrent limit, QuickBooks Online's throttle): a short pause.
DEFAULT_WAIT = 2.0
# The provider refused THIS SERVER's credentials, or the server has none: nothing was created, and
# nothing will be until an operator fixes the settings (logged loudly where raised). The bill waits.
MISCONFIGURED_WAIT = 600.0


def outcome_of(exc: Exception) -> Outcome:
    """The outcome of a create that raised one of the callers' errors (integrations/providers/base.py).
    Anything that may have reached the provider without a readable answer is InDoubt."""
    from accounts.errors import DomainError

    from .base import (
        GrantRevoked,
        LoginFailed,
        NotConfigured,
        ProviderMisconfigured,
        ProviderUnavailable,
        RateLimited,
    )

    message = str(exc)
    if isinstance(exc, RateLimited):
        return RetryAfter(float(exc.retry_after) if exc.retry_after is not None else DEFAULT_WAIT, message)
    if isinstance(exc, GrantRevoked | LoginFailed):
        return AuthExpired(message)
    if isinstance(exc, ProviderMisconfigured | NotConfigured):
        return RetryAfter(MISCONFIGURED_WAIT, message)
    if isinstance(exc, ProviderUnavailable):
        return InDoubt(message)
    if isinstance(exc, DomainError) and exc.code == "billcom_not_active":
        return AuthExpired(message)  # Bill.com needs reconnecting (services.billcom_call refused to sign in)
    if isinstance(exc, DomainError):
        return Rejected(message, exc.code)
    raise exc

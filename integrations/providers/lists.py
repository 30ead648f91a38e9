"""What an adapter hands back when it reads a list: plain data, no models (the adapters do I/O only;
integrations/lists.py stores what they read).

An adapter that reads lists over HTTP provides

    read_list(caller, *, organisation: str, kind: str, since: str) -> Iterator[ListPage]

yielding one page at a time (so a failure half-way raises after the pages already read, and the
service keeps none of that kind: the last good list stays), and

    create_supplier(caller, *, organisation: str, name: str, key: str) -> EntryData

which creates a contact/vendor under the provider's idempotency key `key` (Xero `Idempotency-Key`,
QuickBooks Online `requestid`; Bill.com has none, so its adapter looks the name up first).

`caller` (integrations/provider_calls.py) makes authenticated calls for one connection: it holds the
tokens or the Bill.com session, refreshes or signs in again, and raises the providers' errors
(ProviderError and subclasses) for the service to turn into words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

ACCOUNT = "account"
TAX_RATE = "tax_rate"
SUPPLIER = "supplier"
KINDS = (ACCOUNT, TAX_RATE, SUPPLIER)


@dataclass(frozen=True)
class EntryData:
    """One entry as the provider describes it (integrations.models.ListEntry's fields)."""

    kind: str
    external_id: str
    name: str
    code: str = ""
    detail: str = ""
    rate: Decimal | None = None
    for_costs: bool = True
    for_sales: bool = True
    active: bool = True
    changed_at: datetime | None = None


@dataclass
class ListPage:
    """One page of a list.

    `complete`: set on the last page of a *full* read (not an incremental one): every entry the provider
    still has was in this read, so the service marks the ones it did not see as gone (inactive).
    `cursor`: on the last page, the marker for the next incremental read ("" = none: read in full next
    time)."""

    entries: list[EntryData] = field(default_factory=list)
    last: bool = False
    complete: bool = False
    cursor: str = ""


class Caller(Protocol):
    """Authenticated HTTP calls for one connection (see integrations/provider_calls.py)."""

    label: str

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
    ) -> Any: ...

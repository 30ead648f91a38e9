"""What every sandboxed provider keeps of a document it created: a SandboxBill row, listed on /sandbox/,
and the small readers the create endpoints share. No views here (sandbox/webconnector.py uses it too)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from .models import SandboxBill


def bill_row(
    *,
    provider: str,
    org_id: str,
    bill_id: str,
    kind: str,
    supplier: str,
    number: str,
    on: date | None,
    total: Decimal | None,
    currency: str,
    status: str,
    key: str,
    payload: dict,
) -> SandboxBill:
    """A created document's row, not saved yet (`record_bill` saves one; Xero's batch saves many in
    one insert)."""
    return SandboxBill(
        provider=provider,
        org_id=org_id,
        bill_id=bill_id,
        kind=kind,
        supplier=supplier[:300],
        number=number[:255],
        date=on,
        total=total,
        currency=currency[:3],
        status=status[:20],
        idempotency_key=key[:200],
        payload=payload,
    )


def record_bill(
    *,
    provider: str,
    org_id: str,
    kind: str,
    supplier: str,
    number: str,
    on: date | None,
    total: Decimal | None,
    currency: str,
    status: str,
    key: str,
    payload: dict,
    make_id: Callable[[], str] | None,
) -> SandboxBill:
    """A created document, listed on /sandbox/. `make_id` None: a number from the row's own key
    (QuickBooks' ids are numbers; two creates at once never share one)."""
    bill = bill_row(
        provider=provider,
        org_id=org_id,
        bill_id=make_id() if make_id is not None else f"pending-{uuid.uuid4()}",
        kind=kind,
        supplier=supplier,
        number=number,
        on=on,
        total=total,
        currency=currency,
        status=status,
        key=key,
        payload=payload,
    )
    bill.save(force_insert=True)
    if make_id is None:
        bill.bill_id = str(1000 + bill.pk)
        bill.save(update_fields=["bill_id"])
    return bill


def parse_day(value: Any) -> date | None:
    """A date as the providers take it ("2026-01-05", or with a time after it)."""
    try:
        return date.fromisoformat(str(value)[:10])
    except (TypeError, ValueError):
        return None


def decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))

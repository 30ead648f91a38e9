"""Xero's answer shapes, shared by the sandbox's Xero endpoints (lists: sandbox/lists_xero.py, bills:
sandbox/bills.py): its `/Date(ms+0000)/` JSON dates, the envelope every answer comes in, and the 400
ValidationException (xero_accounting.yaml `Error`)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from django.http import JsonResponse
from django.utils import timezone


def xero_date(value: date | datetime) -> str:
    """Xero's JSON date: "/Date(1700000000000+0000)/" (a date is its midnight UTC)."""
    moment = (
        value if isinstance(value, datetime) else datetime(value.year, value.month, value.day, tzinfo=UTC)
    )
    return f"/Date({int(moment.timestamp() * 1000)}+0000)/"


def envelope(key: str, items: list[dict], **extra: Any) -> dict:
    """The envelope of every Xero answer: an id, "OK", the provider name, the time, then the list."""
    return {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": "Dext Connect",
        "DateTimeUTC": f"/Date({int(timezone.now().timestamp() * 1000)})/",
        **extra,
        key: items,
    }


def validation_exception(elements: list[dict]) -> JsonResponse:
    """Xero's 400 for invalid data (xero_accounting.yaml `Error`, createContacts' 400 example)."""
    return JsonResponse(
        {
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": elements,
        },
        status=400,
    )

"""The one parser of ids that come from a request (query string, form field, address), for every app."""

from __future__ import annotations

import re

MAX_ID = 2**63 - 1  # the largest value a bigint primary key holds (SQLite and PostgreSQL alike)
_DIGITS = re.compile(r"[0-9]+")


def parse_id(value: object) -> int | None:
    """`value` as a primary key, or None when it is not one: ASCII digits only (no "²", no "-1", no
    spaces) and 1 <= n <= 2**63-1, so it can never raise, nor overflow the database."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value) and len(value) <= 19:
        number = int(value)
    else:
        return None
    return number if 1 <= number <= MAX_ID else None

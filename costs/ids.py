"""Kept for costs imports; the parser lives in accounts/ids.py (the lowest layer every app uses)."""

from accounts.ids import MAX_ID, parse_id

__all__ = ["MAX_ID", "parse_id"]

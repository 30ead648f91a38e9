"""Reading the file outbox: the e-mail Django's file backend wrote (EMAIL_URL=filemail://...).

The demo (`make run`) delivers no e-mail: invitations and password resets are written to
var/outbox/, one file per connection, each message followed by a line of 79 dashes (Django's
filebased backend). The Sent mail page lists them; who may read it is decided in
accounts/permissions.py (`can_read_sent_mail`).
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from django.conf import settings

FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
SEPARATOR = b"\n" + b"-" * 79 + b"\n"
# The file names the backend gives: "20260101-120000-140234567890.log".
_STEM = re.compile(r"^\d{8}-\d{6}-\d+$")
MAX_FILES = 200


@dataclass(frozen=True)
class SentMessage:
    key: str
    sent_at: datetime | None
    sender: str
    to: str
    subject: str
    body: str


def outbox_dir() -> Path | None:
    """The folder the file backend writes to, or None when e-mail goes elsewhere."""
    if settings.EMAIL_BACKEND != FILE_BACKEND:
        return None
    return Path(settings.EMAIL_FILE_PATH)


def _parse(key: str, raw: bytes) -> SentMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    part = msg.get_body(preferencelist=("plain", "html"))
    body = part.get_content() if part is not None else ""
    try:
        sent_at = parsedate_to_datetime(msg["Date"]) if msg["Date"] else None
    except (TypeError, ValueError):
        sent_at = None
    return SentMessage(
        key=key,
        sent_at=sent_at,
        sender=str(msg["From"] or ""),
        to=str(msg["To"] or ""),
        subject=str(msg["Subject"] or ""),
        body=body,
    )


def _messages_in(path: Path) -> list[SentMessage]:
    chunks = [c for c in path.read_bytes().split(SEPARATOR) if c.strip()]
    return [_parse(f"{path.stem}-{i}", chunk) for i, chunk in enumerate(chunks)]


def sent_messages() -> list[SentMessage]:
    """The newest messages first (from the newest MAX_FILES files)."""
    folder = outbox_dir()
    if folder is None or not folder.is_dir():
        return []
    files = sorted((p for p in folder.glob("*.log") if _STEM.match(p.stem)), reverse=True)[:MAX_FILES]
    found = [m for path in files for m in _messages_in(path)]
    return sorted(
        found, key=lambda m: (m.sent_at is not None, m.sent_at or datetime.min, m.key), reverse=True
    )


def sent_message(key: str) -> SentMessage | None:
    """One message by its key ("<file stem>-<position>"); None for anything else."""
    folder = outbox_dir()
    stem, _, index = key.rpartition("-")
    if folder is None or not _STEM.match(stem) or not index.isdigit():
        return None
    path = folder / f"{stem}.log"
    if not path.is_file():
        return None
    found = _messages_in(path)
    position = int(index)
    return found[position] if position < len(found) else None

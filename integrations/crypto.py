"""Credentials and tokens at rest: Fernet with key rotation (cryptography's MultiFernet).

FIELD_ENCRYPTION_KEYS lists keys newest first. Encryption uses the first; decryption tries them all,
so rotation is: put a new key in front, run `manage.py rotate_credentials` (re-encrypts every row
with the new key), then remove the old key. Without keys (development only) a key is derived from
SECRET_KEY, and production refuses to start without FIELD_ENCRYPTION_KEYS (see checks.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


def _keys() -> tuple[str, ...]:
    keys = tuple(k.strip() for k in settings.FIELD_ENCRYPTION_KEYS if k.strip())
    if keys:
        return keys
    derived = base64.urlsafe_b64encode(hashlib.sha256(f"dext:{settings.SECRET_KEY}".encode()).digest())
    return (derived.decode(),)


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(_keys())


def encrypt_json(data: dict) -> str:
    if not data:
        return ""
    return fernet().encrypt(json.dumps(data, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> dict:
    if not token:
        return {}
    try:
        return json.loads(fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise RuntimeError(
            "Stored credentials cannot be decrypted with FIELD_ENCRYPTION_KEYS: was a key removed "
            "before `manage.py rotate_credentials` ran?"
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt with the newest key (MultiFernet.rotate keeps the original timestamp)."""
    return fernet().rotate(token.encode()).decode() if token else token

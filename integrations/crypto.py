"""Credentials and tokens at rest: Fernet with key rotation (cryptography's MultiFernet).

FIELD_ENCRYPTION_KEYS lists keys newest first. Encryption uses the first; decryption tries them all,
so rotation is: put a new key in front, run `manage.py rotate_credentials` (re-encrypts every row
with the new key), then remove the old key. Without keys (development only) a key is derived from
SECRET_KEY; with DEBUG off the app refuses to start without FIELD_ENCRYPTION_KEYS (`require_keys`,
called from IntegrationsConfig.ready, so gunicorn, manage.py and the worker all stop at start-up).

A secret kept in a model is an `EncryptedJSONField`: the model holds a dict, the column a Fernet token
of its JSON. Encryption happens in the field, never at a call site, so it cannot be forgotten.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

GENERATE_KEY = "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"


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


def require_keys() -> None:
    """At start-up: with DEBUG off, FIELD_ENCRYPTION_KEYS must be set (a key derived from SECRET_KEY
    is for development only); any key given must be a Fernet key. Raises ImproperlyConfigured, which
    stops django.setup() — the server never starts half-configured. Never prints a key."""
    keys = [k.strip() for k in settings.FIELD_ENCRYPTION_KEYS if k.strip()]
    if not keys and not settings.DEBUG:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS is not set. With DEBUG off, stored credentials must be encrypted with "
            f"your own key: generate one with {GENERATE_KEY} and set FIELD_ENCRYPTION_KEYS to it."
        )
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except ValueError:
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS: key {position} is not a Fernet key (32 url-safe base64-encoded "
                f"bytes). Generate one with {GENERATE_KEY}."
            ) from None


class EncryptedJSONField(models.TextField):
    """A dict kept encrypted: in Python a dict, in the database a Fernet token of its JSON (text), or ""
    for an empty dict. Reads with any of FIELD_ENCRYPTION_KEYS, writes with the first.

    The column format is exactly what `encrypt_json` always wrote, so a text column of such tokens
    becomes this field with an AlterField alone. Anything but a dict is refused (TypeError): a string
    might be plain text or an already encrypted token, and storing either would be a mistake.
    Fernet tokens are not deterministic, so only "is empty" (`field={}`) is a meaningful lookup."""

    description = "A dict stored encrypted (Fernet, FIELD_ENCRYPTION_KEYS)"

    def from_db_value(self, value, expression, connection) -> dict:
        return decrypt_json(value)

    def to_python(self, value) -> dict:
        if isinstance(value, dict):
            return value
        # A serialised row (loaddata) carries the token, as value_to_string wrote it.
        return decrypt_json(value)

    def get_prep_value(self, value) -> str:
        if value is None or value == "" or value == {}:
            return ""
        if not isinstance(value, dict):
            name = self.name or "EncryptedJSONField"
            raise TypeError(f"{name} takes a dict (it encrypts it); got {type(value).__name__}.")
        return encrypt_json(value)

    def value_to_string(self, obj) -> str:
        # dumpdata writes the ciphertext, never the secret.
        return self.get_prep_value(self.value_from_object(obj))

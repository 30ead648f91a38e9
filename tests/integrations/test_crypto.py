"""Credentials at rest: encrypted with the first of FIELD_ENCRYPTION_KEYS, readable with any of them;
rotation re-encrypts every row with the new key so the old one can be dropped."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from integrations.crypto import decrypt_json, encrypt_json
from integrations.models import Connection
from tests.integrations.sandbox_helpers import other_tenant_untouched  # noqa: F401

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()

pytestmark = pytest.mark.usefixtures("other_tenant_untouched")


def test_credentials_are_not_stored_in_the_clear(tenant, connect, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    conn = connect(tenant.account, "xero", credentials=encrypt_json({"access_token": "secret-token-123"}))
    raw = Connection.objects.filter(pk=conn.pk).values_list("credentials", flat=True).get()
    assert "secret-token-123" not in raw
    assert decrypt_json(raw) == {"access_token": "secret-token-123"}


def test_key_rotation_with_two_keys(tenant, other_tenant, connect, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    mine = connect(tenant.account, "xero", credentials=encrypt_json({"refresh_token": "r1"}))
    theirs = connect(other_tenant.account, "qbo", credentials=encrypt_json({"refresh_token": "r2"}))
    empty = connect(other_tenant.account, "billcom", credentials="")

    # Step 1: the new key goes in front; old rows still read.
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    assert decrypt_json(Connection.objects.get(pk=mine.pk).credentials) == {"refresh_token": "r1"}

    # Step 2: re-encrypt every row (both tenants) with the new key.
    call_command("rotate_credentials", stdout=open("/dev/null", "w"))

    # Step 3: the old key goes; everything still reads, with the new key alone.
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    assert decrypt_json(Connection.objects.get(pk=mine.pk).credentials) == {"refresh_token": "r1"}
    assert decrypt_json(Connection.objects.get(pk=theirs.pk).credentials) == {"refresh_token": "r2"}
    assert Connection.objects.get(pk=empty.pk).credentials == ""
    # And the old key alone no longer can: the rows really were re-encrypted.
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    with pytest.raises(RuntimeError, match="rotate_credentials"):
        decrypt_json(Connection.objects.get(pk=mine.pk).credentials)

"""Credentials at rest: one encrypted field type (EncryptedJSONField) encrypts with the first of
FIELD_ENCRYPTION_KEYS and reads with any of them; rotation re-encrypts every row with the new key so
the old one can be dropped; production refuses to start without keys."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection as db
from django.db import transaction

from integrations import services
from integrations.crypto import EncryptedJSONField, encrypt_json
from integrations.models import Connection
from tests.integrations.sandbox_helpers import other_tenant_untouched, raw_credentials  # noqa: F401

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("other_tenant_untouched")


def test_credentials_are_not_stored_in_the_clear(tenant, connect, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    conn = connect(tenant.account, "xero", credentials={"access_token": "secret-token-123"})
    raw = raw_credentials(conn)
    assert "secret-token-123" not in raw and raw.startswith("gAAAA")  # a Fernet token
    assert Fernet(OLD.encode()).decrypt(raw.encode()) == b'{"access_token": "secret-token-123"}'
    assert Connection.objects.get(pk=conn.pk).credentials == {"access_token": "secret-token-123"}


def test_every_write_path_encrypts(tenant):
    """The services write a dict; the field encrypts it (save() and queryset update() alike)."""
    conn = services.activate_connection(
        account=tenant.account,
        acting_user=tenant.admin,
        provider="xero",
        external_id="org-1",
        external_name="Acme",
        credentials={"access_token": "first-access"},
    )
    assert "first-access" not in raw_credentials(conn)
    services.store_credentials(
        account=tenant.account,
        connection=conn,
        credentials={"refresh_token": "rotated"},
        access_expires_at=None,
    )
    assert "rotated" not in raw_credentials(conn)
    assert services.credentials_of(Connection.objects.get(pk=conn.pk)) == {"refresh_token": "rotated"}


def test_a_row_written_the_old_way_reads_the_new_way(tenant, connect, settings):
    """Before the field type, call sites stored encrypt_json(...) in a text column: the same column,
    unchanged by the migration, reads as a dict."""
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    conn = connect(tenant.account, "qbo")
    with db.cursor() as cursor:
        cursor.execute(
            "UPDATE integrations_connection SET credentials = %s WHERE id = %s",
            [encrypt_json({"access_token": "a", "refresh_token": "r"}), conn.pk],
        )
    assert Connection.objects.get(pk=conn.pk).credentials == {"access_token": "a", "refresh_token": "r"}


def test_no_credentials_is_an_empty_dict_stored_as_an_empty_column(tenant, connect):
    conn = connect(tenant.account, "billcom")
    assert conn.credentials == {} and raw_credentials(conn) == ""
    assert Connection.objects.get(pk=conn.pk).credentials == {}
    assert Connection.objects.filter(pk=conn.pk, credentials={}).exists()


def test_a_string_is_refused_so_nothing_unencrypted_or_doubly_encrypted_is_stored(tenant, connect):
    conn = connect(tenant.account, "xero")
    conn.credentials = "plain text"
    with pytest.raises(TypeError, match="credentials takes a dict"), transaction.atomic():
        conn.save()
    with pytest.raises(TypeError, match="credentials takes a dict"), transaction.atomic():
        Connection.objects.filter(pk=conn.pk).update(credentials="plain text")
    assert raw_credentials(conn) == ""


def test_the_field_type_serialises_ciphertext_only():
    field = EncryptedJSONField()
    token = field.get_prep_value({"password": "p4ss"})
    assert "p4ss" not in token
    assert field.to_python(token) == {"password": "p4ss"}
    assert field.to_python({"password": "p4ss"}) == {"password": "p4ss"}


def test_key_rotation_with_two_keys(tenant, other_tenant, connect, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    mine = connect(tenant.account, "xero", credentials={"refresh_token": "r1"})
    theirs = connect(other_tenant.account, "qbo", credentials={"refresh_token": "r2"})
    empty = connect(other_tenant.account, "billcom", credentials={})
    before = raw_credentials(mine)

    # Step 1: the new key goes in front; old rows still read.
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    assert Connection.objects.get(pk=mine.pk).credentials == {"refresh_token": "r1"}

    # Step 2: re-encrypt every row (both tenants) with the new key.
    out = open(os.devnull, "w")
    call_command("rotate_credentials", stdout=out)
    assert raw_credentials(mine) != before
    assert Fernet(NEW.encode()).decrypt(raw_credentials(theirs).encode()) == b'{"refresh_token": "r2"}'

    # Step 3: the old key goes; everything still reads, with the new key alone.
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    assert Connection.objects.get(pk=mine.pk).credentials == {"refresh_token": "r1"}
    assert Connection.objects.get(pk=theirs.pk).credentials == {"refresh_token": "r2"}
    assert Connection.objects.get(pk=empty.pk).credentials == {} and raw_credentials(empty) == ""
    # And the old key alone no longer can: the rows really were re-encrypted.
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    with pytest.raises(RuntimeError, match="rotate_credentials"):
        Connection.objects.get(pk=mine.pk)


# --- start-up --------------------------------------------------------------------------------------


def start_django(**env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {"DJANGO_ALLOW_ASYNC_UNSAFE"}}
    environment.pop("FIELD_ENCRYPTION_KEYS", None)
    environment |= {"DJANGO_SETTINGS_MODULE": "dext_connect.settings", **env}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


PRODUCTION = {"DEBUG": "false", "SECRET_KEY": "a-real-production-secret-key-0123456789-abcdefgh"}


def test_production_without_encryption_keys_refuses_to_start():
    result = start_django(**PRODUCTION)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "FIELD_ENCRYPTION_KEYS is not set" in result.stderr
    assert "Fernet.generate_key()" in result.stderr  # says how to make one
    assert "started" not in result.stdout


def test_production_with_a_malformed_key_refuses_to_start():
    result = start_django(**PRODUCTION, FIELD_ENCRYPTION_KEYS="not-a-fernet-key")
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS: key 1 is not a Fernet key" in result.stderr
    assert "not-a-fernet-key" not in result.stderr  # a secret is never printed


def test_production_with_a_key_starts():
    result = start_django(**PRODUCTION, FIELD_ENCRYPTION_KEYS=f"{NEW},{OLD}")
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_development_without_keys_still_starts():
    result = start_django(DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout

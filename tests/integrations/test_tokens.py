"""Access tokens: refreshed before expiry, rotated refresh tokens saved, one refresh at a time per
connection, a refresh that fails for good marks the connection "needs reconnect"."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection as db_connection
from django.utils import timezone
from django_scopes import scopes_disabled

from accounts.errors import DomainError
from accounts.models import ActivityEntry
from integrations.models import Connection, ConnectionStatus
from integrations.providers import ProviderUnavailable
from integrations.tokens import NeedsReconnect, access_token_for
from sandbox import data
from sandbox.models import IssuedToken, RequestLogEntry
from tests.conftest import client_for
from tests.integrations.sandbox_helpers import XERO_ACME, org_ids, other_tenant_untouched, sandbox  # noqa: F401

pytestmark = pytest.mark.usefixtures("sandbox", "other_tenant_untouched")


@pytest.fixture
def xero(tenant, connect, settings):
    """An active Xero connection holding tokens the sandbox issued."""

    def make(account=None, expires_in: timedelta = timedelta(minutes=30)) -> Connection:
        issued = data.issue_tokens(
            provider="xero", client_id=settings.XERO_CLIENT_ID, org_ids=org_ids("xero", XERO_ACME)
        )
        expires = timezone.now() + expires_in
        return connect(
            account or tenant.account,
            "xero",
            external_id=issued.org_ids[0],
            credentials={
                "access_token": issued.access_token,
                "refresh_token": issued.refresh_token,
                "expires_at": expires.isoformat(),
            },
            access_expires_at=expires,
        )

    return make


def refreshes() -> int:
    return RequestLogEntry.objects.filter(summary__startswith="refresh token rotated").count()


def test_a_token_with_time_left_is_used_as_it_is(xero):
    conn = xero(expires_in=timedelta(minutes=20))
    token = conn.credentials["access_token"]
    assert access_token_for(conn) == token
    assert refreshes() == 0


def test_a_token_expiring_within_five_minutes_is_refreshed_and_the_rotation_saved(xero, other_tenant):
    conn = xero(expires_in=timedelta(minutes=4))
    other = xero(account=other_tenant.account, expires_in=timedelta(minutes=4))
    other_before = Connection.objects.get(pk=other.pk).credentials
    old = conn.credentials

    token = access_token_for(conn)

    stored = Connection.objects.get(pk=conn.pk).credentials
    assert token == stored["access_token"] != old["access_token"]
    assert stored["refresh_token"] != old["refresh_token"]
    assert IssuedToken.objects.get(refresh_token=old["refresh_token"]).refresh_used_at is not None
    fresh = Connection.objects.get(pk=conn.pk)
    assert fresh.access_expires_at > timezone.now() + timedelta(minutes=29)
    assert fresh.status == ConnectionStatus.ACTIVE
    assert refreshes() == 1
    # The caller's instance follows the row, so a second call needs no refresh.
    assert access_token_for(conn) == token and refreshes() == 1
    assert Connection.objects.get(pk=other.pk).credentials == other_before


def test_a_refresh_refused_for_good_marks_the_connection_needs_reconnect(xero, other_tenant):
    conn = xero(expires_in=timedelta(minutes=1))
    other = xero(account=other_tenant.account, expires_in=timedelta(minutes=1))
    IssuedToken.objects.filter(refresh_token=conn.credentials["refresh_token"]).update(revoked=True)

    with pytest.raises(NeedsReconnect) as refused:
        access_token_for(conn)

    assert "Reconnect Xero in Business settings > Connections." in refused.value.message
    conn.refresh_from_db()
    assert conn.status == ConnectionStatus.NEEDS_RECONNECT
    assert "Reconnect Xero" in conn.last_error
    assert (
        ActivityEntry.objects.filter(account=conn.account, action="integration.needs_reconnect").count() == 1
    )
    assert Connection.objects.get(pk=other.pk).status == ConnectionStatus.ACTIVE
    # And it stays that way without calling the provider again.
    log = RequestLogEntry.objects.count()
    with pytest.raises(NeedsReconnect):
        access_token_for(conn)
    assert RequestLogEntry.objects.count() == log


def test_a_transient_failure_changes_nothing(xero, settings):
    conn = xero(expires_in=timedelta(minutes=1))
    before = Connection.objects.filter(pk=conn.pk).values().get()
    settings.SANDBOX_BASE_URL = "http://127.0.0.1:9/sandbox"  # nothing listens on the discard port
    settings.PROVIDER_HTTP_TIMEOUT = 2

    with pytest.raises(ProviderUnavailable) as failed:
        access_token_for(conn)

    assert failed.value.message == "Xero could not be reached. Try again in a few minutes."
    assert Connection.objects.filter(pk=conn.pk).values().get() == before


def test_a_disconnected_connection_has_no_token(xero):
    conn = xero(expires_in=timedelta(minutes=1))
    Connection.objects.filter(pk=conn.pk).update(status=ConnectionStatus.DISCONNECTED, credentials="")
    conn.refresh_from_db()
    with pytest.raises(DomainError, match="Xero is not connected to this account."):
        access_token_for(conn)
    assert refreshes() == 0


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_only_one_refresh_runs_at_a_time(xero):
    """Five workers need a token at once; rotation would make a second refresh fail for good, so the
    connection staying active with one refresh proves they queued on the row lock."""
    conn = xero(expires_in=timedelta(minutes=1))
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(5)

    def worker() -> None:
        try:
            barrier.wait()
            with scopes_disabled():  # a new thread starts outside the test body's escape
                row = Connection.objects.select_related("account").get(pk=conn.pk)
            results.append(access_token_for(row))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert not errors, errors
    assert len(set(results)) == 1 and len(results) == 5
    assert refreshes() == 1
    assert Connection.objects.get(pk=conn.pk).status == ConnectionStatus.ACTIVE


def test_a_token_the_provider_rejected_is_refreshed_once(xero):
    conn = xero(expires_in=timedelta(minutes=25))
    rejected = conn.credentials["access_token"]
    new = access_token_for(conn, rejected_token=rejected)
    assert new != rejected and refreshes() == 1
    # A second worker that saw the same 401 gets the new token without another refresh.
    stale = Connection.objects.select_related("account").get(pk=conn.pk)
    assert access_token_for(stale, rejected_token=rejected) == new
    assert refreshes() == 1


def test_revoked_access_is_found_by_the_refresh_command(xero, tenant):
    conn = xero()
    client = client_for(tenant.admin)  # the sandbox page shows the organisations of your accounts
    page = client.get("/sandbox/")
    assert "Revoke access" in page.content.decode()
    client.post("/sandbox/revoke/", {"provider": "xero", "org_id": conn_org(conn)})
    out = io.StringIO()
    call_command("refresh_tokens", "--force", stdout=out)
    assert "Reconnect Xero in Business settings > Connections." in out.getvalue()
    assert Connection.objects.get(pk=conn.pk).status == ConnectionStatus.NEEDS_RECONNECT


def test_the_refresh_command_leaves_fresh_tokens_alone(xero):
    conn = xero()
    out = io.StringIO()
    call_command("refresh_tokens", stdout=out)
    assert refreshes() == 0 and "token valid until" in out.getvalue()
    assert Connection.objects.get(pk=conn.pk).status == ConnectionStatus.ACTIVE


def conn_org(conn: Connection) -> str:
    return IssuedToken.objects.get(access_token=conn.credentials["access_token"]).org_ids[0]

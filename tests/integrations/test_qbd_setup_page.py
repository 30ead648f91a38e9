"""The QuickBooks Desktop set-up page as next steps (issue 12 §4): numbered steps with Cancel at the end,
a copy button for the password, and a status the page polls until the Web Connector connects, which
then returns to Connections with the confirmation. The Web Connector signs in over our real SOAP
endpoint; another tenant cannot poll this one's status."""

from __future__ import annotations

import re

import pytest

from integrations.models import Connection, ConnectionStatus
from integrations.providers import qbd
from tests.conftest import client_for
from tests.integrations.sandbox_helpers import messages_of, other_tenant_untouched  # noqa: F401
from tests.integrations.test_qbwc import set_up, soap, text

pytestmark = pytest.mark.usefixtures("other_tenant_untouched")


def status_url(account) -> str:
    return f"/a/{account.slug}/settings/connections/qbd/status/"


def test_the_page_is_numbered_steps_with_a_copy_button_and_cancel_at_the_end(tenant):
    client = client_for(tenant.admin)
    set_up(client, tenant.account)
    page = text(client.get(f"/a/{tenant.account.slug}/settings/connections/connect/qbd/"))
    # The page after the POST shows the password; a GET afterwards does not, but the steps are the same.
    shown = text(
        client.post(f"/a/{tenant.account.slug}/settings/connections/connect/qbd/", {"action": "new_password"})
    )
    for body in (page, shown):
        steps = body[body.index('<ol class="steps">') : body.index("</ol>")]
        assert steps.count("<li>") == 5  # open QuickBooks, download, add, password, wait
        assert "Waiting for the Web Connector" in steps and "This page moves on by itself" in steps
        assert f'hx-get="{status_url(tenant.account)}"' in steps
        # Cancel comes after the last step, and Generate a new password is an in-page confirm step.
        assert body.index("Cancel connecting QuickBooks Desktop") > body.index("</ol>")
        assert "<summary>Generate a new password</summary>" in steps
        assert "data-confirm=" not in body
    assert 'data-copy="qbwc-password"' in shown and 'data-copy-status="qbwc-password"' in shown
    assert re.search(
        r'<script src="/static/js/steps\.[0-9a-f.]*js"|<script src="/static/js/steps\.js"', shown
    )


def test_status_waits_then_returns_to_connections_with_the_confirmation(tenant):
    client = client_for(tenant.admin)
    password = set_up(client, tenant.account)
    conn = Connection.objects.get(account=tenant.account, provider="qbd")

    waiting = client.get(status_url(tenant.account), HTTP_HX_REQUEST="true")
    assert waiting.status_code == 204 and not waiting.content

    ticket = soap(
        client_for(tenant.staff), "authenticate", strUserName=qbd.username_for(conn), strPassword=password
    )
    assert ticket[1] == ""  # signed in: the connection is active
    conn.refresh_from_db()
    assert conn.status == ConnectionStatus.ACTIVE

    done = client.get(status_url(tenant.account), HTTP_HX_REQUEST="true")
    assert done.status_code == 200
    assert done["HX-Redirect"] == f"/a/{tenant.account.slug}/settings/connections/"
    landed = client.get(done["HX-Redirect"])
    assert messages_of(landed) == ["QuickBooks Desktop is connected."]
    # Without htmx the same answer is an ordinary redirect.
    plain = client.get(status_url(tenant.account))
    assert plain.status_code == 302 and plain["Location"] == f"/a/{tenant.account.slug}/settings/connections/"


def test_status_after_a_cancel_in_another_tab_returns_to_connections(tenant):
    client = client_for(tenant.admin)
    set_up(client, tenant.account)
    client.post(f"/a/{tenant.account.slug}/settings/connections/connect/qbd/", {"action": "cancel"})
    answer = client.get(status_url(tenant.account), HTTP_HX_REQUEST="true")
    assert answer["HX-Redirect"] == f"/a/{tenant.account.slug}/settings/connections/"


def test_status_is_for_those_who_manage_integrations_of_this_account_only(tenant, other_tenant):
    set_up(client_for(tenant.admin), tenant.account)
    assert client_for(tenant.staff).get(status_url(tenant.account)).status_code == 403
    assert client_for(other_tenant.admin).get(status_url(tenant.account)).status_code == 404
    # The other tenant's own status knows nothing of this set-up: nothing waits there.
    theirs = client_for(other_tenant.admin).get(status_url(other_tenant.account), HTTP_HX_REQUEST="true")
    assert theirs.status_code == 200 and theirs["HX-Redirect"].startswith(f"/a/{other_tenant.account.slug}/")
    assert not Connection.objects.filter(account=other_tenant.account).exists()

"""Business settings opens its Connections tab, marked as the current one, for every role."""

from __future__ import annotations

import re

import pytest

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("who", ["admin", "staff"])
def test_business_settings_opens_connections_with_its_tab_marked(who, tenant, other_account):
    client = client_for(getattr(tenant, who))
    response = client.get(f"/a/{tenant.account.slug}/settings/", follow=True)
    assert response.redirect_chain == [(f"/a/{tenant.account.slug}/settings/connections/", 302)]
    body = response.content.decode()
    subnav = re.search(r'<nav class="subnav" aria-label="Business settings">(.*?)</nav>', body, re.S)[1]
    assert re.findall(r'<a href="([^"]+)"\s*aria-current="page">([^<]+)</a>', subnav) == [
        (f"/a/{tenant.account.slug}/settings/connections/", "Connections")
    ]
    main_nav = re.search(r'<nav class="mainnav" aria-label="Main">(.*?)</nav>', body, re.S)[1]
    assert re.search(r'aria-current="page">Business settings</a>', main_nav)
    # Another account's settings stay a 404.
    assert client.get(f"/a/{other_account.slug}/settings/").status_code == 404

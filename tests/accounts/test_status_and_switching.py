"""Home and switching (issue 12 §5) and the "Needs reconnecting" banner (§4): status at a glance on the
account home and the practice's client list, in grouped queries; the banner on every page of the
account; the switcher's section-keeping links. Two tenants everywhere: the other's data never shows."""

from __future__ import annotations

import html
import re

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from accounts.models import PracticeRole
from tests.conftest import client_for
from tests.factories import (
    AccountFactory,
    ConnectionFactory,
    ItemFactory,
    MembershipFactory,
    PracticeFactory,
    PracticeMembershipFactory,
)

pytestmark = pytest.mark.usefixtures("unscoped_test_body")


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


def _connect(account, provider, **fields):
    return ConnectionFactory(
        account=account, provider=provider, is_main=provider in {"xero", "qbo", "qbd"}, **fields
    )


def _items(account, **per_status):
    for status, n in per_status.items():
        ItemFactory.create_batch(n, account=account, status=status)


# --- the account home --------------------------------------------------------------------------


def test_home_shows_software_health_counts_and_defaults(tenant, other_tenant):
    from integrations import services

    _connect(tenant.account, "xero")
    billcom = _connect(tenant.account, "billcom", status="needs_reconnect")
    services.set_defaults(
        account=tenant.account, acting_user=tenant.admin, publishing_id=None, expense_claims_id=billcom.pk
    )
    _items(tenant.account, to_review=2, ready=3, failed=1, published=4)
    ItemFactory(account=tenant.account, type="sales_invoice", status="failed")
    _connect(other_tenant.account, "qbo")
    _items(other_tenant.account, to_review=7, failed=5)

    body = text(client_for(tenant.admin).get(f"/a/{tenant.account.slug}/"))

    software = body[body.index('id="glance-software"') : body.index('id="glance-costs"')]
    assert "Xero" in software and "Active" in software
    assert "Bill.com" in software and "Needs reconnecting" in software
    assert "QuickBooks Online" not in body  # the other tenant's software
    costs = body[body.index('id="glance-costs"') : body.index('id="glance-sales"')]
    assert "<strong>2</strong> To review" in costs
    assert "<strong>3</strong> Ready" in costs
    assert "<strong>1</strong> Failed" in costs
    assert f'href="/a/{tenant.account.slug}/costs/?status=failed"' in costs
    sales = body[body.index('id="glance-sales"') : body.index('id="glance-defaults"')]
    assert "<strong>1</strong> Failed" in sales and "<strong>0</strong> To review" in sales
    assert "<dt>Default publishing integration</dt><dd>Xero</dd>" in body
    assert "<dt>Default expense claims integration</dt><dd>Bill.com</dd>" in body


def test_home_says_when_lists_are_being_read(tenant):
    from integrations.models import ListSync

    xero = _connect(tenant.account, "xero")
    ListSync.objects.create(
        account=tenant.account, connection=xero, state="running", lease_until="2999-01-01T00:00Z"
    )
    body = text(client_for(tenant.admin).get(f"/a/{tenant.account.slug}/"))
    assert "Active, reading its lists" in body


def test_home_counts_in_the_same_number_of_queries_whatever_the_items_and_software(tenant):
    client = client_for(tenant.admin)
    url = f"/a/{tenant.account.slug}/"
    _connect(tenant.account, "xero")
    client.get(url)  # warm the session
    with CaptureQueriesContext(db) as few:
        client.get(url)
    _connect(tenant.account, "billcom")
    _connect(tenant.account, "approvalmax")
    _items(tenant.account, to_review=30, ready=20, failed=10)
    with CaptureQueriesContext(db) as many:
        client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)


# --- the practice's client list ------------------------------------------------------------------


def test_client_list_shows_each_clients_status(practice_setup, tenant, other_tenant):
    practice, partner, bookkeeper = practice_setup
    _connect(tenant.account, "xero")
    _connect(other_tenant.account, "qbo", status="needs_reconnect")
    _items(tenant.account, to_review=4, ready=1)
    _items(other_tenant.account, failed=3)
    stranger = AccountFactory(name="Not A Client Ltd")
    _connect(stranger, "xero")
    _items(stranger, failed=9)

    body = text(client_for(partner).get(f"/p/{practice.slug}/clients/"))
    rows = {
        m.group(1): m.group(0)
        for m in re.finditer(r'<tr> <td data-label="Client"><a [^>]*>([^<]+)</a>.*?</tr>', body)
    }
    assert set(rows) == {tenant.account.name, other_tenant.account.name}
    assert "Xero: Active" in rows[tenant.account.name]
    assert '<td data-label="To review">4</td>' in rows[tenant.account.name]
    assert '<td data-label="Failed">0</td>' in rows[tenant.account.name]
    assert "QuickBooks Online: Needs reconnecting" in rows[other_tenant.account.name]
    assert '<span class="badge bad">3</span>' in rows[other_tenant.account.name]

    # The bookkeeper assigned to one client sees that client's status only.
    mine = text(client_for(bookkeeper).get(f"/p/{practice.slug}/clients/"))
    assert (
        "Xero: Active" in mine and "QuickBooks Online" not in mine and other_tenant.account.name not in mine
    )


@pytest.mark.django_db
def test_client_list_queries_do_not_grow_with_the_clients():
    practice = PracticeFactory()
    partner = PracticeMembershipFactory(practice=practice, role=PracticeRole.PRACTICE_ADMIN).user
    client = client_for(partner)
    url = f"/p/{practice.slug}/clients/"

    def add_clients(n):
        for _ in range(n):
            account = AccountFactory()
            practice.clients.add(account)
            _connect(account, "xero")
            _connect(account, "billcom")
            _items(account, to_review=1, failed=1)

    add_clients(2)
    client.get(url)
    with CaptureQueriesContext(db) as few:
        client.get(url)
    add_clients(20)
    with CaptureQueriesContext(db) as many:
        assert "Bill.com: Active" in text(client.get(url))
    assert len(many.captured_queries) == len(few.captured_queries)


# --- the "Needs reconnecting" banner ---------------------------------------------------------------


def test_banner_on_every_page_with_reconnect_for_those_who_can_fix_it(tenant, other_tenant):
    _connect(tenant.account, "xero")
    _connect(tenant.account, "billcom", status="needs_reconnect")
    _connect(other_tenant.account, "xero", status="needs_reconnect")
    slug = tenant.account.slug
    reconnect = f'href="/a/{slug}/settings/connections/connect/billcom/"'
    for path in ("", "costs/", "sales/", "rules/", "settings/users/", "settings/connections/"):
        admin_page = text(client_for(tenant.admin).get(f"/a/{slug}/{path}"))
        assert 'aria-label="Needs reconnecting"' in admin_page, path
        assert reconnect in admin_page and "Reconnect Bill.com" in admin_page, path
        staff_page = text(client_for(tenant.staff).get(f"/a/{slug}/{path}"))
        banner = staff_page[staff_page.index('aria-label="Needs reconnecting"') :]
        banner = banner[: banner.index("</section>")]
        assert "Bill.com" in banner and "Needs reconnecting" in banner, path
        assert "Reconnect" not in banner, path
        assert "Xero" not in banner  # Xero is fine here; the other tenant's Xero is not ours
    # The staff 403 page shows it too (rendered after the view's scope closed).
    refused = client_for(tenant.staff).get(f"/a/{slug}/settings/connections/connect/")
    assert refused.status_code == 403 and 'aria-label="Needs reconnecting"' in text(refused)


def test_no_banner_when_every_connection_is_fine_and_one_query_at_most(tenant, other_tenant):
    _connect(tenant.account, "xero")
    _connect(other_tenant.account, "xero", status="needs_reconnect")
    client = client_for(tenant.admin)
    url = f"/a/{tenant.account.slug}/settings/users/"
    client.get(url)
    with CaptureQueriesContext(db) as ctx:
        body = text(client.get(url))
    assert "Needs reconnecting" not in body
    banner_queries = [q for q in ctx.captured_queries if "needs_reconnect" in q["sql"]]
    assert len(banner_queries) == 1


# --- the switcher ----------------------------------------------------------------------------------


def test_switcher_hidden_for_a_user_with_one_account(tenant, other_tenant, practice_setup):
    _, partner, bookkeeper = practice_setup
    single = text(client_for(tenant.staff).get(f"/a/{tenant.account.slug}/costs/"))
    assert "data-switcher" not in single and 'class="switcher-single"' in single
    many = text(client_for(partner).get(f"/a/{tenant.account.slug}/costs/"))
    assert "data-switcher" in many and 'aria-expanded="false"' in many
    assert 'name="section" value="costs"' in many and f'name="current" value="{tenant.account.slug}"' in many


@pytest.mark.parametrize(
    "page, section",
    [
        ("", "home"),
        ("costs/", "costs"),
        ("sales/", "sales"),
        ("rules/", "rules"),
        ("settings/connections/", "connections"),
        ("settings/connections/connect/", "connections"),
        ("settings/users/", "users"),
        ("settings/activity/", "activity"),
    ],
)
def test_the_switcher_carries_the_section_of_the_page(practice_setup, tenant, page, section):
    _, partner, _ = practice_setup
    body = text(client_for(partner).get(f"/a/{tenant.account.slug}/{page}"))
    assert f'name="section" value="{section}"' in body


def test_an_item_page_switches_to_the_costs_inbox(practice_setup, tenant):
    _, partner, _ = practice_setup
    item = ItemFactory(account=tenant.account)
    body = text(client_for(partner).get(f"/a/{tenant.account.slug}/costs/{item.pk}/"))
    assert 'name="section" value="costs"' in body


def test_switcher_results_keep_the_section_and_mark_the_current_account(practice_setup, tenant, other_tenant):
    _, partner, _ = practice_setup
    partial = text(
        client_for(partner).get(
            "/switch/", {"q": "", "section": "costs", "current": tenant.account.slug}, HTTP_HX_REQUEST="true"
        )
    )
    assert f'href="/a/{other_tenant.account.slug}/switch-to/costs/"' in partial
    assert f'href="/a/{tenant.account.slug}/switch-to/costs/" aria-current="true"' in partial
    assert f'href="/a/{other_tenant.account.slug}/switch-to/costs/" aria-current' not in partial
    # An unknown section is not carried: plain links to the accounts' homes.
    forged = text(client_for(partner).get("/switch/", {"section": "../admin"}, HTTP_HX_REQUEST="true"))
    assert f'href="/a/{other_tenant.account.slug}/"' in forged and "switch-to" not in forged


def test_switch_to_opens_the_section_or_the_home_and_never_another_tenant(
    practice_setup, tenant, other_tenant
):
    _, partner, bookkeeper = practice_setup
    slug = other_tenant.account.slug
    c = client_for(partner)
    assert c.get(f"/a/{slug}/switch-to/costs/")["Location"] == f"/a/{slug}/costs/"
    assert c.get(f"/a/{slug}/switch-to/connections/")["Location"] == f"/a/{slug}/settings/connections/"
    assert c.get(f"/a/{slug}/switch-to/nonsense/")["Location"] == f"/a/{slug}/"
    # The bookkeeper is not assigned to the other tenant: does not exist for them.
    assert client_for(bookkeeper).get(f"/a/{slug}/switch-to/costs/").status_code == 404
    # A Standard user may not see Activity: switching there opens the home, not a 403.
    both = MembershipFactory(account=other_tenant.account, role="standard").user
    MembershipFactory(account=tenant.account, role="admin", user=both)
    assert client_for(both).get(f"/a/{slug}/switch-to/activity/")["Location"] == f"/a/{slug}/"
    assert client_for(both).get(f"/a/{tenant.account.slug}/switch-to/activity/")["Location"] == (
        f"/a/{tenant.account.slug}/settings/activity/"
    )

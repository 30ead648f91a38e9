"""Business settings > Connections > Payment accounts (integrations/payment_accounts_views.py): the page
where an Admin chooses the QuickBooks Online accounts paid receipts are paid from ("Card payments" from a
Credit Card account, "Bank payments" from a Bank account), Standard users see it read-only, bad input
changes nothing, another tenant gets a 404, and the choice is what the published Purchase is paid from
(the sandbox over real HTTP). Two tenants throughout."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from accounts.models import ActivityEntry
from costs import payment_accounts, publishing
from costs.models import Item, ItemStatus
from integrations import lists
from integrations.models import Connection, ConnectionStatus, ListEntry, ListSync, ListSyncState
from sandbox.models import SandboxListEntry
from tests.conftest import client_for
from tests.integrations.publish_helpers import qbo_connection, received
from tests.integrations.publishing_helpers import ready_item, work_off
from tests.integrations.sandbox_helpers import sandbox  # noqa: F401

READ_AT = datetime(2026, 12, 2, 9, 14, tzinfo=UTC)
CHECKING, SAVINGS, MASTERCARD = "35", "36", "41"  # Savings: added in QuickBooks by the test


def url(connection: Connection) -> str:
    return reverse("integrations:payment_accounts", args=[connection.account.slug, connection.pk])


def text(response) -> str:
    return html.unescape(response.content.decode())


def account_entry(connection: Connection, external_id: str, name: str, detail: str, **fields) -> ListEntry:
    return ListEntry.objects.create(
        account=connection.account, connection=connection, kind="account", external_id=external_id,
        name=name, detail=detail, for_costs=False, for_sales=False, **fields,
    )  # fmt: skip


def read(connection: Connection) -> None:
    ListSync.objects.create(
        account=connection.account, connection=connection, state=ListSyncState.DONE, last_success_at=READ_AT
    )


@pytest.fixture
def qbo_read(tenant, connect) -> Connection:
    """A QuickBooks Online connection whose lists were read: two Bank accounts, one Credit Card."""
    connection = connect(tenant.account, "qbo")
    read(connection)
    account_entry(connection, CHECKING, "Checking", "Bank")
    account_entry(connection, SAVINGS, "Savings", "Bank")
    account_entry(connection, MASTERCARD, "Mastercard", "Credit Card")
    return connection


def options(connection: Connection) -> dict:
    with scopes_disabled():
        return Connection.objects.get(pk=connection.pk).options.get("payment_accounts", {})


def logged(account) -> int:
    with scopes_disabled():
        return ActivityEntry.objects.filter(account=account, action="integration.payment_account").count()


def entry(connection: Connection, external_id: str) -> ListEntry:
    with scopes_disabled():
        return ListEntry.objects.get(connection=connection, external_id=external_id)


# --- what the page shows -----------------------------------------------------------------------------


def test_admins_see_each_choice_in_the_bookkeepers_words(tenant, qbo_read):
    body = text(client_for(tenant.admin).get(url(qbo_read)))

    assert '<h3 id="paid-from-1">Card payments</h3>' in body
    assert '<h3 id="paid-from-2">Bank payments</h3>' in body
    # One Credit Card account: used automatically, nothing to choose.
    assert "Only one account: <strong>Mastercard</strong>, used automatically." in body
    # Two Bank accounts, none chosen: a select starting at "Choose…".
    assert "has more than one Bank account and none is chosen yet" in body
    assert '<label for="entry-2">Bank account for bank payments</label>' in body
    select = body[body.index('<select name="entry" id="entry-2">') :]
    select = select[: select.index("</select>")]
    assert '<option value="" selected>Choose…</option>' in select
    assert f'<option value="{entry(qbo_read, CHECKING).pk}">Checking</option>' in select
    assert f'<option value="{entry(qbo_read, SAVINGS).pk}">Savings</option>' in select
    assert "Mastercard" not in select  # only accounts of the type


def test_the_connections_page_links_an_active_quickbooks_online_only(tenant, other_tenant, connect, qbo_read):
    xero = connect(other_tenant.account, "xero")  # the other tenant: another software, no link
    page = reverse("integrations:connections", args=[tenant.account.slug])
    for user in (tenant.admin, tenant.staff):
        body = text(client_for(user).get(page))
        assert f'href="{url(qbo_read)}"' in body
        assert 'aria-label="Payment accounts of QuickBooks Online">Payment accounts</a>' in body
    assert "Payment accounts" not in text(
        client_for(other_tenant.admin).get(
            reverse("integrations:connections", args=[other_tenant.account.slug])
        )
    )
    Connection.objects.filter(pk=qbo_read.pk).update(status=ConnectionStatus.NEEDS_RECONNECT)
    assert "Payment accounts" not in text(client_for(tenant.admin).get(page))
    assert xero.account_id == other_tenant.account.pk


def test_staff_see_it_read_only_and_cannot_save(tenant, qbo_read):
    checking = entry(qbo_read, CHECKING)
    client_for(tenant.admin).post(url(qbo_read), {"paid_from": "Bank", "entry": checking.pk})
    staff = client_for(tenant.staff)

    body = text(staff.get(url(qbo_read)))
    assert "Paid from <strong>Checking</strong>." in body
    assert "Only one account: <strong>Mastercard</strong>, used automatically." in body
    assert "<select" not in body and '<form method="post" action="' + url(qbo_read) not in body
    assert "Only Admin users and accountants or bookkeepers" in body

    before = logged(tenant.account)
    response = staff.post(url(qbo_read), {"paid_from": "Bank", "entry": entry(qbo_read, SAVINGS).pk})
    assert response.status_code == 403
    assert options(qbo_read)["bank_transfer"] == CHECKING
    assert logged(tenant.account) == before


def test_saving_stays_on_the_page_says_so_and_is_logged(tenant, qbo_read):
    admin = client_for(tenant.admin)
    savings = entry(qbo_read, SAVINGS)

    response = admin.post(url(qbo_read), {"paid_from": "Bank", "entry": savings.pk}, follow=True)

    assert response.redirect_chain == [(url(qbo_read), 302)]
    body = text(response)
    assert "Saved. Bank payments are now recorded in QuickBooks Online as paid from Savings." in body
    assert "Paid from <strong>Savings</strong>." in body
    assert f'<option value="{savings.pk}" selected>Savings</option>' in body
    assert options(qbo_read) == {
        "cheque": SAVINGS,
        "cash": SAVINGS,
        "bank_transfer": SAVINGS,
        "none": SAVINGS,
    }
    with scopes_disabled():
        [row] = ActivityEntry.objects.filter(account=tenant.account, action="integration.payment_account")
    assert row.summary == "QuickBooks Online: bank payments are paid from Savings"
    assert (row.before, row.after, row.actor) == ("Automatic", "Savings", tenant.admin)

    # Changed again: one more row, naming what it was.
    admin.post(url(qbo_read), {"paid_from": "Bank", "entry": entry(qbo_read, CHECKING).pk})
    with scopes_disabled():
        latest = ActivityEntry.objects.filter(action="integration.payment_account").order_by("-pk").first()
    assert (latest.before, latest.after) == ("Savings", "Checking")


def test_a_chosen_account_no_longer_in_the_lists_is_named(tenant, qbo_read):
    client_for(tenant.admin).post(url(qbo_read), {"paid_from": "Bank", "entry": entry(qbo_read, SAVINGS).pk})
    ListEntry.objects.filter(pk=entry(qbo_read, SAVINGS).pk).update(active=False)  # made inactive there

    body = text(client_for(tenant.admin).get(url(qbo_read)))

    assert (
        "Savings, chosen for bank transfers, is no longer an active Bank account in QuickBooks Online: "
        "choose another." in body
    )
    assert '<option value="" selected>Choose…</option>' in body


def test_accounts_chosen_one_payment_method_at_a_time_are_shown_until_the_page_saves_one(tenant, qbo_read):
    payment_accounts.choose(
        account=tenant.account, acting_user=tenant.admin, connection_id=qbo_read.pk,
        payment_method="cheque", entry_id=entry(qbo_read, SAVINGS).pk,
    )  # fmt: skip
    admin = client_for(tenant.admin)

    body = text(admin.get(url(qbo_read)))
    assert "Chosen one payment method at a time:" in body
    assert "<li>Cheque payments: Savings</li>" in body and "<li>Bank transfers: none chosen</li>" in body
    assert '<option value="" selected>Choose…</option>' in body

    admin.post(url(qbo_read), {"paid_from": "Bank", "entry": entry(qbo_read, CHECKING).pk})
    assert set(options(qbo_read).values()) == {CHECKING} and len(options(qbo_read)) == 4
    assert "Paid from <strong>Checking</strong>." in text(admin.get(url(qbo_read)))


def test_when_the_lists_have_not_been_read_it_says_so_and_offers_refresh_lists(tenant, connect):
    qbo = connect(tenant.account, "qbo")

    body = text(client_for(tenant.admin).get(url(qbo)))
    assert "QuickBooks Online's lists have not been read yet" in body
    assert "Select <strong>Refresh lists</strong>, then come back to this page." in body
    refresh = reverse("integrations:lists_refresh", args=[tenant.account.slug, qbo.pk])
    assert f'action="{refresh}"' in body and 'aria-label="Refresh lists of QuickBooks Online"' in body
    assert "<select" not in body and "Not known until the lists are read." in body

    staff_body = text(client_for(tenant.staff).get(url(qbo)))
    assert "have not been read yet" in staff_body and "Refresh lists" not in staff_body


def test_no_account_of_a_type_says_what_to_do(tenant, connect):
    qbo = connect(tenant.account, "qbo")
    read(qbo)
    account_entry(qbo, CHECKING, "Checking", "Bank")

    body = text(client_for(tenant.admin).get(url(qbo)))

    assert (
        "QuickBooks Online has no active Credit Card account in its lists. Add one in QuickBooks Online, "
        "then refresh the lists." in body
    )
    assert "Only one account: <strong>Checking</strong>, used automatically." in body


# --- bad input changes nothing -------------------------------------------------------------------------


def test_forged_choices_change_nothing_and_say_why(tenant, other_tenant, connect, qbo_read):
    admin = client_for(tenant.admin)
    mastercard = entry(qbo_read, MASTERCARD)
    # Same account, another connection's Bank account; another account's Bank account.
    billcom = connect(tenant.account, "billcom")
    theirs_qbo = connect(other_tenant.account, "qbo")
    with scopes_disabled():
        elsewhere = account_entry(billcom, "0ca01", "Operating", "Bank")
        theirs = account_entry(theirs_qbo, "35", "Their Checking", "Bank")
    bank_refusal = "Choose one of QuickBooks Online's active Bank accounts for bank payments."
    cases = [
        ({"paid_from": "Bank", "entry": "35 OR 1=1"}, bank_refusal),
        ({"paid_from": "Bank", "entry": "99999999999999999999"}, bank_refusal),
        ({"paid_from": "Bank", "entry": str(mastercard.pk)}, bank_refusal),  # a credit card account
        ({"paid_from": "Bank", "entry": str(elsewhere.pk)}, bank_refusal),
        ({"paid_from": "Bank", "entry": str(theirs.pk)}, bank_refusal),
        ({"paid_from": "Bank", "entry": ""}, "Choose the Bank account bank payments are paid from."),
        ({"paid_from": "Savings", "entry": str(mastercard.pk)}, "Choose Card payments or Bank payments."),
        ({"entry": str(mastercard.pk)}, "Choose Card payments or Bank payments."),
    ]
    for data, message in cases:
        response = admin.post(url(qbo_read), data, follow=True)
        assert response.redirect_chain == [(url(qbo_read), 302)], data
        assert message in text(response), data
        assert options(qbo_read) == {}, data
    assert logged(tenant.account) == 0 and logged(other_tenant.account) == 0
    assert options(theirs_qbo) == {}


def test_a_connection_that_is_not_quickbooks_online_is_refused(tenant, connect):
    xero = connect(tenant.account, "xero")
    read(xero)
    account_entry(xero, "090", "Business Bank Account", "BANK")
    connections = reverse("integrations:connections", args=[tenant.account.slug])
    admin = client_for(tenant.admin)
    message = (
        "Payment accounts are chosen for QuickBooks Online only: Xero records paid receipts without one."
    )

    for response in (
        admin.get(url(xero), follow=True),
        admin.post(url(xero), {"paid_from": "Bank", "entry": entry(xero, "090").pk}, follow=True),
    ):
        assert response.redirect_chain == [(connections, 302)]
        assert message in text(response)
    assert options(xero) == {} and logged(tenant.account) == 0

    # A QuickBooks Online still waiting to finish connecting: not connected, nothing to choose.
    pending = connect(tenant.account, "qbo", status=ConnectionStatus.PENDING)
    response = admin.post(url(pending), {"paid_from": "Bank", "entry": "1"}, follow=True)
    assert response.redirect_chain == [(connections, 302)]
    assert "That integration is not connected to this account." in text(response)
    assert options(pending) == {}


def test_another_tenant_gets_404_and_changes_nothing(tenant, other_tenant, qbo_read):
    stranger = client_for(other_tenant.admin)
    checking = entry(qbo_read, CHECKING)
    # Their own slug with our connection id, and our slug (they are no member of it).
    theirs_url = reverse("integrations:payment_accounts", args=[other_tenant.account.slug, qbo_read.pk])
    assert stranger.get(theirs_url).status_code == 404
    assert stranger.post(theirs_url, {"paid_from": "Bank", "entry": checking.pk}).status_code == 404
    assert stranger.get(url(qbo_read)).status_code == 404
    assert stranger.post(url(qbo_read), {"paid_from": "Bank", "entry": checking.pk}).status_code == 404
    missing = reverse("integrations:payment_accounts", args=[tenant.account.slug, qbo_read.pk + 1000])
    assert client_for(tenant.admin).get(missing).status_code == 404
    assert options(qbo_read) == {} and logged(tenant.account) == 0 and logged(other_tenant.account) == 0


# --- the choice is what publishing uses (QuickBooks Online sandbox, real HTTP) ----------------------------


@pytest.mark.usefixtures("sandbox")
def test_the_chosen_account_is_what_paid_receipts_are_published_from(
    tenant, other_tenant, connect, django_capture_on_commit_callbacks
):
    qbo = qbo_connection(connect, tenant.account)
    # The company has a second bank account in QuickBooks; the lists read (over HTTP) brings it.
    SandboxListEntry.objects.create(
        provider="qbo", org_id=qbo.external_id, kind="account", entry_id=SAVINGS, code="1020",
        name="Savings", data={"AccountType": "Bank", "AccountSubType": "Savings"},
    )  # fmt: skip
    lists.request_sync(account=tenant.account, connection=qbo)
    lists.run_sync(account=tenant.account, connection_id=qbo.pk)
    assert {e.external_id for e in ListEntry.objects.filter(connection=qbo, detail="Bank")} == {
        CHECKING,
        SAVINGS,
    }
    admin = client_for(tenant.admin)
    assert "has more than one Bank account and none is chosen yet" in text(admin.get(url(qbo)))

    def receipt(reference: str, method: str) -> Item:
        item = ready_item(
            qbo, reference, supplier="Staples", category="Advertising", tax_rate=None, type="receipt"
        )
        Item.objects.filter(pk=item.pk).update(payment_method=method, currency="USD")
        return item

    def publish(*items: Item) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            publishing.request_publish(
                account=tenant.account, acting_user=tenant.admin, item_ids=[i.pk for i in items]
            )
        work_off()

    # Before choosing: a bank receipt is refused before anything is sent.
    first = receipt("R-30", "cash")
    publish(first)
    first.refresh_from_db()
    assert first.status == ItemStatus.FAILED and "(Checking, Savings)" in first.publish_error
    assert received("qbo", qbo.external_id) == []

    response = admin.post(url(qbo), {"paid_from": "Bank", "entry": entry(qbo, SAVINGS).pk}, follow=True)
    assert "Bank payments are now recorded in QuickBooks Online as paid from Savings." in text(response)

    cheque, card = receipt("R-31", "cheque"), receipt("R-32", "card")
    publish(cheque, card)
    with django_capture_on_commit_callbacks(execute=True):
        publishing.retry(account=tenant.account, acting_user=tenant.admin, item_id=first.pk)
    work_off()

    for item in (first, cheque, card):
        item.refresh_from_db()
        assert (item.status, item.publish_error) == (ItemStatus.PUBLISHED, "")
    made = {b.number: b for b in received("qbo", qbo.external_id)}
    assert {
        n: (b.kind, b.payload["PaymentType"], b.payload["AccountRef"]["value"]) for n, b in made.items()
    } == {
        "R-30": ("Purchase", "Cash", SAVINGS),
        "R-31": ("Purchase", "Check", SAVINGS),
        "R-32": ("Purchase", "CreditCard", MASTERCARD),  # the only Credit Card account, automatically
    }
    assert not Item.objects.filter(account=other_tenant.account, status=ItemStatus.PUBLISHED).exists()

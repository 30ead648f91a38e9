"""QuickBooks Online paid receipts (costs/payment_accounts.py): a receipt is a Purchase paid from the
Bank or Credit Card account its payment method says, taken from QuickBooks' Account list as our lists
read keeps it (read over real HTTP from the sandbox), published by the worker through the sandbox, which
checks the account's type as QuickBooks does."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

from accounts.errors import DomainError
from accounts.models import ActivityEntry
from costs import payment_accounts, publishing
from costs.models import Item, ItemStatus
from integrations import lists
from integrations.models import Connection, ListEntry
from tests.integrations.publish_helpers import qbo_connection, received
from tests.integrations.publishing_helpers import ready_item, work_off
from tests.integrations.sandbox_helpers import sandbox  # noqa: F401

pytestmark = pytest.mark.usefixtures("sandbox")

CHECKING, MASTERCARD = "35", "41"  # the sandbox company's Bank and Credit Card accounts


@pytest.fixture
def qbo(tenant, connect) -> Connection:
    connection = qbo_connection(connect, tenant.account)
    lists.request_sync(account=tenant.account, connection=connection)
    lists.run_sync(account=tenant.account, connection_id=connection.pk)
    with scopes_disabled():
        kept = dict(
            ListEntry.objects.filter(connection=connection, detail__in=["Bank", "Credit Card"]).values_list(
                "external_id", "detail"
            )
        )
    assert kept == {CHECKING: "Bank", MASTERCARD: "Credit Card"}  # read from QuickBooks' Account list
    return connection


def receipt(qbo: Connection, reference: str, method: str) -> Item:
    item = ready_item(
        qbo, reference, supplier="Staples", category="Advertising", tax_rate=None, type="receipt"
    )
    with scopes_disabled():
        Item.objects.filter(pk=item.pk).update(payment_method=method, currency="USD")
    return item


def publish(tenant, django_capture_on_commit_callbacks, *items):
    with django_capture_on_commit_callbacks(execute=True):
        publishing.request_publish(
            account=tenant.account, acting_user=tenant.admin, item_ids=[i.pk for i in items]
        )
    return work_off()


def state(item: Item) -> tuple[str, str]:
    with scopes_disabled():
        item.refresh_from_db()
    return item.status, item.publish_error


def test_a_card_receipt_is_paid_from_the_credit_card_account_a_cash_one_from_the_bank(
    qbo, tenant, other_tenant, django_capture_on_commit_callbacks
):
    card, cash, cheque = (
        receipt(qbo, "R-1", "card"),
        receipt(qbo, "R-2", "cash"),
        receipt(qbo, "R-3", "cheque"),
    )

    publish(tenant, django_capture_on_commit_callbacks, card, cash, cheque)

    assert [state(i)[0] for i in (card, cash, cheque)] == [ItemStatus.PUBLISHED] * 3
    made = {b.number: b for b in received("qbo", qbo.external_id)}
    assert {
        n: (b.kind, b.payload["PaymentType"], b.payload["AccountRef"]["value"]) for n, b in made.items()
    } == {
        "R-1": ("Purchase", "CreditCard", MASTERCARD),
        "R-2": ("Purchase", "Cash", CHECKING),
        "R-3": ("Purchase", "Check", CHECKING),
    }
    with scopes_disabled():
        assert not Item.objects.filter(account=other_tenant.account, status=ItemStatus.PUBLISHED).exists()


def test_with_two_bank_accounts_an_admin_chooses_then_retry_publishes(
    qbo, tenant, other_tenant, django_capture_on_commit_callbacks
):
    with scopes_disabled():
        savings = ListEntry.objects.create(
            account=tenant.account, connection=qbo, kind="account", external_id="36", name="Savings",
            detail="Bank", for_costs=False, for_sales=False,
        )  # fmt: skip
    item = receipt(qbo, "R-10", "bank_transfer")

    publish(tenant, django_capture_on_commit_callbacks, item)

    status, error = state(item)
    assert status == ItemStatus.FAILED
    assert error == (
        "QuickBooks Online has more than one Bank account (Checking, Savings) and none is chosen for bank "
        "transfers. An Admin chooses the account they are paid from, then Retry."
    )
    assert received("qbo", qbo.external_id) == []
    with scopes_disabled():
        checking = ListEntry.objects.get(connection=qbo, external_id=CHECKING)
        mastercard = ListEntry.objects.get(connection=qbo, external_id=MASTERCARD)
    # Bad input changes nothing: a credit card account for bank transfers, another account's user, a
    # Standard user.
    with pytest.raises(DomainError) as wrong_type:
        payment_accounts.choose(
            account=tenant.account, acting_user=tenant.admin, connection_id=qbo.pk,
            payment_method="bank_transfer", entry_id=mastercard.pk,
        )  # fmt: skip
    assert wrong_type.value.message == (
        "Choose one of QuickBooks Online's active Bank accounts for bank transfers."
    )
    with pytest.raises(DomainError):
        payment_accounts.choose(
            account=other_tenant.account, acting_user=other_tenant.admin, connection_id=qbo.pk,
            payment_method="bank_transfer", entry_id=checking.pk,
        )  # fmt: skip
    with pytest.raises(DomainError):
        payment_accounts.choose(
            account=tenant.account, acting_user=tenant.staff, connection_id=qbo.pk,
            payment_method="bank_transfer", entry_id=checking.pk,
        )  # fmt: skip
    with scopes_disabled():
        assert "payment_accounts" not in Connection.objects.get(pk=qbo.pk).options

    payment_accounts.choose(
        account=tenant.account, acting_user=tenant.admin, connection_id=qbo.pk,
        payment_method="bank_transfer", entry_id=checking.pk,
    )  # fmt: skip
    with scopes_disabled():
        assert ActivityEntry.objects.filter(
            account=tenant.account, action="integration.payment_account"
        ).exists()
    with django_capture_on_commit_callbacks(execute=True):
        publishing.retry(account=tenant.account, acting_user=tenant.admin, item_id=item.pk)
    work_off()

    assert state(item) == (ItemStatus.PUBLISHED, "")
    [made] = received("qbo", qbo.external_id)
    assert (made.payload["PaymentType"], made.payload["AccountRef"]["value"]) == ("Cash", CHECKING)
    assert savings.external_id != CHECKING


def test_a_chosen_account_quickbooks_no_longer_has_is_refused_by_quickbooks_in_its_words(
    qbo, tenant, django_capture_on_commit_callbacks
):
    # A credit card account in our last read that QuickBooks has since deleted, chosen for card payments.
    with scopes_disabled():
        gone = ListEntry.objects.create(
            account=tenant.account, connection=qbo, kind="account", external_id="4100", name="Old Visa",
            detail="Credit Card", for_costs=False, for_sales=False,
        )  # fmt: skip
    payment_accounts.choose(
        account=tenant.account, acting_user=tenant.admin, connection_id=qbo.pk,
        payment_method="card", entry_id=gone.pk,
    )  # fmt: skip
    item = receipt(qbo, "R-20", "card")

    publish(tenant, django_capture_on_commit_callbacks, item)

    status, error = state(item)
    assert status == ItemStatus.FAILED
    assert error.startswith("QuickBooks Online refused the request: Invalid Reference Id")
    assert received("qbo", qbo.external_id) == []

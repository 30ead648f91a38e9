"""factory-boy factories. Sub-factories share one account: an item's supplier, connection and owner
all belong to the item's account unless a test says otherwise."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import (
    Account,
    Invitation,
    Membership,
    Practice,
    PracticeMembership,
    PracticeRole,
    Role,
    User,
)

PASSWORD = "test-pass-2026"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class AccountFactory(factory.django.DjangoModelFactory):
    """A Business account with its owner as Admin."""

    class Meta:
        model = Account
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Business {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))
    owner = factory.SubFactory(UserFactory)

    @factory.post_generation
    def owner_membership(obj, create, extracted, **kwargs):
        if create:
            Membership.objects.create(account=obj, user=obj.owner, role=Role.ADMIN)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    account = factory.SubFactory(AccountFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.STANDARD


class PracticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practice

    name = factory.Sequence(lambda n: f"Practice {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))


class PracticeMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PracticeMembership

    practice = factory.SubFactory(PracticeFactory)
    user = factory.SubFactory(UserFactory)
    role = PracticeRole.BOOKKEEPER


class InvitationFactory(factory.django.DjangoModelFactory):
    """An open invitation. Its link's token is `token` (the row keeps only the hash)."""

    class Meta:
        model = Invitation
        exclude = ["token"]

    account = factory.SubFactory(AccountFactory)
    email = factory.Sequence(lambda n: f"invited{n}@example.test")
    role = Role.STANDARD
    invited_by = factory.LazyAttribute(lambda o: o.account.owner)
    token = factory.Sequence(lambda n: f"factory-token-{n}")
    token_hash = factory.LazyAttribute(lambda o: hashlib.sha256(o.token.encode()).hexdigest())
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


class ConnectionFactory(factory.django.DjangoModelFactory):
    """An active connection. `provider` decides main/additional (Connection.save sets is_main)."""

    class Meta:
        model = "integrations.Connection"

    account = factory.SubFactory(AccountFactory)
    provider = "xero"
    status = "active"
    is_main = True
    external_id = factory.Sequence(lambda n: f"org-{n}")
    external_name = factory.LazyAttribute(lambda o: f"{o.account.name} ({o.provider})")
    connected_by = factory.LazyAttribute(lambda o: o.account.owner)
    connected_at = factory.LazyFunction(lambda: __import__("django.utils.timezone").utils.timezone.now())


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "costs.Supplier"

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"Supplier {n}")


class SupplierRuleFactory(factory.django.DjangoModelFactory):
    """A rule for a supplier of the same account (the account comes from the supplier)."""

    class Meta:
        model = "costs.SupplierRule"

    supplier = factory.SubFactory(SupplierFactory)
    account = factory.LazyAttribute(lambda o: o.supplier.account)
    integration = None


class ItemFactory(factory.django.DjangoModelFactory):
    """A cost item whose supplier and owner belong to the item's account."""

    class Meta:
        model = "costs.Item"

    account = factory.SubFactory(AccountFactory)
    type = "bill"
    status = "ready"
    supplier = factory.SubFactory(SupplierFactory, account=factory.SelfAttribute("..account"))
    owner = factory.LazyAttribute(lambda o: o.account.owner)
    reference = factory.Sequence(lambda n: f"INV-{n:05d}")
    category = "Office supplies"
    total = factory.Sequence(lambda n: 100 + n)
    tax = factory.LazyAttribute(lambda o: (Decimal(o.total) / 6).quantize(Decimal("0.01")))


class ListEntryFactory(factory.django.DjangoModelFactory):
    """An active entry of a connection's lists (account = chart of accounts by default), as a read of the
    provider would store it; the account comes from the connection."""

    class Meta:
        model = "integrations.ListEntry"

    connection = factory.SubFactory(ConnectionFactory)
    account = factory.LazyAttribute(lambda o: o.connection.account)
    kind = "account"
    external_id = factory.Sequence(lambda n: f"entry-{n}")
    code = ""
    name = factory.Sequence(lambda n: f"Entry {n}")
    match_name = factory.LazyAttribute(lambda o: __import__("integrations.lists").lists.normalise(o.name))


class AccountEntryFactory(ListEntryFactory):
    """An account of the chart of accounts, with a code."""

    kind = "account"
    code = factory.Sequence(lambda n: str(400 + n))


class TaxRateEntryFactory(ListEntryFactory):
    kind = "tax_rate"
    code = factory.Sequence(lambda n: f"TAX{n}")


class SupplierEntryFactory(ListEntryFactory):
    """A contact (Xero) or vendor (QuickBooks, Bill.com) of the provider."""

    kind = "supplier"


class SupplierLinkFactory(factory.django.DjangoModelFactory):
    """A supplier linked to a provider's contact/vendor in one connection (entry None: created at first
    publish)."""

    class Meta:
        model = "costs.SupplierLink"

    supplier = factory.SubFactory(SupplierFactory)
    account = factory.LazyAttribute(lambda o: o.supplier.account)
    connection = factory.SubFactory(ConnectionFactory, account=factory.SelfAttribute("..account"))
    entry = None
    matched_by = "exact"

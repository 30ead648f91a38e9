"""A tenant with one of everything, for the walkers: the ids of its real objects, and a snapshot of
every tenant table to prove a request changed nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django_scopes import scopes_disabled

from accounts.models import ActivityEntry, Invitation, Membership, Practice, PracticeMembership, PracticeRole
from costs.models import Document, Item, Supplier, SupplierLink, SupplierRule
from integrations.models import Connection, IntegrationDefaults, ListEntry, ListSync
from tests.factories import (
    AccountEntryFactory,
    ConnectionFactory,
    InvitationFactory,
    ItemFactory,
    PracticeFactory,
    PracticeMembershipFactory,
    SupplierEntryFactory,
    SupplierFactory,
    SupplierLinkFactory,
    SupplierRuleFactory,
    TaxRateEntryFactory,
)


@dataclass
class World:
    ids: dict[str, int]
    # Values for the routes' other parameters (`<slug:kind>` of the lists' search).
    params: dict[str, str] = field(default_factory=lambda: {"kind": "account", "section": "costs"})


def populate(tenant) -> World:
    """Xero + Bill.com, defaults, a supplier with a rule, a cost item, a sales invoice, activity, and a
    practice of its own (a practice admin, a bookkeeper assigned to it) that has it as a client. Xero's
    lists have been read: a contact the supplier is linked to."""
    account = tenant.account
    xero = ConnectionFactory(account=account, provider="xero")
    billcom = ConnectionFactory(account=account, provider="billcom", is_main=False)
    IntegrationDefaults.objects.create(account=account, expense_claims=billcom)
    supplier = SupplierFactory(account=account, name=f"Secret Supplier of {account.name}")
    # Lists read from Xero and Bill.com, chosen on the item and the rule, and the supplier's link.
    with scopes_disabled():
        ListSync.objects.create(account=account, connection=xero, state="done")
    category = AccountEntryFactory(connection=xero, name=f"Secret Category of {account.name}")
    tax_rate = TaxRateEntryFactory(connection=xero, name=f"Secret Tax of {account.name}")
    contact = SupplierEntryFactory(connection=xero, name=f"Secret Supplier of {account.name}")
    billcom_category = AccountEntryFactory(connection=billcom, name=f"Secret Category of {account.name}")
    SupplierLinkFactory(supplier=supplier, connection=xero, entry=contact)
    rule = SupplierRuleFactory(
        supplier=supplier,
        integration=billcom,
        category_entry=billcom_category,
        category=billcom_category.name,
    )
    item = ItemFactory(
        account=account,
        supplier=supplier,
        reference="SECRET-REF",
        category_entry=category,
        category=category.name,
        tax_rate_entry=tax_rate,
        tax_rate=tax_rate.name,
    )
    sales = ItemFactory(account=account, type="sales_invoice", reference="SECRET-SALE")
    # Both items have their document (a PDF whose text holds a secret), so the document views are walked
    # with real documents behind the ids.
    for owner in (item, sales):
        _document(owner, f"SECRET-REF document of {account.name}")
    practice = PracticeFactory(name=f"Secret Practice of {account.name}")
    practice.clients.add(account)
    PracticeMembershipFactory(practice=practice, role=PracticeRole.PRACTICE_ADMIN)
    PracticeMembershipFactory(practice=practice, role=PracticeRole.BOOKKEEPER).assigned_clients.add(account)
    with scopes_disabled():
        membership = Membership.objects.get(account=account, user=tenant.staff)
    invitation = InvitationFactory(account=account, invited_by=tenant.admin)
    ids = {
        "membership_id": membership.pk,
        "invitation_id": invitation.pk,
        "connection_id": xero.pk,
        "item_id": item.pk,
        "rule_id": rule.pk,
        "sales_item_id": sales.pk,
        "billcom_id": billcom.pk,
        "practice_id": practice.pk,
    }
    return World(ids=ids)


def _document(item, text: str) -> Document:
    from django.core.files.base import ContentFile

    from costs.samples import pdf_with_text

    document = Document(
        account=item.account,
        item=item,
        original_name="secret.pdf",
        content_type="application/pdf",
        text=text,
    )
    document.file.save("secret.pdf", ContentFile(pdf_with_text([[text]])), save=False)
    document.save()
    return document


def snapshot() -> tuple:
    """Every tenant-owned row, by value: a request that changed anything changes this."""
    with scopes_disabled():
        return (
            sorted(Membership.objects.values_list("pk", "account_id", "user_id", "role")),
            sorted(Connection.objects.values_list("pk", "account_id", "provider", "status", "credentials")),
            sorted(IntegrationDefaults.objects.values_list("pk", "publishing_id", "expense_claims_id")),
            sorted(Supplier.objects.values_list("pk", "account_id", "name")),
            sorted(
                SupplierRule.objects.values_list(
                    "pk",
                    "supplier_id",
                    "integration_id",
                    "category",
                    "category_entry_id",
                    "tax_rate_entry_id",
                )
            ),
            sorted(
                Item.objects.values_list(
                    "pk",
                    "account_id",
                    "status",
                    "integration_id",
                    "supplier_id",
                    "category",
                    "total",
                    "category_entry_id",
                    "tax_rate_entry_id",
                    "tax_rate",
                )
            ),
            sorted(
                ListEntry.objects.values_list("pk", "account_id", "connection_id", "kind", "name", "active")
            ),
            sorted(
                SupplierLink.objects.values_list(
                    "pk", "supplier_id", "connection_id", "entry_id", "matched_by"
                )
            ),
            sorted(
                Invitation.objects.values_list(
                    "pk",
                    "account_id",
                    "email",
                    "role",
                    "token_hash",
                    "expires_at",
                    "accepted_at",
                    "cancelled_at",
                )
            ),
            sorted(
                ListSync.objects.values_list("pk", "account_id", "connection_id", "state", "requested_at")
            ),
            sorted(
                Document.objects.values_list(
                    "pk", "account_id", "item_id", "file", "thumbnail", "prefill_closed_at", "attach_state"
                )
            ),
            ActivityEntry.objects.count(),
            # Who may open which account through a practice.
            sorted(Practice.clients.through.objects.values_list("practice_id", "account_id")),
            sorted(
                PracticeMembership.assigned_clients.through.objects.values_list(
                    "practicemembership_id", "account_id"
                )
            ),
        )


def ids_for(route, world) -> dict[str, int | str]:
    """Real ids for the route's int parameters, and real values for its other parameters (a list's
    kind), so the walk reaches the view itself. A new kind of id fails here until it is mapped."""
    ids: dict[str, int | str] = {}
    for name in re.findall(r"<int:(\w+)>", route.pattern):
        key = "sales_item_id" if name == "item_id" and route.name.startswith("costs:sales") else name
        assert key in world.ids, f"{route}: map <int:{name}> to an object in tests/tenant_world.py"
        ids[name] = world.ids[key]
    for name in re.findall(r"<slug:(\w+)>", route.pattern):
        if name not in ("account_slug", "practice_slug"):
            assert name in world.params, f"{route}: map <slug:{name}> to a value in tests/tenant_world.py"
            ids[name] = world.params[name]
    return ids

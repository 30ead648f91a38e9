"""Cost and sales items, suppliers and supplier rules. All tenant-owned and scoped."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django_scopes import ScopedManager

from accounts.models import Account
from integrations.models import Connection, ListEntry


class ItemType(models.TextChoices):
    RECEIPT = "receipt", "Receipt"
    BILL = "bill", "Bill / invoice"
    CREDIT_NOTE = "credit_note", "Credit note"
    EXPENSE_CLAIM = "expense_claim", "Expense claim"
    SALES_INVOICE = "sales_invoice", "Sales invoice"


COST_TYPES = (ItemType.RECEIPT, ItemType.BILL, ItemType.CREDIT_NOTE, ItemType.EXPENSE_CLAIM)
SALES_TYPES = (ItemType.SALES_INVOICE,)


class ItemStatus(models.TextChoices):
    TO_REVIEW = "to_review", "To review"
    READY = "ready", "Ready"
    PUBLISHING = "publishing", "Publishing"
    PUBLISHED = "published", "Published"
    FAILED = "failed", "Failed"
    ARCHIVED = "archived", "Archived"


class PaymentMethod(models.TextChoices):
    NONE = "", "—"
    CASH = "cash", "Cash"
    CARD = "card", "Card"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    CHEQUE = "cheque", "Cheque"


class Supplier(models.Model):
    """A supplier (or, for sales items, a customer) of the account."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="suppliers")
    name = models.CharField(max_length=200)

    objects = ScopedManager(account="account")

    class Meta:
        constraints = [
            models.UniqueConstraint("account", Lower("name"), name="supplier_unique_name"),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SupplierMatch(models.TextChoices):
    EXACT = "exact", "Same name"
    NORMALISED = "normalised", "Similar name"
    CHOSEN = "chosen", "Chosen by hand"
    CREATED = "created", "Created by Dext Connect"


class SupplierLink(models.Model):
    """Which contact or vendor a supplier is in one connection (PRODUCT.md "Suppliers").

    Found after each read of the suppliers list (costs/linking.py link_suppliers): the entry with exactly
    the same name, else the one with the same normalised name; or chosen by hand on the rule page.
    `entry` empty: no match yet, so the supplier is created in the provider when its first bill is
    published (with the provider's idempotency key `create_key`, so a retry never makes two).
    An entry archived or deleted in the provider since leaves the link in place (`needs_choosing`)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="links")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    entry = models.ForeignKey(ListEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    matched_by = models.CharField(max_length=12, choices=SupplierMatch.choices, blank=True)
    # The idempotency key of the create, kept from the first attempt so a retry sends the same one.
    create_key = models.CharField(max_length=64, blank=True)
    linked_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(account="account")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "connection"], name="supplierlink_one_per_connection"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.supplier} in {self.connection}"

    @property
    def needs_choosing(self) -> bool:
        """Its contact or vendor is no longer active in the provider: choose again (reads the entry)."""
        return self.entry_id is not None and not self.entry.active


# What a supplier rule without an Integration does, in the same words on every page and in the log (an
# item's own setting, by contrast, is "Use rule/default": services.USE_RULE_OR_DEFAULT).
RULE_USES_DEFAULTS = "None — uses the defaults"


class SupplierRule(models.Model):
    """Per-supplier defaults applied to that supplier's items automatically."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="supplier_rules")
    supplier = models.OneToOneField(Supplier, on_delete=models.CASCADE, related_name="rule")
    # Chosen from the lists of the software the rule's items publish to (costs/lists.py). The text
    # fields keep the name as typed before the lists existed, or of the last entry chosen: an entry of
    # other software (the rule's Integration changed) is carried over by code or name, or named in
    # "choose again" (costs/lists.py decides, in one place).
    category_entry = models.ForeignKey(
        ListEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    tax_rate_entry = models.ForeignKey(
        ListEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    category = models.CharField(max_length=100, blank=True)
    tax_rate = models.CharField(max_length=50, blank=True)
    payment_method = models.CharField(
        max_length=20, choices=PaymentMethod.choices, blank=True, default=PaymentMethod.NONE
    )
    integration = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="supplier_rules"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(account="account")

    class Meta:
        ordering = ["supplier__name"]

    def __str__(self) -> str:
        return f"Rule for {self.supplier}"

    @property
    def integration_label(self) -> str:
        """The rule's Integration in words: the connection's name (connected or not), or
        RULE_USES_DEFAULTS."""
        return self.integration.label if self.integration_id else RULE_USES_DEFAULTS


class Item(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="items")
    type = models.CharField(max_length=20, choices=ItemType.choices, default=ItemType.RECEIPT)
    status = models.CharField(max_length=20, choices=ItemStatus.choices, default=ItemStatus.TO_REVIEW)
    date = models.DateField(default=timezone.localdate)
    due_date = models.DateField(null=True, blank=True)
    supplier = models.ForeignKey(
        Supplier, null=True, blank=True, on_delete=models.PROTECT, related_name="items"
    )
    reference = models.CharField(max_length=100, blank=True)
    # Category and tax rate chosen from the lists of the item's effective integration (costs/lists.py);
    # the text fields keep the name as typed before the lists existed, or of the last entry chosen.
    category_entry = models.ForeignKey(
        ListEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    tax_rate_entry = models.ForeignKey(
        ListEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    category = models.CharField(max_length=100, blank=True)
    tax = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    # The tax rate as the bookkeeper names it ("20% VAT", "Zero rated"); a supplier rule fills it in.
    tax_rate = models.CharField(max_length=50, blank=True)
    total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="GBP")
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    paid = models.BooleanField(default=False)
    payment_method = models.CharField(
        max_length=20, choices=PaymentMethod.choices, blank=True, default=PaymentMethod.NONE
    )
    # The integration set on the item itself (the override). Empty: rule, default, main.
    integration = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Frozen record of where the item was published.
    published_to = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.PROTECT, related_name="published_items"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    external_id = models.CharField(max_length=200, blank=True)
    publish_error = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(account="account")

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [
            models.Index(fields=["account", "type", "status", "-date"], name="item_inbox_idx"),
            models.Index(fields=["account", "supplier"], name="item_supplier_idx"),
            # The inbox's default order (newest first): the first page is read in index order.
            models.Index(fields=["account", "-date", "-id"], name="item_account_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.reference or self.pk}"

    @property
    def is_sales(self) -> bool:
        return self.type in SALES_TYPES

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


# THE definition of "changeable item" (issue 10): its fields, its Integration and its route may change
# (routing, previews and counts, forms and services all ask `is_changeable` / CHANGEABLE_STATUSES).
# Publishing (in flight), Published and Archived items are not changeable.
CHANGEABLE_STATUSES = (ItemStatus.TO_REVIEW, ItemStatus.READY, ItemStatus.FAILED)
# The rest, derived (written as an exclusion so the partial index item_open_route_idx still serves it).
NOT_CHANGEABLE_STATUSES = tuple(s for s in ItemStatus if s not in CHANGEABLE_STATUSES)
# Items whose route is frozen to `published_to`: published, or being published (then `published_to` is
# the open publish attempt's connection, written with it in one transaction: costs/publishing.py).
FROZEN_ROUTE_STATUSES = (ItemStatus.PUBLISHING, ItemStatus.PUBLISHED)


def is_changeable(item: Item) -> bool:
    return item.status in CHANGEABLE_STATUSES


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
        # Suppliers by name, 20 at a time (the type-ahead): read in this index's order, each
        # checked with one probe of item_supplier_type_idx, instead of sorting thousands.
        indexes = [models.Index(fields=["account", "name"], name="supplier_account_name_idx")]
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
    # Frozen record of where the item was published, or (while it is Publishing) of where its open
    # publish attempt sends it: PublishAttempt.connection.
    published_to = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.PROTECT, related_name="published_items"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    external_id = models.CharField(max_length=200, blank=True)
    # A link to the document in that software, where the provider has one.
    published_url = models.CharField(max_length=500, blank=True)
    publish_error = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(account="account")

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [
            models.Index(fields=["account", "type", "status", "-date"], name="item_inbox_idx"),
            # A supplier's items of one kind (cost or sales): "is this a supplier or a customer?" is
            # one probe of this index per supplier (costs/selectors.suppliers).
            models.Index(fields=["account", "supplier", "type"], name="item_supplier_type_idx"),
            # The inbox's orders, read in index order from the page's keyset cursor (costs/paging.py):
            # newest first (the default), and by total.
            models.Index(fields=["account", "-date", "-id"], name="item_account_date_idx"),
            models.Index(fields=["account", "total", "id"], name="item_account_total_idx"),
            # The unpublished items and what decides their route besides the defaults: the previews
            # count the items a change moves from this index alone (costs/impact.py).
            models.Index(
                fields=["account", "type", "integration", "supplier"],
                # Exactly the changeable items (NOT_CHANGEABLE_STATUSES): PostgreSQL uses a partial
                # index only when the query's condition is the index's own.
                condition=~models.Q(status__in=[status.value for status in NOT_CHANGEABLE_STATUSES]),
                name="item_open_route_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.reference or self.pk}"

    @property
    def is_sales(self) -> bool:
        return self.type in SALES_TYPES


class AttemptState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    PUBLISHED = "published", "Published"
    FAILED = "failed", "Failed"
    # The answer was lost: the provider may have created it. Looked up before it is ever sent again.
    IN_DOUBT = "in_doubt", "In doubt"
    CANCELLED = "cancelled", "Cancelled"


OPEN_ATTEMPT_STATES = (AttemptState.QUEUED, AttemptState.SENDING, AttemptState.IN_DOUBT)


class PublishBatch(models.Model):
    """One Xero call for up to 50 attempts of one connection and one resource (Invoices or
    CreditNotes), costs/publishing.py. Its Idempotency-Key is derived from the attempts' own keys in
    order (xero_publish.batch_key), and `body` is the JSON text exactly as sent: every resend of this
    batch (a lost answer, a killed worker) sends the same bytes under the same key, which Xero answers
    from its memory for 6 minutes. `lease_until`: the worker that sends it (claimed with a conditional
    UPDATE, as attempts are), so two workers never send one batch at once."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="+")
    resource = models.CharField(max_length=20)
    key = models.CharField(max_length=128, blank=True)
    body = models.TextField(blank=True)
    # The attempts in the order of the body's documents: Xero answers each document in that order.
    attempt_ids = models.JSONField(default=list)
    sent_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(account="account")

    def __str__(self) -> str:
        return f"Batch {self.pk} of {len(self.attempt_ids)} to {self.connection_id}"


class PublishAttempt(models.Model):
    """One publish of one item to one connection (the target frozen when it was queued), under one
    idempotency key that every retry of this attempt reuses (costs/publishing.py). At most one open
    attempt per item (a constraint): two requests or two workers can never send one item twice.

    A worker claims it with a conditional UPDATE that sets `lease_until`; a worker killed mid-publish
    leaves the lease to expire, and the sweeper hands the attempt to another worker with the same key.
    `sent_at`: when the document was first handed to the provider; from then on any resend looks it up
    first (or, for Xero within its key's 6 minutes, resends `sent_body` under `sent_key` exactly)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="publish_attempts")
    connection = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=12, choices=AttemptState.choices, default=AttemptState.QUEUED)
    lease_until = models.DateTimeField(null=True, blank=True)
    tries = models.PositiveIntegerField(default=0)
    next_try_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_key = models.CharField(max_length=128, blank=True)
    # The JSON text exactly as sent, key order included: a resend under the same Idempotency-Key must be
    # the same request (PostgreSQL's jsonb would reorder the keys, and Xero would refuse the resend).
    sent_body = models.TextField(blank=True)
    # The Xero call this attempt went (or goes) in: its key and body are the batch's.
    batch = models.ForeignKey(
        "PublishBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="attempts"
    )
    external_id = models.CharField(max_length=200, blank=True)
    url = models.CharField(max_length=500, blank=True)
    message = models.CharField(max_length=1000, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(account="account")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item"],
                condition=models.Q(state__in=["queued", "sending", "in_doubt"]),
                name="publishattempt_one_open_per_item",
            ),
        ]
        indexes = [
            # The sweeper: open attempts whose lease ran out (or never was taken).
            models.Index(
                fields=["lease_until"],
                condition=models.Q(state__in=["queued", "sending", "in_doubt"]),
                name="publishattempt_open_idx",
            ),
            # In flight per connection (the disconnect guard).
            models.Index(fields=["connection", "state"], name="publishattempt_conn_state_idx"),
        ]

    def __str__(self) -> str:
        return f"Publish of item {self.item_id} to {self.connection_id} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_ATTEMPT_STATES


def document_path(instance: Document, filename: str) -> str:
    """A generated name under the account's folder: the uploaded name is never part of a path
    (`../` and the like cannot reach the storage). The extension follows the type read from the
    content, not the one the file came with."""
    import uuid

    extension = DOCUMENT_EXTENSIONS.get(instance.content_type, "")
    return f"documents/{instance.account_id}/{uuid.uuid4().hex}{extension}"


def thumbnail_path(instance: Document, filename: str) -> str:
    import uuid

    return f"thumbnails/{instance.account_id}/{uuid.uuid4().hex}.png"


# The types an item's document may be, read from the file's content (never its extension).
DOCUMENT_EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/heic": ".heic",
}


class AttachState(models.TextChoices):
    """Whether the document went with the published bill (issue 11: attachments after publish)."""

    NONE = "", "Not sent"
    PENDING = "pending", "Attaching"
    ATTACHED = "attached", "Attached"
    FAILED = "failed", "Attachment failed"
    # QuickBooks Desktop takes no attachments: the item page says so.
    UNSUPPORTED = "unsupported", "Not supported by this software"


class Document(models.Model):
    """The file an item came from (a receipt, a bill, a sales invoice): stored through Django's storage
    API (the file system in the demo, S3-compatible storage in production) under a generated name, and
    served only by the tenant-scoped document view, never as a public URL."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="document")
    file = models.FileField(upload_to=document_path, max_length=300)
    # The name as uploaded, for display and for the attachment's file name only (never a path).
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField(default=0)
    pages = models.PositiveSmallIntegerField(default=1)
    sha256 = models.CharField(max_length=64, blank=True)
    # A PDF's text layer, as read at upload (what the pre-filled values come from). No OCR of images.
    text = models.TextField(blank=True)
    # Values read from the text layer, offered to the user to confirm (never applied silently).
    suggested = models.JSONField(default=dict, blank=True)
    # When the user used or dismissed the suggested values (costs/prefill.py): no longer offered.
    prefill_closed_at = models.DateTimeField(null=True, blank=True)
    thumbnail = models.FileField(upload_to=thumbnail_path, max_length=300, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The attachment sent after the bill was published (integrations/providers/*_attach.py).
    attach_state = models.CharField(max_length=12, choices=AttachState.choices, blank=True, default="")
    attach_message = models.CharField(max_length=1000, blank=True)
    attach_external_id = models.CharField(max_length=200, blank=True)
    attached_at = models.DateTimeField(null=True, blank=True)
    # The attach step's own bookkeeping (costs/attachments.py): a worker claims it with a conditional
    # UPDATE that sets the lease (two workers never send one attachment at once); `attach_key` is the
    # idempotency key every retry of this attach reuses (Xero Idempotency-Key, QuickBooks requestid;
    # "Attach again" makes a new one); `attach_sent_at`: it may have reached the provider, so a resend
    # looks it up first where the provider has no key (Bill.com).
    attach_key = models.CharField(max_length=64, blank=True)
    attach_lease_until = models.DateTimeField(null=True, blank=True)
    attach_tries = models.PositiveIntegerField(default=0)
    attach_next_try_at = models.DateTimeField(null=True, blank=True)
    attach_sent_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(account="account")

    def __str__(self) -> str:
        return self.original_name

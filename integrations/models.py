"""Connections between a Business account and accounting software, and the account's defaults.

Database guarantees (not only Python checks):
- each provider at most once per account (`connection_unique_provider`); reconnecting reuses the row,
  so its settings and the rules naming it survive a disconnect;
- at most one live main connection per account (`connection_one_live_main`).
Which providers exist, and which are main software, is the registry's (integrations/catalog.py): the
choices come from it, and `save()` derives `is_main` from it (the catalog's docstring says why the
database no longer lists providers).
The only code that changes `status` is integrations/services.py.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_scopes import ScopedManager

from accounts.models import Account

from . import catalog
from .crypto import EncryptedJSONField


class ConnectionStatus(models.TextChoices):
    PENDING = "pending", "Waiting to finish connecting"
    ACTIVE = "active", "Active"
    NEEDS_RECONNECT = "needs_reconnect", "Needs reconnecting"
    DISCONNECTED = "disconnected", "Disconnected"


# A connection that still counts as "connected" for routing and for the disconnect-order guard.
# needs_reconnect is still connected: the user reconnects it, items keep routing to it.
LIVE_STATUSES = (ConnectionStatus.ACTIVE, ConnectionStatus.NEEDS_RECONNECT)


class Connection(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="connections")
    provider = models.CharField(max_length=20, choices=catalog.provider_choices)
    # Denormalised from the provider (save() sets it from the registry) so the database can enforce
    # one live main per account.
    is_main = models.BooleanField()
    status = models.CharField(
        max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.PENDING
    )
    # The organisation on the other side: Xero tenant id, QBO realmId, Bill.com org id,
    # ApprovalMax organisation id, QuickBooks Desktop company file.
    external_id = models.CharField(max_length=200, blank=True)
    external_name = models.CharField(max_length=200, blank=True)
    # Tokens, session ids, the Bill.com sign-in, the Web Connector password hash: a dict, encrypted
    # at rest by the field itself (integrations/crypto.py).
    credentials = EncryptedJSONField(blank=True, default=dict)
    access_expires_at = models.DateTimeField(null=True, blank=True)
    # Settings kept across disconnect/reconnect (e.g. chosen organisation, provider options).
    options = models.JSONField(default=dict, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    connected_at = models.DateTimeField(null=True, blank=True)
    disconnected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    disconnected_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(account="account")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "provider"], name="connection_unique_provider"),
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(is_main=True, status__in=["active", "needs_reconnect"]),
                name="connection_one_live_main",
            ),
        ]
        ordering = ["-is_main", "provider"]

    def __str__(self) -> str:
        return self.get_provider_display()

    def save(self, *args, **kwargs):
        info = catalog.provider_info(self.provider)
        if info is None:
            # A programming error: the services refuse an unknown provider with a message first.
            raise ValueError(f"{self.provider!r} is not a provider in integrations/catalog.py.")
        self.is_main = info.is_main
        super().save(*args, **kwargs)

    @property
    def label(self) -> str:
        return self.get_provider_display()

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def named(self) -> str:
        """The software with its organisation, "Bill.com (Acme AP)" (catalog.with_organisation)."""
        return catalog.with_organisation(self.label, self.external_name)


class IntegrationDefaults(models.Model):
    """The account's two dropdowns. Empty means "the main accounting software"."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="integration_defaults")
    publishing = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expense_claims = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedManager(account="account")

    def __str__(self) -> str:
        return f"Defaults of {self.account}"


class OAuthStage(models.TextChoices):
    CONSENT = "consent", "At the provider's consent screen"
    CHOOSING = "choosing", "Choosing the organisation"


class OAuthState(models.Model):
    """An OAuth connect flow in progress, between "Continue to Xero" and the connection.

    Stage `consent`: created when the user leaves for the provider, found by the hash of the `state`
    the callback brings back, and consumed by one conditional DELETE (integrations/oauth_state.py): of
    two deliveries of the same callback, only the one whose DELETE removed the row goes on to exchange
    the code. Stage `choosing`: the provider's tokens waiting while the user picks an organisation,
    consumed the same way by the POST of the choice.

    Bound to the user and the browser session that started it (a hash of the session key), like the
    session-held state it replaces, but in the database: one row, one winner, across every gunicorn
    worker (the locmem cache could not do that). Secrets (the PKCE verifier, the tokens) are in the
    encrypted field; the state and the session key are stored only as SHA-256 hashes.

    Not tenant data behind the scopes: the callback URL names no account, so the row is found by its
    secret hash and user outside any scope, and the account it names is checked again (access_for)
    before anything is done. Expired rows are deleted whenever a flow starts or a callback arrives.
    """

    state_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    session_hash = models.CharField(max_length=64)
    stage = models.CharField(max_length=10, choices=OAuthStage.choices, default=OAuthStage.CONSENT)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=20, choices=catalog.provider_choices)
    # {"verifier": ...} at the consent stage, {"tokens": ...} while choosing.
    secrets = EncryptedJSONField(blank=True, default=dict)
    # While choosing: the organisations the provider offered (ids and names, nothing secret).
    organisations = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["user", "session_hash", "stage"], name="oauthstate_browser")]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} flow ({self.get_stage_display()})"


# --- Lists read from the accounting software (integrations/lists.py) -------------------------------


class ListKind(models.TextChoices):
    ACCOUNT = "account", "Category"  # the chart of accounts
    TAX_RATE = "tax_rate", "Tax rate"
    SUPPLIER = "supplier", "Supplier"  # Xero contacts, QuickBooks and Bill.com vendors


class ListEntry(models.Model):
    """One entry of a connection's lists, as the provider last told us: an account of its chart of
    accounts, a tax rate, or a contact/vendor.

    Never deleted while anything names it (PROTECT from items and rules): an entry archived or deleted
    in the provider becomes `active=False` — it still names what a published item was sent with, but
    it can no longer be chosen. `external_id` is what a bill sends (Xero AccountID/TaxType/ContactID,
    QuickBooks Id, Bill.com id, QuickBooks Desktop ListID); `code` the account code people know
    ("429"), if the provider has one.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="list_entries")
    kind = models.CharField(max_length=10, choices=ListKind.choices)
    external_id = models.CharField(max_length=200)
    code = models.CharField(max_length=50, blank=True)
    name = models.CharField(max_length=300)
    # Normalised name (integrations.lists.normalise) for matching and searching.
    match_name = models.CharField(max_length=300, blank=True)
    # What helps people tell entries apart: the account type ("Expense"), the rate ("20%").
    detail = models.CharField(max_length=200, blank=True)
    # Tax rates: the percentage (20.0000).
    rate = models.DecimalField(max_digits=9, decimal_places=4, null=True, blank=True)
    # Accounts: may a cost item (bill, receipt, claim) or a sales item use it? (Xero: expense/revenue
    # classes; QuickBooks: account types; tax rates: CanApplyToExpenses / CanApplyToRevenue.)
    for_costs = models.BooleanField(default=True)
    for_sales = models.BooleanField(default=True)
    active = models.BooleanField(default=True)
    # The provider's own last-change time, where it gives one.
    changed_at = models.DateTimeField(null=True, blank=True)
    # When a read last returned it.
    seen_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(account="account")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "kind", "external_id"], name="listentry_unique_per_connection"
            ),
        ]
        indexes = [
            models.Index(fields=["connection", "kind", "active", "match_name"], name="listentry_choose_idx"),
            models.Index(fields=["connection", "kind", "code"], name="listentry_code_idx"),
        ]
        ordering = ["kind", "code", "name"]
        verbose_name_plural = "list entries"

    def __str__(self) -> str:
        return f"{self.code} {self.name}".strip() if self.kind == ListKind.ACCOUNT else self.name

    @property
    def label(self) -> str:
        """As a choice reads: "429 · General Expenses", "20% (VAT on Expenses)", "British Gas";
        "(archived)" when it can no longer be chosen."""
        text = f"{self.code} · {self.name}" if self.code and self.kind == ListKind.ACCOUNT else self.name
        return text if self.active else f"{text} (archived)"


class ListSyncState(models.TextChoices):
    NEVER = "never", "Not read yet"
    QUEUED = "queued", "Waiting to be read"
    RUNNING = "running", "Reading"
    DONE = "done", "Read"
    FAILED = "failed", "Could not be read"


class ListSync(models.Model):
    """Where reading a connection's lists stands: one row per connection.

    One sync per connection at a time: a worker claims the row with one conditional UPDATE (state not
    running, or a running claim whose lease has run out: a worker killed mid-sync) and holds it until it
    finishes. `cursors` keep each kind's incremental marker (Xero's If-Modified-Since, QuickBooks'
    LastUpdatedTime, Bill.com's updatedTime); `progress` what the running or last sync has read, per
    kind; `message` why the last one failed, in words for the Connections page."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    connection = models.OneToOneField(Connection, on_delete=models.CASCADE, related_name="list_sync")
    state = models.CharField(max_length=10, choices=ListSyncState.choices, default=ListSyncState.NEVER)
    requested_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The end of the last sync that read every list: "Lists last read …".
    last_success_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    cursors = models.JSONField(default=dict, blank=True)
    progress = models.JSONField(default=dict, blank=True)
    message = models.CharField(max_length=500, blank=True)

    objects = ScopedManager(account="account")

    def __str__(self) -> str:
        return f"Lists of {self.connection}: {self.get_state_display()}"


class ListReadPage(models.Model):
    """A page of a list read that arrives in its own request and waits until every page of its kind has
    arrived: QuickBooks Desktop's iterator pages come one receiveResponseXML call at a time, and a kind
    is stored only whole (integrations/lists.py `keep_page` / `kept_entries`). `started` is the read's
    claim (ListSync.started_at), so the pages of an abandoned read never mix with a new read's; they are
    deleted when their kind is stored or the read ends."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=ListKind.choices)
    started = models.DateTimeField()
    number = models.PositiveIntegerField()
    # The page's entries (EntryData as JSON: rate as text, changed_at as the provider wrote it).
    entries = models.JSONField(default=list, blank=True)
    # Where the provider's paging stands after this page (QuickBooks: the iterator and how many remain).
    iterator_id = models.CharField(max_length=100, blank=True)
    remaining = models.PositiveIntegerField(default=0)

    objects = ScopedManager(account="account")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "kind", "started", "number"], name="listreadpage_unique_page"
            ),
        ]

    def __str__(self) -> str:
        return f"Page {self.number} of the {self.kind} list of {self.connection_id}"


class CallLimit(models.Model):
    """A provider's limits on our calls, shared by every worker process (integrations/ratelimit.py):
    one row per provider organisation ("xero:<tenant id>", "billcom:<organisation id>"), the lock the
    counting takes, and how long a 429's Retry-After blocks every call. Not tenant-owned: the provider
    counts per organisation, whichever of our accounts calls it."""

    key = models.CharField(max_length=200, unique=True)
    blocked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.key


class CallSlot(models.Model):
    """One call counted against a CallLimit: started when a worker was let through, finished when the
    answer came back (None while in flight; a process that died leaves it, and it stops counting as in
    flight after ratelimit.STALE_CALL)."""

    limit = models.ForeignKey(CallLimit, on_delete=models.CASCADE, related_name="slots")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["limit", "started_at"], name="callslot_limit_started_idx")]

    def __str__(self) -> str:
        return f"{self.limit_id} {self.started_at}"

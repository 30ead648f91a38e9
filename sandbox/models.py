"""The sandbox's own state: the providers' side (their clients, organisations, codes, tokens, Bill.com
users and sessions) and a log of what each sandbox received. Not tenant data; production code never
reads these tables.

Secrets here are kept as the fields below, not in integrations.crypto.EncryptedJSONField, on purpose:
these tables are the pretend provider's own database, not Dext Connect's, and the sandbox is off in
production (SANDBOX_ENABLED follows DEBUG). The client secrets and Bill.com passwords are fixed demo
values printed on /sandbox/ and in the README; codes, tokens and Bill.com session ids are looked up by
their value on every call (a Fernet token is different each time, so an encrypted column could not
be searched), and they open only the sandbox's pretend organisations. Dext Connect's own copies of the
tokens and sign-ins (Connection.credentials) are encrypted."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class SandboxClient(models.Model):
    """An OAuth client registered with a sandboxed provider (our app, as the provider sees it)."""

    provider = models.CharField(max_length=20)
    client_id = models.CharField(max_length=100, unique=True)
    client_secret = models.CharField(max_length=100)

    def __str__(self) -> str:
        return f"{self.provider}: {self.client_id}"


class SandboxOrganisation(models.Model):
    provider = models.CharField(max_length=20)
    org_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    # ApprovalMax only: the accounting system the organisation is connected to ("Xero", "QBooks", "").
    linked_to = models.CharField(max_length=20, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "org_id"], name="sandbox_org_unique")]
        ordering = ["provider", "name"]

    def __str__(self) -> str:
        return self.name


class AuthorizationCode(models.Model):
    code = models.CharField(max_length=100, unique=True)
    provider = models.CharField(max_length=20)
    client_id = models.CharField(max_length=100)
    redirect_uri = models.CharField(max_length=500)
    code_challenge = models.CharField(max_length=200)
    org_ids = models.JSONField(default=list)
    # The scopes consented to (space separated), who consented (the provider login signed in on the
    # consent screen, users.ProviderUser.key) and the consent's id (Xero's authEventId).
    scope = models.CharField(max_length=1000, blank=True)
    user_key = models.CharField(max_length=200, blank=True)
    auth_event_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.code[:8]


class IssuedToken(models.Model):
    provider = models.CharField(max_length=20)
    client_id = models.CharField(max_length=100)
    # Xero's access tokens are JWTs (data.xero_access_token), hence the length.
    access_token = models.CharField(max_length=2000, unique=True)
    refresh_token = models.CharField(max_length=100, unique=True)
    org_ids = models.JSONField(default=list)
    # The grant this token belongs to (one consent; kept across refreshes): revoking one of its tokens
    # revokes them all. Its scopes, user and auth event come from the consent.
    grant_id = models.CharField(max_length=64, blank=True, db_index=True)
    grant_started_at = models.DateTimeField(default=timezone.now)
    scope = models.CharField(max_length=1000, blank=True)
    user_key = models.CharField(max_length=200, blank=True)
    auth_event_id = models.CharField(max_length=64, blank=True)
    access_expires_at = models.DateTimeField()
    # Set when the refresh token was used (rotation) or the grant revoked: it never works again.
    refresh_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)
    code = models.ForeignKey(AuthorizationCode, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.access_token[:8]


class XeroConnection(models.Model):
    """A Xero user's connection of one tenant to an app (xero-identity.yaml `Connection`): what
    GET /connections lists and DELETE /connections/{id} removes. Xero keeps one per user, app and
    tenant; consenting to the tenant again updates it (new authEventId, updatedDateUtc)."""

    connection_id = models.CharField(max_length=64, unique=True)
    client_id = models.CharField(max_length=100)
    user_key = models.CharField(max_length=200)
    org_id = models.CharField(max_length=100)
    auth_event_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client_id", "user_key", "org_id"], name="sandbox_xero_connection_unique"
            )
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.user_key}: {self.org_id}"


class BillcomUser(models.Model):
    username = models.CharField(max_length=200)
    password = models.CharField(max_length=200)
    organisation_id = models.CharField(max_length=100)
    organisation_name = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.username


class BillcomSession(models.Model):
    session_id = models.CharField(max_length=100, unique=True)
    user = models.ForeignKey(BillcomUser, on_delete=models.CASCADE)
    last_used_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.session_id[:8]


class RequestLogEntry(models.Model):
    provider = models.CharField(max_length=20)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    summary = models.CharField(max_length=500, blank=True)
    status = models.PositiveSmallIntegerField(default=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.provider} {self.method} {self.path}"


class RequestLogOrg(models.Model):
    """Which provider organisation a logged request concerned (a consent may name several): the
    sandbox page shows a request only to people whose accounts are connected to one of them. For the
    Web Connector the "organisation" is the Web Connector user name (one per QuickBooks Desktop
    connection), because every sandbox run opens the same pretend company file."""

    entry = models.ForeignKey(RequestLogEntry, on_delete=models.CASCADE, related_name="orgs")
    org_id = models.CharField(max_length=200, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entry", "org_id"], name="sandbox_log_org_unique")]

    def __str__(self) -> str:
        return self.org_id


class SandboxBill(models.Model):
    """A document a sandboxed provider received and created: a Xero invoice or credit note, a QuickBooks
    Online Bill / VendorCredit / Purchase / Invoice, a Bill.com bill, a QuickBooks Desktop BillAdd /
    VendorCreditAdd / InvoiceAdd. What /sandbox/ lists per organisation: the supplier (or customer),
    number, date, total and the key the request came with (Xero Idempotency-Key, QuickBooks Online
    requestid, qbXML requestID; "" where the provider takes none, as Bill.com). Not unique by key:
    Xero forgets a key after 6 minutes, and Bill.com has none, so a resend can make a second one; a
    test counting duplicates counts these rows."""

    provider = models.CharField(max_length=20)
    org_id = models.CharField(max_length=100)
    bill_id = models.CharField(max_length=100, unique=True)
    # The document type as the provider names it (ACCPAY, ACCPAYCREDIT, ACCREC, Bill, VendorCredit,
    # Purchase, Invoice, bill, BillAdd, ...).
    kind = models.CharField(max_length=30, blank=True)
    supplier = models.CharField(max_length=300, blank=True)
    number = models.CharField(max_length=255, blank=True)
    date = models.DateField(null=True, blank=True)
    total = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    status = models.CharField(max_length=20, blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["provider", "org_id", "number"], name="sandbox_bill_number")]

    def __str__(self) -> str:
        return f"{self.provider} bill {self.bill_id}"


class SandboxListEntry(models.Model):
    """One entry of a sandbox organisation's lists (sandbox/listdata.py): an account, a tax rate or a
    supplier (Xero contact, QuickBooks or Bill.com vendor). `status` as the provider names it (Xero
    ACTIVE/ARCHIVED/DELETED; QuickBooks and Bill.com keep "ACTIVE"/"ARCHIVED" for Active=false /
    archived=true); `data` the provider-specific fields; `updated_at` what incremental reads filter on."""

    provider = models.CharField(max_length=20)
    org_id = models.CharField(max_length=100)
    kind = models.CharField(max_length=10)
    entry_id = models.CharField(max_length=100)
    code = models.CharField(max_length=50, blank=True)
    name = models.CharField(max_length=300)
    status = models.CharField(max_length=20, default="ACTIVE")
    data = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    # A create's idempotency key (Xero Idempotency-Key, QuickBooks requestid): a retry gets this entry.
    idempotency_key = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["provider", "org_id", "kind", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "org_id", "kind", "entry_id"], name="sandbox_list_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["provider", "org_id", "kind", "updated_at"], name="sandbox_list_changed")
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.kind} {self.name}"


class SandboxClock(models.Model):
    """The sandbox's clock (sandbox/clock.py), one row when set: sandbox time runs `speed` times as fast
    as real time from (real_anchor, sandbox_anchor). Kept in the database so every process serving the
    sandbox (gunicorn's workers) reads the same time."""

    speed = models.FloatField(default=1.0)
    real_anchor = models.DateTimeField()
    sandbox_anchor = models.DateTimeField()

    def __str__(self) -> str:
        return f"sandbox clock ×{self.speed}"


class SandboxApiCall(models.Model):
    """One API call a rate-limited sandbox provider is serving or served (Xero's limits per
    organisation: calls a minute, a day, and at once), in sandbox time. In the database, so the limits
    hold across processes."""

    provider = models.CharField(max_length=20)
    org_id = models.CharField(max_length=100)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["provider", "org_id", "started_at"], name="sandbox_call_window")]

    def __str__(self) -> str:
        return f"{self.provider} {self.org_id} {self.started_at}"


class SandboxIdempotentAnswer(models.Model):
    """The answer a provider keeps for an idempotency key (Xero `Idempotency-Key`, per app, for 6
    minutes; QuickBooks Online `requestid`, per company): a repeat of the key gets this answer back
    instead of a second create. `fingerprint` identifies the request it answered (method, path, body)."""

    provider = models.CharField(max_length=20)
    scope = models.CharField(max_length=100)
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["provider", "scope", "key"], name="sandbox_idempotent_key")]

    def __str__(self) -> str:
        return f"{self.provider} {self.key}"


class SandboxAttachment(models.Model):
    """A file a sandboxed provider received for one of its documents (a Xero invoice or credit note, a
    QuickBooks Online Bill/VendorCredit/Purchase/Invoice, a Bill.com bill): listed on /sandbox/ beside
    its bill with its name, size and type. `attachment_id` is the provider's (Xero AttachmentID,
    QuickBooks Attachable Id, Bill.com document id); `key` what the request came with (Xero
    Idempotency-Key, QuickBooks requestid; "" for Bill.com, which takes none)."""

    bill = models.ForeignKey(SandboxBill, on_delete=models.CASCADE, related_name="attachments")
    attachment_id = models.CharField(max_length=100, unique=True)
    file_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.file_name} on {self.bill_id}"

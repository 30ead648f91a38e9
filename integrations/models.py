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

"""Connections between a Business account and accounting software, and the account's defaults.

Database guarantees (not only Python checks):
- each provider at most once per account (`connection_unique_provider`); reconnecting reuses the row,
  so its settings and the rules naming it survive a disconnect;
- at most one live main connection per account (`connection_one_live_main`).
The only code that changes `status` is integrations/services.py.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_scopes import ScopedManager

from accounts.models import Account


class Provider(models.TextChoices):
    XERO = "xero", "Xero"
    QBO = "qbo", "QuickBooks Online"
    QBD = "qbd", "QuickBooks Desktop"
    BILLCOM = "billcom", "Bill.com"
    APPROVALMAX = "approvalmax", "ApprovalMax"


MAIN_PROVIDERS = frozenset({Provider.XERO, Provider.QBO, Provider.QBD})
ADDITIONAL_PROVIDERS = frozenset({Provider.BILLCOM, Provider.APPROVALMAX})


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
    provider = models.CharField(max_length=20, choices=Provider.choices)
    # Denormalised from the provider so the database can enforce one live main per account.
    is_main = models.BooleanField()
    status = models.CharField(
        max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.PENDING
    )
    # The organisation on the other side: Xero tenant id, QBO realmId, Bill.com org id,
    # ApprovalMax organisation id, QuickBooks Desktop company file.
    external_id = models.CharField(max_length=200, blank=True)
    external_name = models.CharField(max_length=200, blank=True)
    # Encrypted JSON (integrations/crypto.py): tokens, session ids, Web Connector password hash.
    credentials = models.TextField(blank=True)
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
            models.CheckConstraint(
                condition=Q(is_main=True, provider__in=["xero", "qbo", "qbd"])
                | Q(is_main=False, provider__in=["billcom", "approvalmax"]),
                name="connection_is_main_matches_provider",
            ),
        ]
        ordering = ["-is_main", "provider"]

    def __str__(self) -> str:
        return self.get_provider_display()

    def save(self, *args, **kwargs):
        self.is_main = self.provider in MAIN_PROVIDERS
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

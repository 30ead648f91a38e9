"""Users, Business accounts (the tenants), practices and their roles.

Tenant-owned rows carry `account` and use `django_scopes.ScopedManager(account="account")`: a query
on them outside `with scope(account=...)` raises ScopeError instead of leaking another tenant's rows.
The tenancy middleware (accounts/tenancy.py) opens that scope for every page under /a/<account>/.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django_scopes import ScopedManager


def normalize_login(email: str) -> str:
    """The one spelling of a login: what is stored, what sign-in looks up, and what sign-in
    throttling counts failures against (accounts/throttling.py). Sign-in matches it exactly, never
    case-insensitively in the database: PostgreSQL's case folding differs from Python's (it takes
    "ſ" for "s"), so an odd spelling would reach the login under a count of its own."""
    return email.strip().lower()


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=normalize_login(self.normalize_email(email)), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, username: str) -> User:
        return self.get(email=normalize_login(username))


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.full_name or self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_login(self.email)  # the Django admin's forms too

    @property
    def display_name(self) -> str:
        return self.full_name or self.email


MONEY_LOCALES = [
    ("en-GB", "English (United Kingdom)"),
    ("en-US", "English (United States)"),
    ("en-IE", "English (Ireland)"),
    ("en-AU", "English (Australia)"),
    ("en-CA", "English (Canada)"),
    ("de-DE", "Deutsch (Deutschland)"),
    ("fr-FR", "Français (France)"),
    ("nl-NL", "Nederlands (Nederland)"),
    ("es-ES", "Español (España)"),
]


class Account(models.Model):
    """A Business account: the tenant. Everything a business owns hangs off one of these."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_accounts"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # How the account reads money: "£1,608.31" (en-GB, the default), "$1,608.31" (en-US), "1.608,31 €"
    # (de-DE). Each amount keeps its own currency; only the way it is written follows the locale.
    locale = models.CharField(max_length=10, choices=MONEY_LOCALES, default="en-GB")
    # "Standard users may publish" (the Users page): off by default; Admins and practice users always
    # may (accounts/permissions.py, "items.publish").
    standard_users_may_publish = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(Lower("name"), name="account_name_lower_idx")]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    STANDARD = "standard", "Standard user"


class Membership(models.Model):
    """A user's role inside a Business account."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.STANDARD)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(account="account")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "user"], name="membership_unique_user")]
        ordering = ["user__email"]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()} of {self.account}"


class Practice(models.Model):
    """An accounting or bookkeeping firm. Its clients are Business accounts."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    clients = models.ManyToManyField(Account, related_name="practices", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PracticeRole(models.TextChoices):
    PRACTICE_ADMIN = "practice_admin", "Practice admin"
    BOOKKEEPER = "bookkeeper", "Bookkeeper"


class PracticeMembership(models.Model):
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="practice_memberships"
    )
    role = models.CharField(max_length=20, choices=PracticeRole.choices, default=PracticeRole.BOOKKEEPER)
    # Bookkeepers open only the clients assigned to them; practice admins open all clients.
    assigned_clients = models.ManyToManyField(Account, related_name="assigned_bookkeepers", blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["practice", "user"], name="practice_membership_unique")
        ]
        ordering = ["user__email"]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()} at {self.practice}"


class ActivityEntry(models.Model):
    """The account's activity log: who did what, when, from what to what."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="activity")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=60)
    summary = models.CharField(max_length=500)
    before = models.CharField(max_length=200, blank=True)
    after = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = ScopedManager(account="account")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"], name="activity_account_time")]

    def __str__(self) -> str:
        return self.summary


class Invitation(models.Model):
    """An invitation to join a Business account, sent by e-mail. The only way a person becomes a user
    of an account: nobody but the owner of the mailbox ever chooses or sees their password.

    The link carries a random token; only its SHA-256 is stored, so the database alone cannot be used
    to accept an invitation. Resending replaces the token (the old link stops working) and restarts
    the expiry. Accepting consumes the row with one conditional UPDATE (see accounts/invitations.py),
    so a link opened twice at once joins once.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()  # stored lower-case
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.STANDARD)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(account="account")

    class Meta:
        constraints = [
            # One open invitation per person and account: "Resend" renews it instead of adding another.
            models.UniqueConstraint(
                fields=["account", "email"],
                condition=models.Q(accepted_at__isnull=True, cancelled_at__isnull=True),
                name="invitation_one_open_per_email",
            )
        ]
        ordering = ["email"]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.account}"

    @property
    def is_open(self) -> bool:
        """Neither accepted nor cancelled (it may still have expired)."""
        return self.accepted_at is None and self.cancelled_at is None

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

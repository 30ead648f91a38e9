"""The sandbox's fixed demo data: clients, organisations and Bill.com users (shown on /sandbox/)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations import catalog

from .models import (
    AuthorizationCode,
    BillcomUser,
    IssuedToken,
    SandboxClient,
    SandboxOrganisation,
    XeroConnection,
)

ACCESS_TOKEN_LIFE = timedelta(minutes=30)

# --- Bill.com's rules (docs/providers.md, "Bill.com") -------------------------------------------------
# Sessions end after 35 idle minutes (https://developer.bill.com/reference/login).
BILLCOM_IDLE_LIFE = timedelta(minutes=35)
# "The API login (POST /v3/login) rate limit is 200 per developer key per hour"; 3 requests at once per
# developer key and organisation (https://developer.bill.com/docs/api-rate-limits). Tests lower them.
BILLCOM_LOGINS_PER_HOUR = 200
BILLCOM_CONCURRENT_REQUESTS = 3
# Error codes (https://developer.bill.com/docs/common-api-error-codes, /docs/faq, /docs/api-rate-limits).
BILLCOM_WRONG_SIGN_IN = "BDC_1101"
BILLCOM_BAD_DEV_KEY = "BDC_1102"
BILLCOM_SESSION_INVALID = "BDC_1109"
BILLCOM_HOURLY_LIMIT = "BDC_1144"
BILLCOM_CONCURRENCY_LIMIT = "BDC_1322"
# The developer key the sandbox's Bill.com issued. None: the one this server is configured with
# (BILLCOM_DEV_KEY), so it accepts what we send; a test sets another to play a revoked or mistyped key.
BILLCOM_ISSUED_DEV_KEY: str | None = None


def billcom_dev_key() -> str:
    return BILLCOM_ISSUED_DEV_KEY if BILLCOM_ISSUED_DEV_KEY is not None else settings.BILLCOM_DEV_KEY


# How long an authorisation code may wait before it is exchanged.
# - ApprovalMax documents 5 minutes ("expiring 5 minutes after it was issued").
# - Xero: not found in Xero's stored documentation (its troubleshooting page only says a code can be
#   "incorrect, expired or has already been used"). Xero's identity service is IdentityServer
#   (/connect/authorize, /connect/token, /connect/revocation), whose default AuthorizationCodeLifetime
#   is 300 seconds; 5 minutes is kept, and docs/providers.md says so.
# - QuickBooks Online: not documented either; RFC 6749 §4.1.2 recommends at most 10 minutes.
CODE_LIVES = {"xero": timedelta(minutes=5), "approvalmax": timedelta(minutes=5), "qbo": timedelta(minutes=10)}

# Intuit: refresh tokens have a rolling ~100-day life (x_refresh_token_expires_in) and, since the
# November 2025 policy, a five-year maximum (x_refresh_token_hard_expires_in, on request).
QBO_REFRESH_LIFE = timedelta(days=100)
QBO_REFRESH_HARD_LIFE = timedelta(days=5 * 365)

# The scopes the sandbox's Xero app may ask for: an app created on or after 2 March 2026 gets the
# granular accounting scopes (https://developer.xero.com/faq/granular-scopes), not
# accounting.transactions / accounting.reports.read. Anything else is "an invalid scope" (Xero shows an
# error page, https://developer.xero.com/documentation/oauth2/troubleshooting).
_XERO_GRANULAR = (
    "accounting.invoices",
    "accounting.payments",
    "accounting.banktransactions",
    "accounting.manualjournals",
    "accounting.contacts",
    "accounting.settings",
    "accounting.attachments",
    "accounting.budgets",
)
XERO_SCOPES = frozenset(
    {"openid", "profile", "email", "offline_access"}
    | set(_XERO_GRANULAR)
    | {f"{s}.read" for s in _XERO_GRANULAR}
)

# The registry's labels; for QuickBooks Desktop the sandbox plays the customer's Web Connector.
PROVIDER_LABELS = {info.key: info.label for info in catalog.all_providers()} | {
    "qbd": "QuickBooks Desktop (Web Connector)"
}

ORGANISATIONS = [
    ("xero", "3f1e8c2a-6b0d-4c59-9a51-0c1d2e3f4a01", "Acme Ltd (Demo)", ""),
    ("xero", "3f1e8c2a-6b0d-4c59-9a51-0c1d2e3f4a02", "Globex Holdings (Demo)", ""),
    ("xero", "3f1e8c2a-6b0d-4c59-9a51-0c1d2e3f4a03", "Demo Company (UK)", ""),
    ("xero", "3f1e8c2a-6b0d-4c59-9a51-0c1d2e3f4a04", "Initech (Demo)", ""),
    ("qbo", "9341453000000001", "Sandbox Company US", ""),
    ("qbo", "9341453000000002", "Globex Trading (QuickBooks Demo)", ""),
    ("qbo", "9341453000000003", "Initech (QuickBooks Demo)", ""),
    ("approvalmax", "a7d0b1c2-0000-4000-8000-000000000001", "Acme Approvals", "Xero"),
    ("approvalmax", "a7d0b1c2-0000-4000-8000-000000000002", "Globex Approvals", "QBooks"),
    ("approvalmax", "a7d0b1c2-0000-4000-8000-000000000003", "Draft Organisation", ""),
    ("approvalmax", "a7d0b1c2-0000-4000-8000-000000000004", "Initech Approvals", "Xero"),
]
# Who may connect them: the sandbox's Xero, Intuit and ApprovalMax users (sandbox/users.py).

BILLCOM_USERS = [
    ("accounts@acme.test", "billcom-demo-2026", "00801ACMEDEMO01", "Acme Ltd (Bill.com)"),
    ("ap@globex.test", "billcom-demo-2026", "00801GLOBEXDM02", "Globex Inc (Bill.com)"),
]

# The demo account (slug) each sandbox Bill.com sign-in is meant for: the account's Bill.com page and
# /sandbox/ show a sign-in only to people who can open that account.
BILLCOM_USER_ACCOUNTS = {
    "accounts@acme.test": "acme",
    "ap@globex.test": "globex",
}


def billcom_users_for(account_slugs: set[str] | frozenset[str]) -> list[tuple[str, str, str, str]]:
    """The sandbox Bill.com sign-ins (user name, password, organisation id, name) meant for these accounts."""
    return [u for u in BILLCOM_USERS if BILLCOM_USER_ACCOUNTS.get(u[0]) in account_slugs]


def clients() -> list[tuple[str, str, str]]:
    """(provider, client id, secret) as configured, so the sandbox accepts exactly what we send."""
    return [
        (
            info.key,
            getattr(settings, f"{info.settings_prefix}_CLIENT_ID", ""),
            getattr(settings, f"{info.settings_prefix}_CLIENT_SECRET", ""),
        )
        for info in catalog.of_kind("oauth")
    ]


@transaction.atomic
def ensure_seeded() -> None:
    """Create the fixed data if missing (tests flush tables, so this runs lazily, not in a migration)."""
    # Every fixed organisation, by id (not the per-account QuickBooks Desktop company files a Web
    # Connector run adds, which may come first, e.g. from `manage.py run_web_connector`; and a database
    # seeded before an organisation was added to the list gets it too).
    fixed = SandboxOrganisation.objects.filter(org_id__in=[o[1] for o in ORGANISATIONS]).count()
    if fixed == len(ORGANISATIONS) and SandboxClient.objects.exists():
        return
    for provider, client_id, secret in clients():
        if client_id:
            SandboxClient.objects.update_or_create(
                client_id=client_id, defaults={"provider": provider, "client_secret": secret}
            )
    for provider, org_id, name, linked in ORGANISATIONS:
        SandboxOrganisation.objects.get_or_create(
            provider=provider, org_id=org_id, defaults={"name": name, "linked_to": linked}
        )
    for username, password, org_id, org_name in BILLCOM_USERS:
        BillcomUser.objects.get_or_create(
            username=username,
            organisation_id=org_id,
            defaults={"password": password, "organisation_name": org_name},
        )


def code_life(provider: str) -> timedelta:
    return CODE_LIVES.get(provider, timedelta(minutes=10))


def default_scope(provider: str) -> str:
    """What our own adapter asks for: the scope of tokens issued without a consent (tests, seed_demo)."""
    from integrations.providers import oauth_provider

    client = oauth_provider(provider)
    return client.scope if client is not None else ""


def connect_xero_tenants(*, client_id: str, user_key: str, org_ids: list[str], auth_event_id: str) -> None:
    """A consent: each chosen tenant gets (or, consented again, updates) the user's connection."""
    now = timezone.now()
    for org_id in org_ids:
        connection, created = XeroConnection.objects.get_or_create(
            client_id=client_id,
            user_key=user_key,
            org_id=org_id,
            defaults={"connection_id": str(uuid.uuid4()), "auth_event_id": auth_event_id},
        )
        if not created:
            connection.auth_event_id = auth_event_id
            connection.updated_at = now
            connection.save(update_fields=["auth_event_id", "updated_at"])


def record_consent(
    *,
    provider: str,
    client_id: str,
    redirect_uri: str,
    code_challenge: str,
    org_ids: list[str],
    scope: str,
    user_key: str,
    **fields,
) -> AuthorizationCode:
    """The user allowed access: a one-time code for the consent (its own auth event id). Xero connects
    the chosen tenants at this point, before any code exchange."""
    code = AuthorizationCode.objects.create(
        code=fields.pop("code", None) or secrets.token_urlsafe(32),
        provider=provider,
        client_id=client_id,
        redirect_uri=redirect_uri,
        code_challenge=code_challenge,
        org_ids=org_ids,
        scope=scope,
        user_key=user_key,
        auth_event_id=str(uuid.uuid4()),
        **fields,
    )
    if provider == "xero":
        connect_xero_tenants(
            client_id=client_id, user_key=user_key, org_ids=org_ids, auth_event_id=code.auth_event_id
        )
    return code


def xero_access_token(*, client_id: str, user_key: str, auth_event_id: str, scope: str, expires) -> str:
    """A JWT shaped like Xero's access tokens (claims as Xero issues them: xero_userid,
    authentication_event_id, scope as a list, ...), HS256-signed with a key of the sandbox's own."""

    def part(value: dict) -> str:
        return (
            base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).rstrip(b"=").decode()
        )

    now = int(timezone.now().timestamp())
    claims = {
        "nbf": now,
        "exp": int(expires.timestamp()),
        "iss": f"{settings.SANDBOX_BASE_URL}/xero/identity",
        "aud": f"{settings.SANDBOX_BASE_URL}/xero/identity/resources",
        "client_id": client_id,
        "sub": hashlib.sha256(user_key.encode()).hexdigest()[:32],
        "auth_time": now,
        "xero_userid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-xero-user-{user_key}")),
        "global_session_id": secrets.token_hex(16),
        "jti": secrets.token_hex(16),
        "authentication_event_id": auth_event_id,
        "scope": scope.split(),
    }
    signing_input = f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}"
    key = hashlib.sha256(f"sandbox-xero-jwt:{settings.SECRET_KEY}".encode()).digest()
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def issue_tokens(
    *,
    provider: str,
    client_id: str,
    org_ids: list[str],
    code=None,
    previous: IssuedToken | None = None,
    scope: str | None = None,
    user_key: str = "sandbox-user",
) -> IssuedToken:
    """Tokens for a new grant (from `code`, or, without one, as if `user_key` had just consented to
    `org_ids`: tests and seed_demo), or the next tokens of `previous`'s grant (a refresh)."""
    if previous is not None:
        grant = {
            "grant_id": previous.grant_id,
            "grant_started_at": previous.grant_started_at,
            "user_key": previous.user_key,
            "auth_event_id": previous.auth_event_id,
            "scope": previous.scope if scope is None else scope,
            "code": previous.code,
        }
    elif code is not None:
        grant = {
            "grant_id": str(uuid.uuid4()),
            "grant_started_at": timezone.now(),
            "user_key": code.user_key,
            "auth_event_id": code.auth_event_id,
            "scope": code.scope,
            "code": code,
        }
    else:
        grant = {
            "grant_id": str(uuid.uuid4()),
            "grant_started_at": timezone.now(),
            "user_key": user_key,
            "auth_event_id": str(uuid.uuid4()),
            "scope": default_scope(provider) if scope is None else scope,
            "code": None,
        }
        if provider == "xero":
            connect_xero_tenants(
                client_id=client_id, user_key=user_key, org_ids=org_ids, auth_event_id=grant["auth_event_id"]
            )
    expires = timezone.now() + ACCESS_TOKEN_LIFE
    access = (
        xero_access_token(
            client_id=client_id,
            user_key=grant["user_key"],
            auth_event_id=grant["auth_event_id"],
            scope=grant["scope"],
            expires=expires,
        )
        if provider == "xero"
        else secrets.token_urlsafe(32)
    )
    return IssuedToken.objects.create(
        provider=provider,
        client_id=client_id,
        access_token=access,
        refresh_token=secrets.token_urlsafe(32),
        org_ids=org_ids,
        access_expires_at=expires,
        **grant,
    )

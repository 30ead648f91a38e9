"""The OAuth connect flow's in-between state, kept in the database (integrations.OAuthState) so that each
step can be taken exactly once, even when the same request arrives twice at the same moment.

Why not the session: two deliveries of one callback both read the session before either saves it,
so both "popped" the state and both exchanged the code (the provider then revoked the tokens of the
connection that looked Active). Here a step is consumed by one conditional DELETE: both requests may
find the row, only one DELETE removes it, and only that request goes on.

These rows are the flow's plumbing, as the session entries they replace were: writing them is not a
change to the account (no activity row, not in services.py). Connections still change only through
integrations/services.py.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import Account

from .models import OAuthStage, OAuthState

LIFE = timedelta(minutes=10)  # the consent screen and the organisation choice each get ten minutes
MAX_PER_BROWSER = 10  # a handful of flows in progress (several tabs) is normal; more is abandoned clutter


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _browser(request: HttpRequest) -> str:
    """The session, as a hash: a session key is a secret (it signs the user in), never stored as is."""
    if request.session.session_key is None:
        request.session.save()  # a signed-in user always has one; this only makes sure
    return _digest(request.session.session_key)


def _clear_expired() -> None:
    OAuthState.objects.filter(expires_at__lte=timezone.now()).delete()


def new_secrets() -> tuple[str, str]:
    """A fresh `state` and PKCE `code_verifier`."""
    return secrets.token_urlsafe(32), secrets.token_urlsafe(64)


def remember(request: HttpRequest, *, account: Account, provider: str, state: str, verifier: str) -> None:
    """The user is leaving for the provider's consent screen with this `state`."""
    browser = _browser(request)
    with transaction.atomic():
        _clear_expired()
        waiting = OAuthState.objects.filter(user=request.user, session_hash=browser, stage=OAuthStage.CONSENT)
        oldest = list(
            waiting.order_by("-created_at", "-pk").values_list("pk", flat=True)[MAX_PER_BROWSER - 1 :]
        )
        OAuthState.objects.filter(pk__in=oldest).delete()
        OAuthState.objects.create(
            state_hash=_digest(state),
            session_hash=browser,
            stage=OAuthStage.CONSENT,
            user=request.user,
            account=account,
            provider=provider,
            secrets={"verifier": verifier},
            expires_at=timezone.now() + LIFE,
        )


def consume(request: HttpRequest, *, state: str) -> OAuthState | None:
    """The flow this callback's `state` started, taken out for good; None when there is none to take:
    forged, expired, started in another browser or by another user, or already used — maybe a moment
    ago by the same callback delivered twice. The caller still checks the provider and the account."""
    _clear_expired()
    if not state:
        return None
    row = OAuthState.objects.filter(
        state_hash=_digest(state), stage=OAuthStage.CONSENT, user=request.user, session_hash=_browser(request)
    ).first()
    if row is None:
        return None
    # The one conditional DELETE that decides: of two requests that both found the row, exactly one
    # removes it (PostgreSQL makes the second wait for the first, then finds nothing to delete).
    deleted, _ = OAuthState.objects.filter(pk=row.pk).delete()
    if deleted != 1 or row.expires_at <= timezone.now():
        return None
    return row


def hold_for_choice(
    request: HttpRequest, *, account: Account, provider: str, tokens: dict, organisations: list[dict]
) -> None:
    """The provider answered with several organisations: keep its tokens (encrypted) until the user
    chooses one. A newer consent for the same account and provider replaces an older one."""
    browser = _browser(request)
    with transaction.atomic():
        _choosing(request, account=account, provider=provider, browser=browser).delete()
        OAuthState.objects.create(
            session_hash=browser,
            stage=OAuthStage.CHOOSING,
            user=request.user,
            account=account,
            provider=provider,
            secrets={"tokens": tokens},
            organisations=organisations,
            expires_at=timezone.now() + LIFE,
        )


def _choosing(request: HttpRequest, *, account: Account, provider: str, browser: str):
    return OAuthState.objects.filter(
        stage=OAuthStage.CHOOSING, user=request.user, session_hash=browser, account=account, provider=provider
    )


def waiting_choice(request: HttpRequest, *, account: Account, provider: str) -> OAuthState | None:
    """The organisation choice this user's browser is in the middle of, if it has not expired."""
    rows = _choosing(request, account=account, provider=provider, browser=_browser(request))
    row = rows.order_by("-created_at", "-pk").first()
    if row is not None and row.expires_at <= timezone.now():
        rows.filter(pk=row.pk).delete()
        return None
    return row


def take_choice(row: OAuthState) -> bool:
    """Consume the waiting choice: True for the one request whose DELETE removed it."""
    deleted, _ = OAuthState.objects.filter(pk=row.pk).delete()
    return deleted == 1

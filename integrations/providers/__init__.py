"""Provider protocol clients: one module per provider. The same code talks to the sandbox and to the
real providers; only the endpoint URLs and client credentials (settings) differ."""

from __future__ import annotations

from .base import (
    LINKED_UNKNOWN,
    GrantEnded,
    GrantRevoked,
    LoginFailed,
    NotConfigured,
    OAuthProvider,
    Organisation,
    ProviderError,
    ProviderMisconfigured,
    ProviderUnavailable,
    RateLimited,
    TokenSet,
)


def oauth_provider(key: str) -> OAuthProvider | None:
    """The OAuth client for `key` (Xero, QuickBooks Online, ApprovalMax), else None."""
    from .approvalmax import ApprovalMax
    from .qbo import QuickBooksOnline
    from .xero import Xero

    return {"xero": Xero, "qbo": QuickBooksOnline, "approvalmax": ApprovalMax}.get(key, lambda: None)()


__all__ = [
    "LINKED_UNKNOWN",
    "GrantEnded",
    "GrantRevoked",
    "LoginFailed",
    "ProviderMisconfigured",
    "NotConfigured",
    "OAuthProvider",
    "Organisation",
    "ProviderError",
    "ProviderUnavailable",
    "RateLimited",
    "TokenSet",
    "oauth_provider",
]

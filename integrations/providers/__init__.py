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
    ProviderRefused,
    ProviderUnavailable,
    RateLimited,
    TokenSet,
)


def oauth_provider(key: str) -> OAuthProvider | None:
    """The OAuth client of provider `key` (its registry entry's adapter), else None: not a provider, or
    one that does not connect with OAuth."""
    from integrations import catalog

    info = catalog.provider_info(key)
    if info is None or info.connect_kind != "oauth":
        return None
    return info.load_adapter()()


__all__ = [
    "LINKED_UNKNOWN",
    "GrantEnded",
    "GrantRevoked",
    "LoginFailed",
    "ProviderMisconfigured",
    "ProviderRefused",
    "NotConfigured",
    "OAuthProvider",
    "Organisation",
    "ProviderError",
    "ProviderUnavailable",
    "RateLimited",
    "TokenSet",
    "oauth_provider",
]

"""The registry of accounting software: every fact about a provider that the rest of the code needs, in
one entry per provider. Nothing else lists providers; everything that needs a list asks the registry.

An entry (`ProviderInfo`) says:
- `key` (the value stored in the database), `label` (what people read), `is_main` (main accounting
  software, or an additional integration that works alongside it);
- `connect_kind`: how it connects — "oauth" (OAuth 2.0 + PKCE, then the user picks an organisation),
  "login" (a user name and password relayed to the provider: Bill.com), "web_connector" (the customer's
  QuickBooks Web Connector calls us);
- `adapter`: the class (or module) that talks to the provider, as "module:Class" (or "module")
  imported only when used, or the object itself;
- `settings_prefix` and `settings`: the environment variables it reads (`<PREFIX>_<NAME>`), each with its
  default while the sandbox is on and with it off (dext_connect/settings.py defines them from here);
- `scopes` it asks for; `publishes`: the document types it takes (costs.models.ItemType values), each
  with what is created on the other side; `blurb` and `steps` for the connect pages.

Derived from it: the model choices of `Connection.provider` and `OAuthState.provider` (a callable, so
an entry registered at run time is a valid choice with its label), main/additional, the "Connect"
page's two lists and the sentences naming them, `providers.oauth_provider()`, the providers whose
tokens `refresh_tokens` refreshes (every "oauth" entry), the connect dispatch (by `connect_kind`), the
OAuth start page's steps, the provider settings and the CSP form-action origins, the sandbox's OAuth
clients, and the tests' constants.

Adding a provider (Sage, MYOB): one entry here, one adapter module in integrations/providers/, its
sandbox. `register()` adds an entry at run time (a plug-in, or a test: `with registered(info): ...`).

Decision — the database does not list providers. There used to be a CheckConstraint
`connection_is_main_matches_provider` naming the five keys. A constraint derived from the registry would
need a migration for every new provider (and made a provider registered at run time impossible to
save), so it was removed (migration 0004). What it guaranteed is kept:
- `is_main` is never set by hand: `Connection.save()` derives it from the registry, and refuses a
  provider the registry does not know (ValueError); the services refuse one with a DomainError first
  (`connect_precondition`). No code path writes `is_main` or `provider` with `update()`.
- The unique constraints stay in the database: each provider once per account
  (`connection_unique_provider`) and one live main per account (`connection_one_live_main`).

Entries are plain data: this module imports nothing from the apps, so settings.py can read the
provider settings from it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

CONNECT_KINDS = ("oauth", "login", "web_connector")

# Item types (costs.models.ItemType values) that only the main software may receive (PRODUCT.md:
# "Sales items can only be published to the main accounting software").
MAIN_ONLY_TYPES = frozenset({"sales_invoice"})

_KEY = re.compile(r"[a-z][a-z0-9_]{0,19}")  # fits Connection.provider (max_length=20)
_STRONG = re.compile(r"\*\*(.+?)\*\*")


@dataclass(frozen=True)
class ProviderSetting:
    """One environment variable, `<PREFIX>_<name>`, with its default while the sandbox plays the
    provider and with the sandbox off ("" means it must be set to offer the provider)."""

    name: str
    sandbox_default: str
    production_default: str = ""


@dataclass(frozen=True)
class ProviderInfo:
    key: str
    label: str
    is_main: bool
    connect_kind: str
    # The adapter, imported when first used: "package.module:Class" for a class, "package.module" for a
    # module of functions; or the object itself.
    adapter: str | type | Any
    settings_prefix: str = ""
    settings: tuple[ProviderSetting, ...] = ()
    scopes: tuple[str, ...] = ()
    # Item type -> what is created on the other side.
    publishes: Mapping[str, str] = field(default_factory=dict, hash=False)
    blurb: str = ""
    # The OAuth start page's steps; **text** is shown bold.
    steps: tuple[str, ...] = ()
    # An additional integration that works only through some main software (ApprovalMax connects to
    # Xero or QuickBooks Online itself): their keys. Empty: alongside any main software.
    works_with: tuple[str, ...] = ()
    # The lists the provider keeps (integrations/lists.py): the kinds of ListKind it can be asked for,
    # and how they are read — "api" (the adapter's read_list, over HTTP), "web_connector" (qbXML
    # queries queued for the Web Connector's next run) or "main" (it has none of its own: an item
    # routed to it chooses from the main software's lists, as ApprovalMax does).
    lists: tuple[str, ...] = ()
    lists_read: str = "api"
    # The module that attaches an item's document to the published bill (costs/attachments.py), or ""
    # when the software takes no attachments (QuickBooks Desktop) or has no bills of its own.
    attacher: str = ""

    @property
    def scope(self) -> str:
        """The scopes as OAuth sends them: space separated."""
        return " ".join(self.scopes)

    @property
    def setting_names(self) -> list[str]:
        return [f"{self.settings_prefix}_{s.name}" for s in self.settings]

    def works_with_names(self) -> str:
        """ "Xero or QuickBooks Online"."""
        return or_join([label_of(key) for key in self.works_with])

    def load_adapter(self) -> Any:
        """The adapter class (or module), imported now, not when the registry is."""
        if not isinstance(self.adapter, str):
            return self.adapter
        module, _, attribute = self.adapter.partition(":")
        return getattr(import_module(module), attribute) if attribute else import_module(module)

    def load_attacher(self) -> Any | None:
        """The attach module, imported now; None when the provider takes no attachments."""
        return import_module(self.attacher) if self.attacher else None

    def connect_steps(self) -> list[str]:
        """The steps as HTML: the text escaped, **bold** parts in <strong>."""
        from django.utils.html import escape
        from django.utils.safestring import mark_safe

        return [mark_safe(_STRONG.sub(r"<strong>\1</strong>", str(escape(step)))) for step in self.steps]


def _oauth_settings(
    slug: str,
    *,
    authorize: tuple[str, str],
    token: tuple[str, str],
    api: tuple[str, str],
    extra: tuple[ProviderSetting, ...] = (),
) -> tuple[ProviderSetting, ...]:
    """An OAuth app's client credentials (the sandbox's fixed ones by default; none in production) and
    its endpoints, each given as (with the sandbox, without it)."""
    return (
        ProviderSetting("CLIENT_ID", f"sandbox-{slug}-client"),
        ProviderSetting("CLIENT_SECRET", f"sandbox-{slug}-secret"),
        ProviderSetting("AUTHORIZE_URL", *authorize),
        ProviderSetting("TOKEN_URL", *token),
        *extra,
        ProviderSetting("API_URL", *api),
    )


XERO = ProviderInfo(
    key="xero",
    label="Xero",
    is_main=True,
    connect_kind="oauth",
    adapter="integrations.providers.xero:Xero",
    attacher="integrations.providers.xero_attach",
    settings_prefix="XERO",
    settings=_oauth_settings(
        "xero",
        authorize=(
            "{sandbox}/xero/identity/connect/authorize",
            "https://login.xero.com/identity/connect/authorize",
        ),
        token=("{sandbox}/xero/identity/connect/token", "https://identity.xero.com/connect/token"),
        extra=(
            ProviderSetting(
                "CONNECTIONS_URL", "{sandbox}/xero/connections", "https://api.xero.com/connections"
            ),
            # Revocation (XeroAPI/xero-python TokenApi.revoke_token_url): revokes the grant and removes
            # ALL the user's connections to the app; integrations/providers/xero.py says when it is called.
            ProviderSetting(
                "REVOKE_URL",
                "{sandbox}/xero/identity/connect/revocation",
                "https://identity.xero.com/connect/revocation",
            ),
            # Xero's web app, for a published document's deep link (Xero's "Deep link to Xero" guide).
            ProviderSetting("APP_URL", "{sandbox}/xero/go", "https://go.xero.com"),
        ),
        api=("{sandbox}/xero/api.xro/2.0", "https://api.xero.com/api.xro/2.0"),
    ),
    # Granular scopes: Xero apps created on or after 2 March 2026 cannot ask for accounting.transactions
    # (docs/providers.md, "Xero"). Publishing needs invoices (bills), contacts (suppliers), settings
    # (accounts, tax rates) and attachments (the document).
    scopes=(
        "offline_access",
        "accounting.invoices",
        "accounting.contacts",
        "accounting.settings",
        "accounting.attachments",
    ),
    publishes={
        "bill": "ACCPAY invoice (PUT /Invoices)",
        "receipt": "ACCPAY invoice (PUT /Invoices)",
        "expense_claim": "ACCPAY invoice (PUT /Invoices)",
        "credit_note": "ACCPAYCREDIT credit note (PUT /CreditNotes)",
        "sales_invoice": "ACCREC invoice (PUT /Invoices)",
    },
    blurb="Sign in to Xero, allow access, choose the organisation.",
    lists=("account", "tax_rate", "supplier"),
    steps=(
        "Sign in to Xero.",
        "Select **Allow access** for Dext Connect.",
        "Choose the organisation to connect: items publish to that organisation.",
    ),
)

QBO = ProviderInfo(
    key="qbo",
    label="QuickBooks Online",
    is_main=True,
    connect_kind="oauth",
    adapter="integrations.providers.qbo:QuickBooksOnline",
    attacher="integrations.providers.qbo_attach",
    settings_prefix="QBO",
    settings=_oauth_settings(
        "qbo",
        authorize=("{sandbox}/qbo/connect/oauth2", "https://appcenter.intuit.com/connect/oauth2"),
        token=(
            "{sandbox}/qbo/oauth2/v1/tokens/bearer",
            "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
        ),
        extra=(
            # Intuit's revoke endpoint (intuit/oauth-jsclient OAuthClient.revokeEndpoint; the same for
            # Intuit's own sandbox companies).
            ProviderSetting(
                "REVOKE_URL",
                "{sandbox}/qbo/v2/oauth2/tokens/revoke",
                "https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
            ),
            # QuickBooks Online's web app, for a published document's link (docs/providers.md says
            # where the form comes from; Intuit's sandbox companies use app.sandbox.qbo.intuit.com).
            ProviderSetting("APP_URL", "{sandbox}/qbo/app", "https://app.qbo.intuit.com/app"),
        ),
        api=("{sandbox}/qbo/v3", "https://quickbooks.api.intuit.com/v3"),
    ),
    scopes=("com.intuit.quickbooks.accounting",),
    publishes={
        "bill": "Bill",
        "receipt": "Purchase",
        "expense_claim": "Bill",
        "credit_note": "VendorCredit",
        "sales_invoice": "Invoice",
    },
    blurb="Sign in to Intuit and choose the company.",
    lists=("account", "tax_rate", "supplier"),
    steps=(
        "Sign in to Intuit.",
        "Choose the QuickBooks Online company and select **Allow access** (Connect).",
        "You come back here, connected to that company.",
    ),
)

QBD = ProviderInfo(
    key="qbd",
    label="QuickBooks Desktop",
    is_main=True,
    connect_kind="web_connector",
    adapter="integrations.providers.qbd",
    publishes={
        "bill": "BillAdd",
        "receipt": "BillAdd",
        "expense_claim": "BillAdd",
        "credit_note": "VendorCreditAdd",
        "sales_invoice": "InvoiceAdd",
    },
    blurb="Add our file to the QuickBooks Web Connector on the computer running QuickBooks.",
    lists=("account", "tax_rate", "supplier"),
    lists_read="web_connector",
)

BILLCOM = ProviderInfo(
    key="billcom",
    label="Bill.com",
    is_main=False,
    connect_kind="login",
    adapter="integrations.providers.billcom",
    attacher="integrations.providers.billcom_attach",
    settings_prefix="BILLCOM",
    settings=(
        ProviderSetting("API_URL", "{sandbox}/billcom/connect", "https://gateway.prod.bill.com/connect"),
        ProviderSetting("DEV_KEY", "sandbox-billcom-devkey"),
    ),
    publishes={
        "bill": "bill (POST /v3/bills)",
        "receipt": "bill (POST /v3/bills)",
        "expense_claim": "bill (POST /v3/bills)",
    },
    blurb="Sign in with your Bill.com user name, password and organisation ID.",
    # Bill.com keeps no tax rates: a Bill.com bill carries none (its accounting software does the tax).
    lists=("account", "supplier"),
)

APPROVALMAX = ProviderInfo(
    key="approvalmax",
    label="ApprovalMax",
    is_main=False,
    connect_kind="oauth",
    adapter="integrations.providers.approvalmax:ApprovalMax",
    settings_prefix="APPROVALMAX",
    settings=_oauth_settings(
        "approvalmax",
        authorize=(
            "{sandbox}/approvalmax/connect/authorize",
            "https://identity.approvalmax.com/connect/authorize",
        ),
        token=("{sandbox}/approvalmax/connect/token", "https://identity.approvalmax.com/connect/token"),
        api=("{sandbox}/approvalmax/api/v1", "https://public-api.approvalmax.com/api/v1"),
    ),
    # Only the documented scopes (docs/providers.md, "ApprovalMax"): no openid, nothing reads an id token.
    scopes=("offline_access", "https://www.approvalmax.com/scopes/public_api/read"),
    # PRODUCT.md: where ApprovalMax documents no bill create, the bill goes to the main software
    # awaiting approval (Xero SUBMITTED), where ApprovalMax picks it up (issue 10 decides).
    publishes={
        "bill": "bill awaiting approval in the main software, picked up by ApprovalMax",
        "receipt": "bill awaiting approval in the main software, picked up by ApprovalMax",
        "expense_claim": "bill awaiting approval in the main software, picked up by ApprovalMax",
    },
    works_with=("xero", "qbo"),
    blurb="Sign in to ApprovalMax and choose the organisation.",
    # ApprovalMax's public API documents no chart of accounts, tax rates or contacts of its own (only
    # /companies and the request documents): an item routed to it uses the main software's lists, which
    # are the ones ApprovalMax itself syncs from Xero or QuickBooks Online.
    lists_read="main",
    steps=(
        "Sign in to ApprovalMax.",
        "Select **Allow access** for Dext Connect.",
        "Choose the ApprovalMax organisation. It must itself be connected to Xero or QuickBooks Online.",
    ),
)


class Registry:
    """The providers, in the order pages list them (main software first)."""

    def __init__(self, entries: list[ProviderInfo]) -> None:
        self._entries: dict[str, ProviderInfo] = {}
        for info in entries:
            self.register(info)

    def register(self, info: ProviderInfo) -> None:
        """Add a provider. Refuses what the rest of the code could not handle."""
        if not _KEY.fullmatch(info.key):
            raise ValueError(f"Provider key {info.key!r}: lower-case letters, digits, _; at most 20.")
        if info.key in self._entries:
            raise ValueError(f"Provider {info.key!r} is already registered.")
        if info.connect_kind not in CONNECT_KINDS:
            raise ValueError(f"Provider {info.key!r}: connect kind must be one of {CONNECT_KINDS}.")
        if not info.is_main and MAIN_ONLY_TYPES & set(info.publishes):
            raise ValueError(
                f"Provider {info.key!r}: only main software publishes {sorted(MAIN_ONLY_TYPES)}."
            )
        if info.settings and not info.settings_prefix:
            raise ValueError(f"Provider {info.key!r}: settings need a settings_prefix.")
        if info.works_with and (
            info.is_main or not all(k in self._entries and self._entries[k].is_main for k in info.works_with)
        ):
            raise ValueError(f"Provider {info.key!r}: works_with names main software registered before it.")
        self._entries[info.key] = info

    def unregister(self, key: str) -> None:
        del self._entries[key]

    @contextmanager
    def registered(self, info: ProviderInfo) -> Iterator[ProviderInfo]:
        """`with registered(info):` the provider exists for the block only (tests, a trial plug-in)."""
        self.register(info)
        try:
            yield info
        finally:
            self.unregister(info.key)

    def get(self, key: str) -> ProviderInfo | None:
        return self._entries.get(key)

    def all(self) -> list[ProviderInfo]:
        return sorted(self._entries.values(), key=lambda info: not info.is_main)

    def main(self) -> list[ProviderInfo]:
        return [info for info in self.all() if info.is_main]

    def additional(self) -> list[ProviderInfo]:
        return [info for info in self.all() if not info.is_main]

    def of_kind(self, connect_kind: str) -> list[ProviderInfo]:
        return [info for info in self.all() if info.connect_kind == connect_kind]


registry = Registry([XERO, QBO, QBD, BILLCOM, APPROVALMAX])

# The module's interface: functions, so a provider registered at run time is in every answer.
provider_info = registry.get
register = registry.register
unregister = registry.unregister
registered = registry.registered
all_providers = registry.all
main = registry.main
additional = registry.additional
of_kind = registry.of_kind


def keys(infos: list[ProviderInfo] | None = None) -> list[str]:
    return [info.key for info in (registry.all() if infos is None else infos)]


def is_main(key: str) -> bool:
    info = registry.get(key)
    return info is not None and info.is_main


def oauth_keys() -> list[str]:
    """Providers with access tokens to refresh."""
    return keys(of_kind("oauth"))


def provider_choices() -> list[tuple[str, str]]:
    """The model choices (a callable: migrations keep the reference, not today's list)."""
    return [(info.key, info.label) for info in registry.all()]


def label_of(key: str) -> str:
    info = registry.get(key)
    return info.label if info is not None else key


def with_organisation(label: str, organisation: str) -> str:
    """How every page, message and activity line names a connection with its organisation: "Xero (Acme
    Ltd)". An organisation whose name has brackets of its own ("Acme Ltd (Demo)") is set off with a
    dash instead, "Xero – Acme Ltd (Demo)", never "Xero (Acme Ltd (Demo))". No organisation: the label."""
    if not organisation:
        return label
    if has_brackets(organisation):
        return f"{label} – {organisation}"
    return f"{label} ({organisation})"


def has_brackets(text: str) -> bool:
    return "(" in text or ")" in text


def or_join(labels: list[str]) -> str:
    """["Xero", "QuickBooks Online"] -> "Xero or QuickBooks Online"."""
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


# --- settings ----------------------------------------------------------------------------------------


def environment_settings(read: Callable[[str, str], str], *, sandbox: bool) -> dict[str, str]:
    """Every provider's settings, `{"XERO_CLIENT_ID": ..., ...}`: `read(name, default)` reads the
    environment (settings.py passes django-environ's `env.str`), the default depending on the sandbox."""
    return {
        f"{info.settings_prefix}_{s.name}": read(
            f"{info.settings_prefix}_{s.name}", s.sandbox_default if sandbox else s.production_default
        )
        for info in registry.all()
        for s in info.settings
    }


def authorize_origins(configured: Mapping[str, str]) -> list[str]:
    """The origins of the OAuth providers' authorize pages (their production ones, and any configured
    absolute URL), for the CSP form-action list: "Continue to Xero" posts to us and we redirect there."""
    origins = set()
    for info in of_kind("oauth"):
        name = f"{info.settings_prefix}_AUTHORIZE_URL"
        production = next((s.production_default for s in info.settings if s.name == "AUTHORIZE_URL"), "")
        for url in (production, configured.get(name, "")):
            if url.startswith("http"):
                origins.add("/".join(url.split("/")[:3]))
    return sorted(origins)

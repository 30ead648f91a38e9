"""The registry of providers (integrations/catalog.py) is the one list: every other list is derived from
it, and nothing else in the code lists providers."""

from __future__ import annotations

import ast
import re
from io import StringIO
from pathlib import Path

import environ
import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from costs.models import SALES_TYPES, ItemType
from integrations import catalog
from integrations.checks import provider_registry
from integrations.connect_views import FLOW_STARTS
from integrations.models import Connection, OAuthState
from integrations.providers import OAuthProvider, oauth_provider
from sandbox import data as sandbox_data
from sandbox import views as sandbox_views
from tests.factories import AccountFactory, ConnectionFactory

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


def test_the_providers_keep_their_database_values_labels_and_kinds():
    assert [(i.key, i.label, i.is_main, i.connect_kind) for i in catalog.all_providers()] == [
        ("xero", "Xero", True, "oauth"),
        ("qbo", "QuickBooks Online", True, "oauth"),
        ("qbd", "QuickBooks Desktop", True, "web_connector"),
        ("billcom", "Bill.com", False, "login"),
        ("approvalmax", "ApprovalMax", False, "oauth"),
    ]


def test_the_model_choices_are_the_registry():
    expected = [(i.key, i.label) for i in catalog.all_providers()]
    assert list(Connection._meta.get_field("provider").choices) == expected
    assert list(OAuthState._meta.get_field("provider").choices) == expected
    assert Connection(provider="qbd").get_provider_display() == "QuickBooks Desktop"


def test_main_and_additional_split_the_registry():
    main, additional = catalog.main(), catalog.additional()
    assert catalog.keys(main) == ["xero", "qbo", "qbd"]
    assert catalog.keys(additional) == ["billcom", "approvalmax"]
    assert all(catalog.is_main(k) for k in catalog.keys(main))
    assert not any(catalog.is_main(k) for k in catalog.keys(additional))


def test_the_oauth_clients_are_the_registry_oauth_entries():
    for info in catalog.all_providers():
        client = oauth_provider(info.key)
        if info.connect_kind == "oauth":
            assert type(client) is info.load_adapter()
            assert (client.key, client.label, client.prefix, client.scope) == (
                info.key,
                info.label,
                info.settings_prefix,
                " ".join(info.scopes),
            )
        else:
            assert client is None
    assert oauth_provider("nonesuch") is None


def test_oauth_adapters_repeat_no_fact_of_the_registry():
    """Label, settings prefix and scopes live in the entry only (a merge that puts them back on the
    adapter class would shadow the registry)."""
    for info in catalog.of_kind("oauth"):
        adapter = info.load_adapter()
        for cls in adapter.__mro__:
            if cls is OAuthProvider:
                break
            assert not {"label", "prefix", "scope", "scopes"} & set(vars(cls)), cls


def test_refresh_tokens_refreshes_exactly_the_oauth_providers():
    # One active connection of every provider (one account each: one live main per account), with a
    # token still valid: the command reports it without calling anyone.
    for info in catalog.all_providers():
        ConnectionFactory(
            account=AccountFactory(name=f"Account of {info.key}"),
            provider=info.key,
            credentials={"access_token": "a", "refresh_token": "r"},
            access_expires_at=timezone.now() + timezone.timedelta(hours=1),
        )
    out = StringIO()
    call_command("refresh_tokens", stdout=out)
    reported = {line.split(":")[0].removeprefix("Account of ") for line in out.getvalue().splitlines()}
    assert reported == set(catalog.oauth_keys()) == {"xero", "qbo", "approvalmax"}


def test_every_connect_kind_has_a_flow():
    assert set(FLOW_STARTS) == set(catalog.CONNECT_KINDS)


def test_the_sandbox_plays_the_registry_oauth_providers():
    assert sandbox_views.OAUTH_PROVIDERS == set(catalog.oauth_keys())
    assert [c[0] for c in sandbox_data.clients()] == catalog.oauth_keys()
    assert set(sandbox_data.PROVIDER_LABELS) == set(catalog.keys())


def test_the_sandbox_knows_the_oauth_client_of_a_provider_added_to_the_registry(settings):
    """A new OAuth provider's sandbox gets its client from the registry entry, not from another list."""
    settings.SAGE_CLIENT_ID, settings.SAGE_CLIENT_SECRET = "sandbox-sage-client", "sandbox-sage-secret"
    sage = catalog.ProviderInfo(
        key="sage", label="Sage", is_main=True, connect_kind="oauth", adapter=object, settings_prefix="SAGE"
    )
    with catalog.registered(sage):
        assert ("sage", "sandbox-sage-client", "sandbox-sage-secret") in sandbox_data.clients()


# Today's variables and defaults (README lists them): the registry must define exactly these.
SANDBOX_DEFAULTS = {
    "XERO_CLIENT_ID": "sandbox-xero-client",
    "XERO_CLIENT_SECRET": "sandbox-xero-secret",
    "XERO_AUTHORIZE_URL": "{sandbox}/xero/identity/connect/authorize",
    "XERO_TOKEN_URL": "{sandbox}/xero/identity/connect/token",
    "XERO_CONNECTIONS_URL": "{sandbox}/xero/connections",
    "XERO_REVOKE_URL": "{sandbox}/xero/identity/connect/revocation",
    "XERO_APP_URL": "{sandbox}/xero/go",
    "XERO_API_URL": "{sandbox}/xero/api.xro/2.0",
    "QBO_CLIENT_ID": "sandbox-qbo-client",
    "QBO_CLIENT_SECRET": "sandbox-qbo-secret",
    "QBO_AUTHORIZE_URL": "{sandbox}/qbo/connect/oauth2",
    "QBO_TOKEN_URL": "{sandbox}/qbo/oauth2/v1/tokens/bearer",
    "QBO_REVOKE_URL": "{sandbox}/qbo/v2/oauth2/tokens/revoke",
    "QBO_APP_URL": "{sandbox}/qbo/app",
    "QBO_API_URL": "{sandbox}/qbo/v3",
    "APPROVALMAX_CLIENT_ID": "sandbox-approvalmax-client",
    "APPROVALMAX_CLIENT_SECRET": "sandbox-approvalmax-secret",
    "APPROVALMAX_AUTHORIZE_URL": "{sandbox}/approvalmax/connect/authorize",
    "APPROVALMAX_TOKEN_URL": "{sandbox}/approvalmax/connect/token",
    "APPROVALMAX_API_URL": "{sandbox}/approvalmax/api/v1",
    "BILLCOM_API_URL": "{sandbox}/billcom/connect",
    "BILLCOM_DEV_KEY": "sandbox-billcom-devkey",
}
PRODUCTION_DEFAULTS = {
    "XERO_CLIENT_ID": "",
    "XERO_CLIENT_SECRET": "",
    "XERO_AUTHORIZE_URL": "https://login.xero.com/identity/connect/authorize",
    "XERO_TOKEN_URL": "https://identity.xero.com/connect/token",
    "XERO_CONNECTIONS_URL": "https://api.xero.com/connections",
    "XERO_REVOKE_URL": "https://identity.xero.com/connect/revocation",
    "XERO_APP_URL": "https://go.xero.com",
    "XERO_API_URL": "https://api.xero.com/api.xro/2.0",
    "QBO_CLIENT_ID": "",
    "QBO_CLIENT_SECRET": "",
    "QBO_AUTHORIZE_URL": "https://appcenter.intuit.com/connect/oauth2",
    "QBO_TOKEN_URL": "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
    "QBO_REVOKE_URL": "https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
    "QBO_APP_URL": "https://app.qbo.intuit.com/app",
    "QBO_API_URL": "https://quickbooks.api.intuit.com/v3",
    "APPROVALMAX_CLIENT_ID": "",
    "APPROVALMAX_CLIENT_SECRET": "",
    "APPROVALMAX_AUTHORIZE_URL": "https://identity.approvalmax.com/connect/authorize",
    "APPROVALMAX_TOKEN_URL": "https://identity.approvalmax.com/connect/token",
    "APPROVALMAX_API_URL": "https://public-api.approvalmax.com/api/v1",
    "BILLCOM_API_URL": "https://gateway.prod.bill.com/connect",
    "BILLCOM_DEV_KEY": "",
}


@pytest.mark.parametrize("sandbox, expected", [(True, SANDBOX_DEFAULTS), (False, PRODUCTION_DEFAULTS)])
def test_provider_settings_keep_their_names_and_defaults(sandbox, expected):
    asked = []

    def read(name: str, default: str) -> str:
        asked.append(name)
        return default

    assert catalog.environment_settings(read, sandbox=sandbox) == expected
    assert sorted(asked) == sorted(expected)


def test_provider_settings_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("XERO_CLIENT_ID", "our-xero-app")
    values = catalog.environment_settings(lambda n, d: environ.Env().str(n, default=d), sandbox=False)
    assert values["XERO_CLIENT_ID"] == "our-xero-app"


def test_settings_define_every_provider_setting_and_the_docs_list_it():
    readme = (ROOT / "README.md").read_text()
    deployers = (ROOT / "docs" / "providers.md").read_text()
    for info in catalog.all_providers():
        for name in info.setting_names:
            assert hasattr(settings, name), name
            assert f"`{name}`" in readme and f"`{name}`" in deployers, name


def test_the_authorize_origins_are_allowed_form_actions():
    assert catalog.authorize_origins({}) == [
        "https://appcenter.intuit.com",
        "https://identity.approvalmax.com",
        "https://login.xero.com",
    ]
    # A configured absolute authorize URL (a provider's own test environment) is allowed too.
    assert "https://login.example.test" in catalog.authorize_origins(
        {"XERO_AUTHORIZE_URL": "https://login.example.test/authorize"}
    )
    for origin in catalog.authorize_origins({}):
        assert origin in settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"]


def test_what_each_provider_publishes_is_item_types_and_sales_only_to_main():
    assert catalog.MAIN_ONLY_TYPES == set(SALES_TYPES)
    for info in catalog.all_providers():
        assert set(info.publishes) <= set(ItemType.values), info.key
        if not info.is_main:
            assert not set(info.publishes) & set(SALES_TYPES), info.key
    # Every main software takes every item type (the product publishes any item to it).
    for info in catalog.main():
        assert set(info.publishes) == set(ItemType.values), info.key


def test_the_registry_system_check_passes_and_catches_a_broken_entry():
    assert provider_registry(None) == []
    broken = catalog.ProviderInfo(
        key="broken",
        label="Broken",
        is_main=True,
        connect_kind="oauth",
        adapter="integrations.providers.nonesuch:Nothing",
        publishes={"invoice": "?"},
    )
    with catalog.registered(broken):
        assert [e.id for e in provider_registry(None)] == ["integrations.E010"]
    wrong_adapter = catalog.ProviderInfo(
        key="wrong",
        label="Wrong",
        is_main=True,
        connect_kind="oauth",
        adapter="integrations.providers.xero:Xero",  # serves "xero", not "wrong"
        publishes={"invoice": "?"},
    )
    with catalog.registered(wrong_adapter):
        assert [e.id for e in provider_registry(None)] == ["integrations.E011", "integrations.E012"]
    assert catalog.provider_info("broken") is None and catalog.provider_info("wrong") is None


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"key": "xero"}, "already registered"),
        ({"key": "Sage One"}, "lower-case"),
        ({"key": "a" * 21}, "at most 20"),
        ({"connect_kind": "carrier_pigeon"}, "connect kind"),
        ({"is_main": False, "publishes": {"sales_invoice": "invoice"}}, "only main software"),
        ({"settings": (catalog.ProviderSetting("CLIENT_ID", "x"),)}, "settings_prefix"),
        ({"is_main": False, "works_with": ("billcom",)}, "works_with names main software"),
        ({"works_with": ("xero",)}, "works_with names main software"),
    ],
)
def test_the_registry_refuses_an_entry_the_code_could_not_handle(fields, message):
    entry = {"key": "sage", "label": "Sage", "is_main": True, "connect_kind": "oauth", "adapter": object}
    with pytest.raises(ValueError, match=message):
        catalog.register(catalog.ProviderInfo(**{**entry, **fields}))
    assert catalog.keys() == ["xero", "qbo", "qbd", "billcom", "approvalmax"]


def test_approvalmax_works_with_the_main_software_it_connects_to_itself():
    assert catalog.APPROVALMAX.works_with_names() == "Xero or QuickBooks Online"
    assert catalog.BILLCOM.works_with == ()  # alongside any main software


def test_a_connection_takes_main_or_additional_from_the_registry(tenant):
    # Whatever the caller says: the registry decides (the database no longer lists providers).
    billcom = ConnectionFactory(account=tenant.account, provider="billcom", is_main=True)
    assert Connection.objects.get(pk=billcom.pk).is_main is False
    with pytest.raises(ValueError, match="not a provider"):
        ConnectionFactory(account=tenant.account, provider="sage")
    assert not Connection.objects.filter(provider="sage").exists()


# --- nothing else lists providers ------------------------------------------------------------------

# Where provider keys legitimately appear together: the registry itself, the migrations that record
# history, and tests. The sandbox (it plays each provider's own side) is an app of its own, not scanned.
NOT_SCANNED = ("integrations/catalog.py", "/migrations/")
PROVIDER_KEYS = {"xero", "qbo", "qbd", "billcom", "approvalmax"}


def _python_lists_of_providers(source: str, name: str) -> list[str]:
    """Literal lists, sets, tuples and dicts naming three or more providers: a list of providers. (Two
    can be one provider's own fact, e.g. ApprovalMax's link to Xero or QuickBooks Online.)"""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Dict):
            elements = node.keys
        elif isinstance(node, ast.List | ast.Set | ast.Tuple):
            elements = node.elts
        else:
            continue
        named = {e.value for e in elements if isinstance(e, ast.Constant) and e.value in PROVIDER_KEYS}
        if len(named) >= 3:
            found.append(f"{name}:{node.lineno} {sorted(named)}")
    return found


def _template_lists_of_providers(source: str, name: str) -> list[str]:
    """Lines naming three or more providers, by key or by main software label."""
    found = []
    for number, line in enumerate(source.splitlines(), 1):
        named = set(re.findall(r"""["'](xero|qbo|qbd|billcom|approvalmax)["']""", line))
        named |= {label for label in ("Xero", "QuickBooks Online", "QuickBooks Desktop") if label in line}
        if len(named) >= 3:
            found.append(f"{name}:{number} {sorted(named)}")
    return found


def test_no_list_of_providers_outside_the_registry():
    found = []
    for app in ("accounts", "costs", "integrations", "dext_connect"):
        for path in sorted((ROOT / app).rglob("*.py")):
            name = str(path.relative_to(ROOT))
            if not any(part in f"/{name}" for part in NOT_SCANNED):
                found += _python_lists_of_providers(path.read_text(), name)
    for path in sorted((ROOT / "templates").rglob("*.html")):
        found += _template_lists_of_providers(path.read_text(), str(path.relative_to(ROOT)))
    assert found == []


def test_the_scan_finds_a_list_of_providers():
    """The scan above can fail: the list refresh_tokens had, and the sentence the Connections page had."""
    source = 'OAUTH = ["xero", "qbo", "approvalmax"]\nLINKED = {"xero": 1, "qbo": 2}\n'
    assert _python_lists_of_providers(source, "x.py") == ["x.py:1 ['approvalmax', 'qbo', 'xero']"]
    page = "<p>Connect Xero, QuickBooks Online or QuickBooks Desktop first.</p>"
    assert _template_lists_of_providers(page, "x.html") == [
        "x.html:1 ['QuickBooks Desktop', 'QuickBooks Online', 'Xero']"
    ]

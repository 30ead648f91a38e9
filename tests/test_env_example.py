""".env.example, which docker-compose.yml tells a deployer to copy to .env: every variable the settings
read and the README lists is in it, with production values (DEBUG and the sandbox off)."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import environ
import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ROOT / "dext_connect" / "settings.py"
ENV_NAME = r"([A-Z][A-Z0-9_]*)"


def example() -> dict[str, tuple[str, bool]]:
    """Each variable of .env.example: (value, set). `set` is False for a commented-out line (left at
    its default)."""
    found = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.fullmatch(rf"(#\s*)?{ENV_NAME}=(.*)", line.strip())
        if match:
            found.setdefault(match[2], (match[3], match[1] is None))
    return found


def names_in_settings_source() -> set[str]:
    """Every name settings.py passes to django-environ (`env.str("NAME", …)`, `env.db(\n "NAME"…`) or
    to its provider helper."""
    source = SETTINGS.read_text()
    return set(re.findall(rf"\b(?:env\.[a-z_]+|env|_provider_env)\(\s*\"{ENV_NAME}\"", source))


@pytest.fixture
def names_settings_read(monkeypatch) -> set[str]:
    """Every name settings.py asks django-environ for, however it is written (a helper, a loop over a
    registry), over the four combinations of DEBUG and the sandbox, with a PostgreSQL URL (the
    branches that read more)."""
    read: set[str] = set()
    original = environ.Env.get_value

    def recording(self, var, *args, **kwargs):
        read.add(var)
        return original(self, var, *args, **kwargs)

    monkeypatch.setattr(environ.Env, "get_value", recording)
    for debug in ("true", "false"):
        for sandbox in ("true", "false"):
            monkeypatch.setenv("DEBUG", debug)
            monkeypatch.setenv("SANDBOX_ENABLED", sandbox)
            monkeypatch.setenv("SECRET_KEY", "k" * 60)
            monkeypatch.setenv("FIELD_ENCRYPTION_KEYS", Fernet.generate_key().decode())
            monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example.com:5432/x")
            runpy.run_path(str(SETTINGS))
    return read


def names_in_readme_tables() -> set[str]:
    """The variables the configuration tables of README.md and docs/providers.md list: the first column
    of every table headed "variable"."""
    names = set()
    for doc in (ROOT / "README.md", ROOT / "docs" / "providers.md"):
        in_table = False
        for line in doc.read_text().splitlines():
            first_cell = line.split("|")[1].strip() if line.startswith("|") else None
            if first_cell is None:
                in_table = False
            elif first_cell.lower() == "variable":
                in_table = True
            elif in_table:
                names |= set(re.findall(rf"`{ENV_NAME}`", first_cell))
    return names


def test_every_variable_the_settings_read_is_in_env_example(names_settings_read):
    assert len(names_settings_read) > 30  # the recording saw the settings (not an empty run)
    assert names_in_settings_source() <= names_settings_read
    missing = sorted(names_settings_read - set(example()))
    assert missing == [], f"add these to .env.example: {missing}"


def test_every_variable_the_readme_lists_is_in_env_example():
    listed = names_in_readme_tables()
    assert {"SECRET_KEY", "SANDBOX_ENABLED", "XERO_CLIENT_ID", "BILLCOM_DEV_KEY"} <= listed
    missing = sorted(listed - set(example()))
    assert missing == [], f"add these to .env.example: {missing}"


def test_env_example_is_for_production_with_the_sandbox_off():
    values = example()
    for name, value in {"DEBUG": "false", "SANDBOX_ENABLED": "false", "SENT_MAIL_OPEN": "false"}.items():
        assert values[name] == (value, True), name
    # What a deployer must set is set, to a placeholder they will see they must change.
    for name in ("SECRET_KEY", "ALLOWED_HOSTS", "SITE_URL", "FIELD_ENCRYPTION_KEYS", "EMAIL_URL"):
        value, is_set = values[name]
        assert is_set and ("change-me" in value or "example.com" in value), name
    assert values["SITE_URL"][0].startswith("https://")  # the Web Connector refuses plain http
    # An empty URL would replace the provider's production endpoint with nothing: those stay commented.
    for name, (_value, is_set) in values.items():
        if name.endswith("_URL") and name not in {"SITE_URL", "EMAIL_URL"}:
            assert not is_set, name


def test_docker_compose_reads_env_and_every_variable_it_interpolates_is_in_env_example():
    compose = (ROOT / "docker-compose.yml").read_text()
    assert ".env.example" in compose
    # The web server and the worker both take their configuration from .env.
    assert compose.count("env_file: .env") == 2
    # ${NAME:-default} in the compose file comes from .env too (compose reads it for interpolation).
    interpolated = set(re.findall(rf"\$\{{{ENV_NAME}", compose))
    assert interpolated and interpolated <= set(example())


def test_env_is_kept_out_of_git_and_of_the_image():
    assert "/.env" in (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in (ROOT / ".dockerignore").read_text().splitlines()

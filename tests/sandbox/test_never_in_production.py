"""The sandbox is never in production by accident: with the production settings (DEBUG and
SANDBOX_ENABLED off) no sandbox app, URL, table or module exists.

The settings are built in a fresh interpreter, as `manage.py` builds them on a production server: the
test run's own settings have the sandbox on, and an app registry cannot be rebuilt in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = ["accounts", "integrations", "costs", "dext_connect"]

PROBE = """
import importlib, importlib.util, json, os, pkgutil, sys

import django

django.setup()

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.urls import NoReverseMatch, Resolver404, get_resolver, resolve, reverse

out = {
    "debug": settings.DEBUG,
    "sandbox_enabled": settings.SANDBOX_ENABLED,
    # The package is there to be imported: what follows proves nobody imports it.
    "importable": importlib.util.find_spec("sandbox") is not None,
    "installed": [a for a in settings.INSTALLED_APPS if a == "sandbox" or a.startswith("sandbox.")],
    "app_labels": sorted(c.label for c in apps.get_app_configs()),
}

# Every module of the project's own packages, as production might import them.
imported = []
for name in sys.argv[1].split(","):
    package = importlib.import_module(name)
    imported.append(name)
    for info in pkgutil.walk_packages(package.__path__, name + "."):
        importlib.import_module(info.name)
        imported.append(info.name)
out["imported"] = imported

resolved = {}
for path in ["/sandbox/", "/sandbox/xero/identity/connect/authorize", "/sandbox/webconnector/run/",
             "/sandbox/billcom/connect/v3/login"]:
    try:
        match = resolve(path)
        resolved[path] = match.view_name or repr(match.func)
    except Resolver404:
        pass
out["resolved"] = resolved

def patterns(resolver, prefix=""):
    for p in resolver.url_patterns:
        route = prefix + str(p.pattern)
        if hasattr(p, "url_patterns"):
            yield from patterns(p, route)
        else:
            yield route

out["sandbox_routes"] = [r for r in patterns(get_resolver()) if r.startswith("sandbox")]
out["namespaces"] = sorted(get_resolver().namespace_dict)
try:
    out["reversed"] = reverse("sandbox:home")
except NoReverseMatch:
    out["reversed"] = None

call_command("migrate", verbosity=0, interactive=False)
out["tables"] = sorted(connection.introspection.table_names())
out["sandbox_modules"] = sorted(m for m in sys.modules if m == "sandbox" or m.startswith("sandbox."))
print("PROBE " + json.dumps(out))
"""


def _production_env(tmp_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # Nothing of this test run's own configuration leaks into the production process.
        if key in {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT"}
    }
    env.update(
        DEBUG="false",
        SANDBOX_ENABLED="false",
        SECRET_KEY="production-" + "k" * 50,
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="connect.example.com",
        SITE_URL="https://connect.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'production.sqlite3'}",
        DJANGO_SETTINGS_MODULE="dext_connect.settings",
    )
    return env


def _probe(tmp_path: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(PROJECT_PACKAGES)],
        cwd=ROOT,
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("PROBE "))
    return json.loads(line.removeprefix("PROBE "))


def test_production_settings_have_no_sandbox_app_url_table_or_module(tmp_path):
    found = _probe(tmp_path)
    assert (found["debug"], found["sandbox_enabled"]) == (False, False)
    assert found["importable"], "the sandbox package must exist for this test to prove anything"

    # No app: neither in INSTALLED_APPS nor in the app registry.
    assert found["installed"] == []
    assert "sandbox" not in found["app_labels"]
    assert {"accounts", "integrations", "costs"} <= set(found["app_labels"])

    # No URL under /sandbox/, and its namespace does not exist.
    assert found["resolved"] == {}
    assert found["sandbox_routes"] == []
    assert "sandbox" not in found["namespaces"] and found["reversed"] is None

    # `migrate` created the project's tables and none of the sandbox's.
    assert "integrations_connection" in found["tables"]
    assert [t for t in found["tables"] if t.startswith("sandbox_")] == []

    # Every module of the project was imported, and none of them imported the sandbox.
    assert {
        "integrations.connect_views",
        "accounts.management.commands.seed_demo",
        "dext_connect.urls",
    } <= set(found["imported"])
    assert found["sandbox_modules"] == []

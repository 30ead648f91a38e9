"""E-mail configuration (EMAIL_URL) and the Sent mail page that shows the file outbox: where the demo's
invitations and password resets can be read."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.checks import sent_mail_closed
from tests.conftest import client_for
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def file_outbox(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    return tmp_path


@pytest.fixture
def superuser(db):
    return UserFactory(is_superuser=True, is_staff=True)


def _first_key(listing: str) -> str:
    return re.search(r'href="/sent-mail/(\d{8}-\d{6}-\d+-\d+)/"', listing).group(1)


def _invite(tenant, email):
    client_for(tenant.admin).post(
        f"/a/{tenant.account.slug}/settings/users/", {"email": email, "role": "standard"}
    )


def test_superuser_reads_the_invitation_with_a_clickable_link(file_outbox, superuser, tenant, settings):
    settings.SENT_MAIL_OPEN = False
    _invite(tenant, "reader@example.test")
    assert len(list(file_outbox.glob("*.log"))) == 1
    c = client_for(superuser)
    listing = c.get("/sent-mail/").content.decode()
    assert f"Invitation to join {tenant.account.name} on Dext Connect" in listing
    assert "reader@example.test" in listing
    key = _first_key(listing)
    message = c.get(f"/sent-mail/{key}/").content.decode()
    assert '<a href="http://127.0.0.1:8000/invitations/' in message
    assert "reader@example.test" in message


def test_sent_mail_is_closed_to_everyone_else_unless_open(file_outbox, tenant, client, settings, superuser):
    settings.SENT_MAIL_OPEN = False
    _invite(tenant, "secret@example.test")
    r = client.get("/sent-mail/")
    assert r.status_code == 302 and r.url.startswith("/login/")
    admin = client_for(tenant.admin)
    assert admin.get("/sent-mail/").status_code == 404
    key = (
        client_for(superuser).get("/sent-mail/").content.decode().split('href="/sent-mail/')[1].split("/")[0]
    )
    assert admin.get(f"/sent-mail/{key}/").status_code == 404
    # Only superusers see it in the menu.
    assert 'href="/sent-mail/"' not in admin.get("/switch/").content.decode()
    assert 'href="/sent-mail/"' in client_for(superuser).get("/switch/").content.decode()
    # The demo (SENT_MAIL_OPEN): anyone on this machine, signed in or not (the invited person has no
    # login yet).
    settings.SENT_MAIL_OPEN = True
    assert "secret@example.test" in client.get("/sent-mail/").content.decode()
    assert 'href="/sent-mail/"' in client.get("/login/").content.decode()
    # ...but only from the server's own machine, which could read var/outbox/ anyway: not from another
    # address, and not through a proxy.
    for meta in ({"REMOTE_ADDR": "203.0.113.9"}, {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}):
        r = client.get("/sent-mail/", **meta)
        assert r.status_code == 302 and r.url.startswith("/login/"), meta
        assert "secret@example.test" not in client.get(f"/sent-mail/{key}/", **meta).content.decode()
        assert 'href="/sent-mail/"' not in client.get("/login/", **meta).content.decode()


def test_unknown_or_malformed_message_keys_are_404(file_outbox, superuser):
    c = client_for(superuser)
    for key in ("20260101-120000-1-0", "20260101-120000-1", "etc-passwd-0", "x"):
        assert c.get(f"/sent-mail/{key}/").status_code == 404, key


def test_sent_mail_says_so_when_e_mail_is_delivered_elsewhere(superuser):
    # The test settings use Django's in-memory backend: nothing is kept in a folder.
    body = client_for(superuser).get("/sent-mail/").content.decode()
    assert "This server delivers its e-mail (EMAIL_URL), so none is kept here." in body


def test_open_sent_mail_fails_the_deploy_check_without_debug(settings):
    settings.DEBUG = False
    settings.SENT_MAIL_OPEN = True
    assert [e.id for e in sent_mail_closed(None)] == ["accounts.E001"]
    settings.SENT_MAIL_OPEN = False
    assert sent_mail_closed(None) == []


def _settings_in_a_fresh_process(**env: str) -> dict[str, str]:
    environ = {
        k: v for k, v in os.environ.items() if k not in {"EMAIL_URL", "DEBUG", "DJANGO_SETTINGS_MODULE"}
    }
    environ.update(env)
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='dext_connect.settings'; django.setup();"
        "from django.conf import settings as s;"
        "print(s.EMAIL_BACKEND, s.EMAIL_FILE_PATH or '-', s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS,"
        " s.SENT_MAIL_OPEN, sep='|')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True, check=True
    )
    keys = ["backend", "path", "host", "port", "tls", "open"]
    return dict(zip(keys, out.stdout.strip().split("|"), strict=True))


def test_email_url_configures_the_backend():
    demo = _settings_in_a_fresh_process(DEBUG="true")
    assert demo["backend"] == "django.core.mail.backends.filebased.EmailBackend"
    assert demo["path"] == str(ROOT / "var" / "outbox")
    assert demo["open"] == "True"
    smtp = _settings_in_a_fresh_process(
        DEBUG="true", EMAIL_URL="smtp+tls://mailer:secret@smtp.example.com:587", SANDBOX_ENABLED="false"
    )
    assert (smtp["backend"], smtp["host"], smtp["port"], smtp["tls"], smtp["open"]) == (
        "django.core.mail.backends.smtp.EmailBackend",
        "smtp.example.com",
        "587",
        "True",
        "False",
    )

"""check --deploy: the QuickBooks Web Connector refuses plain-http AppURLs (except localhost), and every
.qwc file's AppURL is SITE_URL + /qbwc/, so production needs an https SITE_URL."""

import pytest

from integrations.checks import web_connector_needs_https
from tests.accounts.test_setup import _check_deploy


def test_check_deploy_fails_on_a_plain_http_site_url():
    result = _check_deploy(SITE_URL="http://connect.example.com")
    assert result.returncode != 0
    assert "integrations.E002" in result.stderr
    assert "SITE_URL (http://connect.example.com) is not an https address" in result.stderr
    assert "Set SITE_URL to the https address users browse" in result.stderr


@pytest.mark.parametrize(
    "site_url, refused",
    [
        ("https://connect.example.com", False),
        ("http://localhost:8000", False),  # the Web Connector allows http for localhost only
        ("http://127.0.0.1:8000", False),
        ("http://connect.example.com", True),
        ("http://localhost.example.com", True),
        ("ftp://connect.example.com", True),
    ],
)
def test_only_https_or_localhost_passes(settings, site_url, refused):
    settings.SITE_URL = site_url
    assert [e.id for e in web_connector_needs_https(None)] == (["integrations.E002"] if refused else [])

"""A NUL byte wherever a request carries text a person or a program chose (a query string, a form field,
a path segment) is a 400 with a page that says what to do, on every URL the resolver knows, and
changes nothing. PostgreSQL refuses NUL in text, so the first query that used such a value was a 500
(`GET /switch/?q=%00`); the guard is dext_connect/middleware.py."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest
from django.conf import settings

from tests.conftest import client_for
from tests.factories import PracticeMembershipFactory
from tests.tenant_world import populate, snapshot
from tests.urlwalk import all_routes, fill, resolves_to

ROUTES = all_routes()
REFUSAL = "The request contained a character that is not allowed (a NUL byte). Remove it and try again."


def test_the_walk_includes_the_sandbox_and_the_admin():
    # SANDBOX_ENABLED defaults to DEBUG, which is on under pytest: the sandbox's endpoints are walked too.
    assert settings.SANDBOX_ENABLED
    prefixes = {r.pattern.split("/")[0] for r in ROUTES}
    assert {"sandbox", "admin", "a", "p", "qbwc", "switch"} <= prefixes


def _values(tenant) -> dict:
    """Real slugs and ids of the tenant's own things, for every kind of URL parameter there is."""
    world = populate(tenant)
    practice = PracticeMembershipFactory(user=tenant.admin).practice
    return {
        "account_slug": tenant.account.slug,
        "practice_slug": practice.slug,
        "provider": "xero",
        "object_id": tenant.account.pk,
        "id": tenant.admin.pk,
        **world.ids,
    }


def _refused(response) -> bool:
    return response.status_code == 400 and REFUSAL in response.content.decode()


def _with_nul_in_each_parameter(route, values: dict) -> list[str]:
    """The route's path once per parameter, that parameter's value carrying a NUL (percent-encoded,
    as it arrives on the wire)."""
    import re

    names = re.findall(r"<(?:\w+:)?(\w+)>", route.pattern) + re.findall(r"\(\?P<(\w+)>", route.pattern)
    return [fill(route, **{**values, name: f"{values.get(name, 'x')}%00"}) for name in names]


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_nul_in_a_query_form_or_path_is_a_400_that_changes_nothing(route, tenant, other_tenant):
    """Signed in as the account's Admin, with real slugs and ids: every way a NUL can arrive is refused
    before the view runs, whatever the method and the form encoding."""
    values = _values(tenant)
    populate(other_tenant)
    path = fill(route, **values)
    assert resolves_to(route, path), f"{route}: the walker's path {path} does not reach this route"
    client = client_for(tenant.admin)
    client.raise_request_exception = False  # a 500 is an answer to assert on, not an exception here
    # Plausible fields for the project's forms, one of them carrying the NUL: a view that acted on
    # the others would change the snapshot.
    form = {"email": "new.person@example.test", "role": "admin", "integration": "", "name": "Acme\x00 Ltd"}
    before = snapshot()
    answers = {
        "GET value": client.get(path, {"q": "a\x00b"}),
        "GET key": client.get(path, {"q\x00": "x"}),
        "POST multipart": client.post(path, form),
        "POST urlencoded": client.post(
            path, urlencode(form), content_type="application/x-www-form-urlencoded"
        ),
        "POST key": client.post(path, {"role\x00": "admin"}),
    }
    for i, nul_path in enumerate(_with_nul_in_each_parameter(route, values)):
        answers[f"GET path {i}"] = client.get(nul_path)
        answers[f"POST path {i}"] = client.post(nul_path)
    if getattr(route.callback, "csrf_exempt", False):
        # The machine endpoints (the Web Connector's SOAP, the sandbox's provider APIs) read their raw
        # bodies and answer a form post — with a NUL or without — themselves: as a refusal of their own
        # protocol (a SOAP fault, the provider's "invalid request"), never an unhandled error, and the
        # body must still be theirs to read (a multipart post is not used up before the view).
        strict = client_for(tenant.admin)
        strict.raise_request_exception = True
        for how in ("POST multipart", "POST urlencoded", "POST key"):
            assert answers.pop(how).status_code >= 400, how
        assert strict.post(path, form).status_code >= 400
        assert strict.post(path, {"email": "x@example.test"}).status_code >= 400
    wrong = {how: r.status_code for how, r in answers.items() if not _refused(r)}
    assert not wrong, f"{route} ({path}): {wrong}"
    assert snapshot() == before


def test_a_nul_after_the_path_is_refused_too(admin_client_):
    # No route takes it, but the answer is still the plain 400, never a 500 from a lookup.
    response = admin_client_.get("/switch/" + quote("\x00"))
    assert _refused(response)


def test_the_switcher_search_with_a_nul_is_refused_and_a_normal_search_still_works(admin_client_, account):
    assert _refused(admin_client_.get("/switch/?q=%00"))
    response = admin_client_.get("/switch/", {"q": account.name[:4]})
    assert response.status_code == 200 and account.name in response.content.decode()


def test_the_refusal_page_uses_the_layout_and_offers_a_way_on(admin_client_):
    body = admin_client_.get("/switch/?q=%00").content.decode()
    assert "<h1>" in body and 'class="topbar"' in body
    assert "Go to your accounts" in body


def test_a_session_cookie_carrying_a_nul_is_ignored_not_a_500(client, tenant):
    """Cookies are not typed by the person, so a 400 telling them to remove it would not help: a
    cookie that carries a NUL cannot name a session, so it is treated as absent (signed out)."""
    client.raise_request_exception = False
    client.cookies[settings.SESSION_COOKIE_NAME] = "abcdefghijkl\x00mnop"
    response = client.get("/switch/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_a_nul_cookie_does_not_hide_the_others(tenant):
    client = client_for(tenant.admin)
    client.raise_request_exception = False
    client.cookies["something"] = "a\x00b"
    assert client.get("/switch/").status_code == 200

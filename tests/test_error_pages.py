"""The product's own 404, 403 and 500 pages, in the demo (DEBUG on) as well unless SHOW_DEBUG_ERRORS;
the staff 403 names the account's Admins (dext_connect/errors.py)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import include, path

from tests.conftest import client_for
from tests.factories import MembershipFactory


def _boom(request):
    raise RuntimeError("kaboom in a view")


urlpatterns = [path("boom/", _boom), path("", include("dext_connect.urls"))]

pytestmark = pytest.mark.django_db


def test_demo_404_is_the_product_page_not_django_debug(settings, admin_client_):
    settings.DEBUG = True
    response = admin_client_.get("/no/such/page/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in body and "Dext Connect" in body
    assert "Using the URLconf" not in body and "technical" not in body.lower()


def test_demo_404_for_another_tenant_is_the_same_product_page(settings, admin_client_, other_account):
    settings.DEBUG = True
    response = admin_client_.get(f"/a/{other_account.slug}/costs/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert other_account.name not in response.content.decode()


def test_show_debug_errors_brings_back_django_technical_404(settings, admin_client_):
    settings.DEBUG = True
    settings.SHOW_DEBUG_ERRORS = True
    body = admin_client_.get("/no/such/page/").content.decode()
    assert "Using the URLconf" in body


@pytest.mark.urls("tests.test_error_pages")
def test_demo_500_is_the_product_page(settings, admin_user):
    settings.DEBUG = True
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    response = client.get("/boom/")
    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in body
    assert "kaboom" not in body and "Traceback" not in body


@pytest.mark.urls("tests.test_error_pages")
def test_show_debug_errors_brings_back_the_traceback(settings, admin_user):
    settings.DEBUG = True
    settings.SHOW_DEBUG_ERRORS = True
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    assert "kaboom in a view" in response.content.decode()


@pytest.mark.urls("tests.test_error_pages")
def test_production_500_is_the_product_page(settings):
    settings.DEBUG = False
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


@pytest.mark.parametrize("debug", [True, False])
def test_staff_403_names_the_admins_of_that_account_only(settings, debug, account, other_account, staff_user):
    settings.DEBUG = debug
    second_admin = MembershipFactory(account=account, role="admin").user
    MembershipFactory(account=other_account, role="admin")
    response = client_for(staff_user).get(f"/a/{account.slug}/settings/activity/")
    body = response.content.decode()
    assert response.status_code == 403
    admins = sorted([account.owner.email, second_admin.email])
    assert f"Ask an Admin of {account.name}: " in body
    for email in admins:
        assert f'<a href="mailto:{email}">{email}</a>' in body
    assert other_account.owner.email not in body


def test_favicon_ico_leads_to_the_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")

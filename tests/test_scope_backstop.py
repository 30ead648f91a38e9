"""The tenancy backstop stays on for the code under test (tests/scoping.py): a view, command or task
that forgets its scope raises ScopeError in the suite as it would in production, even where the test
body runs in `scopes_disabled()` (the costs and integrations suites do, for building data)."""

from __future__ import annotations

import asyncio

import pytest
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.http import HttpResponse, JsonResponse
from django.test import AsyncClient
from django.urls import path
from django_scopes import ScopeError, scope
from django_tasks import task

from accounts.models import Membership
from accounts.tenancy import account_view
from tests.conftest import client_for

pytestmark = pytest.mark.usefixtures("unscoped_test_body")


def forgetful_view(request):
    """Lists a tenant model outside any scope: the bug the backstop exists for."""
    return HttpResponse(str(Membership.objects.count()))


@account_view("account.view")
def scoped_view(request):
    return JsonResponse({"users": sorted(Membership.objects.values_list("user_id", flat=True))})


def redirect_to_forgetful(request):
    from django.shortcuts import redirect

    return redirect("/forgetful/")


urlpatterns = [
    path("forgetful/", forgetful_view),
    path("redirect/", redirect_to_forgetful),
    path("a/<slug:account_slug>/scoped/", scoped_view),
]


class ForgetfulCommand(BaseCommand):
    def handle(self, *args, **options):
        self.stdout.write(str(Membership.objects.count()))


@task()
def forgetful_task() -> int:
    return Membership.objects.count()


@task()
def scoped_task(account_id: int) -> int:
    from accounts.models import Account

    with scope(account=Account.objects.get(pk=account_id)):
        return Membership.objects.count()


def test_the_test_body_itself_is_unscoped(tenant, other_tenant):
    assert Membership.objects.count() == 4  # both tenants' Admin and Standard user


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "head", "options"])
def test_a_view_that_forgets_its_scope_fails_through_the_client(method, tenant):
    with pytest.raises(ScopeError):
        getattr(client_for(tenant.admin), method)("/forgetful/")


@pytest.mark.urls(__name__)
def test_a_redirect_followed_by_the_client_lands_in_production_scope_too(tenant):
    with pytest.raises(ScopeError):
        client_for(tenant.admin).get("/redirect/", follow=True)


@pytest.mark.urls(__name__)
def test_the_async_client_is_scoped_too(tenant):
    async def fetch():
        return await AsyncClient().get("/forgetful/")

    with pytest.raises(ScopeError):
        asyncio.run(fetch())


@pytest.mark.urls(__name__)
def test_a_scope_the_test_body_opened_does_not_leak_into_the_request(tenant):
    with scope(account=tenant.account), pytest.raises(ScopeError):
        client_for(tenant.admin).get("/forgetful/")


@pytest.mark.urls(__name__)
def test_a_view_under_the_tenancy_middleware_sees_only_its_account(tenant, other_tenant):
    response = client_for(tenant.admin).get(f"/a/{tenant.account.slug}/scoped/")
    assert response.json() == {"users": sorted([tenant.admin.pk, tenant.staff.pk])}


def test_a_command_that_forgets_its_scope_fails(tenant):
    with pytest.raises(ScopeError):
        call_command(ForgetfulCommand())


def test_a_task_that_forgets_its_scope_fails(tenant):
    with pytest.raises(ScopeError):
        forgetful_task.call()
    with pytest.raises(ScopeError):
        asyncio.run(forgetful_task.acall())


def test_a_task_run_by_the_immediate_backend_fails_the_same_way(tenant, settings):
    # django-tasks rereads settings.TASKS when the settings fixture changes it.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    result = forgetful_task.enqueue()
    assert result.status == "FAILED"
    assert result.errors[0].exception_class_path == "django_scopes.exceptions.ScopeError"
    assert scoped_task.enqueue(tenant.account.pk).return_value == 2


def test_a_task_that_opens_its_scope_works(tenant, other_tenant):
    assert scoped_task.call(tenant.account.pk) == 2

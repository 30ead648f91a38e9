"""The Django admin, for superusers across every tenant: each page of each registered model opens and
saves without a 500. The models and their pages come from admin.site._registry, so a model registered
later is walked too. (The account add and change pages raised ScopeError from the membership inline.)"""

from __future__ import annotations

import lxml.html
import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import path, reverse
from django.utils.module_loading import import_string
from django_scopes import scopes_disabled
from django_tasks import task

from accounts.activity import record
from accounts.models import Account, Membership, Role, User
from costs.models import Item
from integrations.models import Connection
from tests.factories import ConnectionFactory, ItemFactory, UserFactory
from tests.tenant_world import populate

REGISTRY = [
    pytest.param(model, model_admin, id=model._meta.label)
    for model, model_admin in sorted(admin.site._registry.items(), key=lambda pair: pair[0]._meta.label)
]


@task()
def _noop() -> None:
    """Enqueued once so the task-results admin has a row to show."""


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser(email="root@example.test", password="x-root-pass-2026")


@pytest.fixture
def su(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    client.raise_request_exception = False  # a 500 is an answer to assert on
    return client


@pytest.fixture
def admin_world(tenant, other_tenant, practice_setup):
    """One of everything, in both tenants: memberships, connections, items, rules, activity, a group,
    a task result."""
    for t in (tenant, other_tenant):
        populate(t)
        record(account=t.account, actor=t.admin, action="x", summary=f"Something in {t.account.name}")
    Group.objects.create(name="Support")
    _noop.enqueue()
    # django-axes' pages: a failed sign-in (an access attempt), an access log and a failure log row.
    Client().post("/login/", {"username": tenant.admin.email, "password": "wrong"})
    from axes.models import AccessFailureLog, AccessLog

    AccessLog.objects.create(username=tenant.admin.email, ip_address="192.0.2.1", user_agent="test")
    AccessFailureLog.objects.create(username=tenant.admin.email, ip_address="192.0.2.1", user_agent="t")


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _an_instance(model):
    with scopes_disabled():
        obj = model._base_manager.order_by("pk").first()
    assert obj is not None, f"give {model._meta.label} a row in admin_world so its pages are walked"
    return obj


def _form_values(response, form_id: str | None = None) -> dict[str, list[str]]:
    """What a browser would send for the page's form, unchanged (lxml knows the successful controls)."""
    doc = lxml.html.fromstring(response.content)
    forms = [
        f for f in doc.forms if f.method.upper() == "POST" and (form_id is None or f.get("id") == form_id)
    ]
    assert forms, "no form to submit"
    values: dict[str, list[str]] = {}
    for name, value in forms[0].form_values():
        values.setdefault(name, []).append(value)
    return values


def _errors(response) -> str:
    """The admin form's errors, for an assertion message."""
    if response.context is None or "adminform" not in response.context:
        return f"{response.status_code}"
    inlines = [
        f.formset.errors + f.formset.non_form_errors() for f in response.context["inline_admin_formsets"]
    ]
    return f"{response.context['adminform'].form.errors.as_text()} {inlines}"


def _permitted(model_admin, superuser, what: str, obj=None) -> bool:
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = superuser
    check = getattr(model_admin, f"has_{what}_permission")
    return check(request) if what == "add" else check(request, obj)


@pytest.mark.parametrize("model, model_admin", REGISTRY)
def test_every_admin_page_of_every_registered_model_answers(model, model_admin, su, superuser, admin_world):
    obj = _an_instance(model)
    pages = {
        "changelist": _url(model, "changelist"),
        "add": _url(model, "add"),
        "change": _url(model, "change", obj.pk),
        "delete": _url(model, "delete", obj.pk),
        "history": _url(model, "history", obj.pk),
    }
    expected = {
        "changelist": 200,
        "add": 200 if _permitted(model_admin, superuser, "add") else 403,
        "change": 200,  # view-only when change is not permitted
        "delete": 200 if _permitted(model_admin, superuser, "delete", obj) else 403,
        "history": 200,
    }
    answers = {page: su.get(url).status_code for page, url in pages.items()}
    assert answers == expected


@pytest.mark.parametrize("model, model_admin", REGISTRY)
def test_saving_an_admin_form_unchanged_and_an_empty_add_form_answer(
    model, model_admin, su, superuser, admin_world
):
    obj = _an_instance(model)
    change = _url(model, "change", obj.pk)
    form_id = f"{model._meta.model_name}_form"
    if _permitted(model_admin, superuser, "change", obj):
        saved = su.post(change, {**_form_values(su.get(change), form_id), "_save": "Save"})
        assert saved.status_code == 302, saved.content.decode()[:2000]
    else:
        assert su.post(change, {}).status_code == 403
    add = _url(model, "add")
    if _permitted(model_admin, superuser, "add"):
        # The add form as it comes (required fields empty): the page again with its errors, not a 500.
        assert su.post(add, {**_form_values(su.get(add), form_id), "_save": "Save"}).status_code == 200
    else:
        assert su.post(add, {}).status_code == 403


@pytest.mark.parametrize("model, model_admin", REGISTRY)
def test_the_admin_deletes_through_its_confirmation_pages(model, model_admin, su, superuser, admin_world):
    obj = _an_instance(model)
    pk = obj.pk
    if not _permitted(model_admin, superuser, "delete", obj):
        assert su.post(_url(model, "delete", pk), {"post": "yes"}).status_code == 403
        return
    # The changelist's "Delete selected" action: its confirmation page first.
    changelist = _url(model, "changelist")
    confirm = su.post(changelist, {"action": "delete_selected", "_selected_action": [str(pk)]})
    assert confirm.status_code == 200, confirm.content.decode()[:2000]
    deleted = su.post(_url(model, "delete", pk), {"post": "yes"})
    if deleted.status_code == 200:
        # Protected by a related row (an account's owner): the page says so and nothing is deleted.
        assert "would require deleting the following protected related objects" in deleted.content.decode()
        with scopes_disabled():
            assert model._base_manager.filter(pk=pk).exists()
    else:
        assert deleted.status_code == 302
        with scopes_disabled():
            assert not model._base_manager.filter(pk=pk).exists()


def test_an_account_and_its_memberships_are_added_and_changed_in_the_admin(su, superuser, tenant):
    """The journey the ScopeError broke: add an account with a membership inline, then change it."""
    owner, member = UserFactory(), UserFactory()
    page = su.get(_url(Account, "add"))
    assert page.status_code == 200
    form = _form_values(page, "account_form")
    form.update(
        {
            "name": ["Initech"],
            "slug": ["initech"],
            "owner": [str(owner.pk)],
            "created_at_0": ["01/02/2026"],
            "created_at_1": ["09:00:00"],
            "memberships-TOTAL_FORMS": ["2"],
            "memberships-0-user": [str(owner.pk)],
            "memberships-0-role": [Role.ADMIN],
            "memberships-0-created_at_0": ["01/02/2026"],
            "memberships-0-created_at_1": ["09:00:00"],
            "memberships-1-user": [str(member.pk)],
            "memberships-1-role": [Role.STANDARD],
            "memberships-1-created_at_0": ["01/02/2026"],
            "memberships-1-created_at_1": ["09:00:00"],
            "_save": ["Save"],
        }
    )
    added = su.post(_url(Account, "add"), form)
    assert added.status_code == 302, _errors(added)
    account = Account.objects.get(slug="initech")
    with scopes_disabled():
        assert dict(Membership.objects.filter(account=account).values_list("user_id", "role")) == {
            owner.pk: Role.ADMIN,
            member.pk: Role.STANDARD,
        }

    change = su.get(_url(Account, "change", account.pk))
    assert change.status_code == 200
    body = change.content.decode()
    assert owner.email in body or str(owner.pk) in body
    form = _form_values(change, "account_form")
    member_row = next(
        k.removesuffix("-user") for k, v in form.items() if k.endswith("-user") and v == [str(member.pk)]
    )
    form.update({f"{member_row}-role": [Role.ADMIN], "name": ["Initech Ltd"], "_save": ["Save"]})
    changed = su.post(_url(Account, "change", account.pk), form)
    assert changed.status_code == 302, _errors(changed)
    account.refresh_from_db()
    assert account.name == "Initech Ltd"
    with scopes_disabled():
        assert Membership.objects.get(account=account, user=member).role == Role.ADMIN
        # The other tenant's memberships were neither shown nor touched.
        assert Membership.objects.filter(account=tenant.account).count() == 2
    assert tenant.staff.email not in body


# A scoped model registered on a site of the project's kind, with no mixin and an inline: the site
# itself keeps it out of the scopes (urlpatterns below serve it for the next test).
_probe_site = import_string(apps.get_app_config("admin").default_site)(name="probe")


class _ItemInline(admin.TabularInline):
    model = Item
    fk_name = "integration"
    extra = 0


@admin.register(Connection, site=_probe_site)
class _ConnectionAdmin(admin.ModelAdmin):
    inlines = [_ItemInline]


urlpatterns = [path("probe/", _probe_site.urls)]


@pytest.mark.urls(__name__)
def test_a_scoped_model_registered_later_needs_nothing_to_open_in_the_admin(su, tenant):
    connection = ConnectionFactory(account=tenant.account, provider="xero")
    ItemFactory(account=tenant.account, reference="IN-THE-INLINE", integration=connection)
    assert su.get("/probe/integrations/connection/").status_code == 200
    page = su.get(f"/probe/integrations/connection/{connection.pk}/change/")
    assert page.status_code == 200 and "IN-THE-INLINE" in page.content.decode()

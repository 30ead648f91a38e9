"""What of the sandbox a signed-in person may see on /sandbox/: the provider organisations their
accounts are connected to, never another tenant's.

The sandbox plays the providers, which know organisations, not our accounts. A person sees an
organisation, its bills and the request-log lines tagged with it when one of the accounts they can open
(accounts.permissions.accessible_accounts) has a live connection (integrations.models.LIVE_STATUSES)
to it: its external_id, or for QuickBooks Desktop its Web Connector user name. A disconnected or
pending connection shows nothing. Secrets (the sandbox Bill.com sign-ins meant for an account,
data.BILLCOM_USER_ACCOUNTS, and its Xero, Intuit and ApprovalMax logins, users.PROVIDER_USERS) and
**Revoke access** are only for accounts where the person may manage integrations
(accessible_accounts(user, "integrations.manage")). Superusers (operators running
the demo) see everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet
from django_scopes import scopes_disabled

from accounts.models import User
from accounts.permissions import accessible_accounts
from integrations.models import LIVE_STATUSES, Connection

from . import data, users
from .models import BillcomUser, RequestLogEntry, RequestLogOrg, SandboxBill, SandboxOrganisation


@dataclass(frozen=True)
class Visible:
    everything: bool
    # Organisations the viewer's accounts are live-connected to.
    org_ids: frozenset[str]
    # Of those, the ones of accounts where the viewer may manage integrations (Revoke access).
    managed_org_ids: frozenset[str]
    # Accounts where the viewer may manage integrations: their sandbox Bill.com sign-ins are shown.
    managed_slugs: frozenset[str]

    def allows(self, org_id: str) -> bool:
        return self.everything or org_id in self.org_ids

    def manages(self, org_id: str) -> bool:
        return self.everything or org_id in self.managed_org_ids

    def log(self) -> QuerySet[RequestLogEntry]:
        entries = RequestLogEntry.objects.all()
        if self.everything:
            return entries
        tagged = RequestLogOrg.objects.filter(entry=OuterRef("pk"), org_id__in=self.org_ids)
        return entries.filter(Exists(tagged))

    def bills(self) -> QuerySet[SandboxBill]:
        bills = SandboxBill.objects.all()
        return bills if self.everything else bills.filter(org_id__in=self.org_ids)

    def organisations(self) -> QuerySet[SandboxOrganisation]:
        orgs = SandboxOrganisation.objects.all()
        return orgs if self.everything else orgs.filter(org_id__in=self.org_ids)

    def billcom_users(self) -> QuerySet[BillcomUser]:
        sign_ins = BillcomUser.objects.order_by("username")
        if self.everything:
            return sign_ins
        return sign_ins.filter(username__in=[u[0] for u in data.billcom_users_for(self.managed_slugs)])

    def provider_users(self) -> list[users.ProviderUser]:
        """The sandbox's Xero, Intuit and ApprovalMax logins meant for accounts the viewer manages."""
        if self.everything:
            return list(users.PROVIDER_USERS)
        return users.users_for(self.managed_slugs)


def org_id_of(connection: Connection) -> str:
    """The sandbox organisation a connection is to. QuickBooks Desktop: the Web Connector user name,
    which tells one connection's pretend company file from another's."""
    if connection.provider == "qbd":
        from integrations.providers.qbd import username_for

        return username_for(connection)
    return connection.external_id


def visible_to(user: User) -> Visible:
    if user.is_authenticated and user.is_active and user.is_superuser:
        return Visible(
            everything=True, org_ids=frozenset(), managed_org_ids=frozenset(), managed_slugs=frozenset()
        )
    accounts = accessible_accounts(user)
    # Deliberately unscoped, like accessible_accounts: this lookup spans every account the user may open.
    with scopes_disabled():
        connections = list(
            Connection.objects.filter(account__in=accounts, status__in=LIVE_STATUSES)
            .select_related("account")
            .only("pk", "provider", "external_id", "account__slug")
        )
        bound = list(
            accounts.filter(slug__in=set(data.BILLCOM_USER_ACCOUNTS.values()) | users.bound_accounts())
        )
    relevant = {c.account.pk: c.account for c in connections} | {a.pk: a for a in bound}
    # The one permission rule, asked once in SQL for all of them (not once per client).
    managed = set(
        accessible_accounts(user, "integrations.manage").filter(pk__in=relevant).values_list("pk", flat=True)
    )
    org_of = [(org_id_of(c), c.account_id) for c in connections]
    return Visible(
        everything=False,
        org_ids=frozenset(org for org, _ in org_of if org),
        managed_org_ids=frozenset(org for org, account_id in org_of if org and account_id in managed),
        managed_slugs=frozenset(a.slug for pk, a in relevant.items() if pk in managed),
    )

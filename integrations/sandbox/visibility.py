"""What of the sandbox a signed-in person may see on /sandbox/: the provider organisations their
accounts are connected to, never another tenant's.

The sandbox plays the providers, which know organisations, not our accounts. A person sees an
organisation when one of the accounts they can open (accounts.permissions.accessible_accounts) has a
connection to it (its external_id; for QuickBooks Desktop its Web Connector user name), or when it is
the sandbox Bill.com organisation bound to one of those accounts (data.BILLCOM_USER_ACCOUNTS).
Superusers (operators running the demo) see everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet
from django_scopes import scopes_disabled

from accounts.models import User
from accounts.permissions import accessible_accounts
from integrations.models import Connection, Provider

from . import data
from .models import BillcomUser, RequestLogEntry, RequestLogOrg, SandboxBill, SandboxOrganisation


@dataclass(frozen=True)
class Visible:
    everything: bool
    org_ids: frozenset[str]
    account_slugs: frozenset[str]

    def allows(self, org_id: str) -> bool:
        return self.everything or org_id in self.org_ids

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
        users = BillcomUser.objects.order_by("username")
        if self.everything:
            return users
        return users.filter(username__in=[u[0] for u in data.billcom_users_for(self.account_slugs)])


def visible_to(user: User) -> Visible:
    if user.is_authenticated and user.is_active and user.is_superuser:
        return Visible(everything=True, org_ids=frozenset(), account_slugs=frozenset())
    accounts = accessible_accounts(user)
    # Deliberately unscoped, like accessible_accounts: this lookup spans every account the user may open.
    with scopes_disabled():
        slugs = frozenset(accounts.values_list("slug", flat=True))
        connections = list(
            Connection.objects.filter(account__in=accounts)
            .select_related("account")
            .only("pk", "provider", "external_id", "account__slug")
        )
    from integrations.providers.qbd import username_for

    orgs: set[str] = set()
    for connection in connections:
        if connection.provider == Provider.QBD:
            # Every sandbox Web Connector run opens the same pretend company file: the user name is
            # what tells one QuickBooks Desktop connection from another.
            orgs.add(username_for(connection))
        elif connection.external_id:
            orgs.add(connection.external_id)
    orgs.update(org_id for _, _, org_id, _ in data.billcom_users_for(slugs))
    return Visible(everything=False, org_ids=frozenset(orgs), account_slugs=slugs)

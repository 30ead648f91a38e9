"""The defaults fallback (integrations.selectors.effective_defaults), the one function routing uses."""

from django_scopes import scope

from integrations.models import IntegrationDefaults
from integrations.selectors import effective_defaults
from tests.factories import ConnectionFactory


def test_defaults_fall_back_to_main_when_their_connection_is_not_live(tenant):
    xero = ConnectionFactory(account=tenant.account, provider="xero")
    billcom = ConnectionFactory(account=tenant.account, provider="billcom", is_main=False)
    IntegrationDefaults.objects.create(account=tenant.account, publishing=billcom, expense_claims=billcom)
    with scope(account=tenant.account):
        assert effective_defaults(tenant.account) == (billcom, billcom)
        type(billcom).objects.filter(pk=billcom.pk).update(status="disconnected")
        assert effective_defaults(tenant.account) == (xero, xero)


def test_a_default_naming_another_accounts_connection_never_applies(tenant, other_tenant):
    xero = ConnectionFactory(account=tenant.account, provider="xero")
    foreign = ConnectionFactory(account=other_tenant.account, provider="billcom", is_main=False)
    # Written around the services on purpose (they refuse it): the read side must still hold.
    IntegrationDefaults.objects.create(account=tenant.account, publishing=foreign, expense_claims=foreign)
    with scope(account=tenant.account):
        assert effective_defaults(tenant.account) == (xero, xero)

"""The disconnect-order guard under real concurrency (PostgreSQL row locks): connecting ApprovalMax in
one request while disconnecting Xero in another can never end with a live additional integration and
no live main software. Exactly one of the two wins each time; the other is refused with its message."""

from __future__ import annotations

from collections import Counter

import pytest

from integrations import services
from integrations.models import LIVE_STATUSES, Connection
from tests.concurrency import race
from tests.factories import AccountFactory, ConnectionFactory

ROUNDS = 20


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_activating_approvalmax_while_disconnecting_xero_never_leaves_it_without_a_main():
    seen: Counter[tuple[str, str]] = Counter()
    for n in range(ROUNDS):
        account = AccountFactory(name=f"Race {n}")
        xero = ConnectionFactory(account=account, provider="xero")
        # The ApprovalMax flow has begun (pending row), as it would have when its callback arrives.
        ConnectionFactory(account=account, provider="approvalmax", is_main=False, status="pending")

        activate, disconnect = race(
            lambda account=account: services.activate_connection(
                account=account,
                acting_user=account.owner,
                provider="approvalmax",
                external_id="am-org",
                external_name="Race AP",
                credentials={"access_token": "t"},
            ),
            lambda account=account, xero=xero: services.disconnect(
                account=account, acting_user=account.owner, connection_id=xero.pk
            ),
        )

        live = set(
            Connection.objects.filter(account=account, status__in=LIVE_STATUSES).values_list(
                "provider", flat=True
            )
        )
        assert not ("approvalmax" in live and "xero" not in live), f"round {n}: {activate=}, {disconnect=}"
        # Exactly one wins: ApprovalMax connected and the disconnect refused, or the other way round.
        assert (activate, disconnect) in {("ok", "disconnect_order"), ("no_main", "ok")}, (
            activate,
            disconnect,
        )
        assert live == ({"xero", "approvalmax"} if activate == "ok" else set())
        seen[(activate, disconnect)] += 1
    assert sum(seen.values()) == ROUNDS

"""Property: the two forms of the effective-integration rule agree on every item.

Hypothesis builds two accounts with random connections (main and additional, every status), random
defaults (including ones naming dead or foreign connections), supplier rules and items of every type
and status, then compares `effective_integration` (Python, one item) with `annotate_routes` (SQL),
for the facts as stored and for the hypothetical facts the impact previews use.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django_scopes import scope, scopes_disabled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costs.impact import compare, default_change_impact, disconnect_impact, unpublished_items
from costs.models import FROZEN_ROUTE_STATUSES, Item, ItemStatus, ItemType
from costs.routing import (
    PUBLISHED,
    PUBLISHING,
    annotate_routes,
    effective_integration,
    load_facts,
    route_id_and_code,
    routes_to,
)
from integrations import catalog
from integrations.models import Connection, IntegrationDefaults
from tests.factories import (
    AccountFactory,
    ConnectionFactory,
    ItemFactory,
    SupplierFactory,
    SupplierRuleFactory,
)

STATUSES = ["active", "needs_reconnect", "disconnected", "pending"]
MAINS = catalog.keys(catalog.main())
ADDITIONAL = catalog.keys(catalog.additional())

# A reference to a connection: (account index 0/1, connection index) or None; resolved modulo the
# connections that exist, so every draw is meaningful.
conn_ref = st.none() | st.tuples(st.sampled_from([0, 0, 0, 1]), st.integers(0, 4))

account_spec = st.fixed_dictionaries(
    {
        "mains": st.lists(st.tuples(st.sampled_from(MAINS), st.sampled_from(STATUSES)), max_size=2),
        "additional": st.lists(st.tuples(st.sampled_from(ADDITIONAL), st.sampled_from(STATUSES)), max_size=2),
        "publishing": conn_ref,
        "expense_claims": conn_ref,
        "rules": st.lists(conn_ref, min_size=0, max_size=3),  # one per supplier; None: no rule
        "items": st.lists(
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(ItemType.values),
                    "status": st.sampled_from(ItemStatus.values),
                    "supplier": st.none() | st.integers(0, 2),
                    "integration": conn_ref,
                    "published_to": conn_ref,
                }
            ),
            max_size=8,
        ),
    }
)


def _build(spec: dict, account) -> list[Connection]:
    connections, live_main = [], False
    seen = set()
    for provider, status in spec["mains"]:
        if provider in seen:
            continue
        # The database allows one live main per account: a second one is stored disconnected.
        if status in ("active", "needs_reconnect"):
            status = "disconnected" if live_main else status
            live_main = True
        seen.add(provider)
        connections.append(ConnectionFactory(account=account, provider=provider, status=status))
    for provider, status in spec["additional"]:
        if provider in seen:
            continue
        seen.add(provider)
        connections.append(
            ConnectionFactory(account=account, provider=provider, status=status, is_main=False)
        )
    return connections


def _resolve(ref, pools: list[list[Connection]]) -> Connection | None:
    if ref is None or not pools[ref[0]]:
        return None
    pool = pools[ref[0]]
    return pool[ref[1] % len(pool)]


def _populate(spec: dict, account, pools, index: int) -> None:
    def conn(ref):
        if ref is None:
            return None
        return _resolve((ref[0] if index == 0 else 1 - ref[0], ref[1]), pools)

    IntegrationDefaults.objects.create(
        account=account, publishing=conn(spec["publishing"]), expense_claims=conn(spec["expense_claims"])
    )
    suppliers = [SupplierFactory(account=account) for _ in range(3)]
    for supplier, rule_ref in zip(suppliers, spec["rules"], strict=False):
        if rule_ref is not None:
            SupplierRuleFactory(supplier=supplier, account=account, integration=conn(rule_ref))
    for item in spec["items"]:
        ItemFactory(
            account=account,
            type=item["type"],
            status=item["status"],
            supplier=suppliers[item["supplier"]] if item["supplier"] is not None else None,
            integration=conn(item["integration"]),
            # Published, or being published: frozen to where it went (or is going: the open attempt's).
            published_to=conn(item["published_to"]) if item["status"] in FROZEN_ROUTE_STATUSES else None,
        )


def _assert_agree(account, facts) -> int:
    items = list(Item.objects.select_related("supplier__rule", "published_to").filter(account=account))
    rows = {row.pk: (row.route_id, row.route_code) for row in annotate_routes(Item.objects.all(), facts)}
    assert set(rows) == {i.pk for i in items}
    for item in items:
        assert route_id_and_code(item, facts) == rows[item.pk], item
    # The inbox's filter by integration (a union of index-friendly branches) picks exactly the items
    # the CASE routes there: for every connection of either account, dead or alive, and for none.
    targets = {None, *Connection.objects.values_list("pk", flat=True)}
    with scopes_disabled():
        targets |= set(Connection.objects.values_list("pk", flat=True))
    for target in targets:
        chosen = set(Item.objects.filter(routes_to(facts, target)).values_list("pk", flat=True))
        assert chosen == {pk for pk, (route_id, _) in rows.items() if route_id == target}, target
    # The forms for rows known to be neither published nor being published (the previews' own) skip
    # the frozen steps, and agree.
    unpublished = Item.objects.exclude(status__in=FROZEN_ROUTE_STATUSES)
    for row in annotate_routes(unpublished, facts, unpublished=True):
        assert (row.route_id, row.route_code) == rows[row.pk], row
    for target in targets:
        chosen = set(
            unpublished.filter(routes_to(facts, target, unpublished=True)).values_list("pk", flat=True)
        )
        assert chosen == {
            pk
            for pk, (route_id, code) in rows.items()
            if route_id == target and code not in (PUBLISHED, PUBLISHING)
        }, target
    return len(items)


def _assert_previews_prune_nothing_that_moves(account, facts, publishing, expense_claims) -> None:
    chosen = {
        "publishing_id": publishing.pk if publishing else None,
        "expense_claims_id": expense_claims.pk if expense_claims else None,
    }
    everything = compare(unpublished_items(account), facts, facts.with_defaults(**chosen))
    assert default_change_impact(account=account, **chosen) == everything
    for connection in Connection.objects.filter(account=account):
        everything = compare(unpublished_items(account), facts, facts.without(connection.pk))
        assert disconnect_impact(account=account, connection=connection).items == everything.items
        assert disconnect_impact(account=account, connection=connection).moves == everything.moves


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=st.tuples(account_spec, account_spec), hypothetical=st.tuples(conn_ref, conn_ref, conn_ref))
def test_python_and_sql_forms_agree_on_every_item(specs, hypothetical):
    with transaction.atomic():
        accounts = [AccountFactory(), AccountFactory()]
        pools = [_build(spec, account) for spec, account in zip(specs, accounts, strict=True)]
        for index, (spec, account) in enumerate(zip(specs, accounts, strict=True)):
            _populate(spec, account, pools, index)
        for account in accounts:
            with scope(account=account):
                facts = load_facts(account)
                _assert_agree(account, facts)
                # The Route (with its words) is built on the same decision.
                for item in Item.objects.select_related("supplier__rule", "published_to"):
                    route = effective_integration(item, facts)
                    assert (route.connection.pk if route.connection else None, route.code) == (
                        route_id_and_code(item, facts)
                    )
                    assert route.reason
                # The hypothetical facts of the impact previews: a connection gone, other defaults,
                # another rule for a supplier.
                gone, publishing, expense_claims = (_resolve(ref, pools) for ref in hypothetical)
                if gone is not None:
                    _assert_agree(account, facts.without(gone.pk))
                _assert_agree(
                    account,
                    facts.with_defaults(
                        publishing_id=publishing.pk if publishing else None,
                        expense_claims_id=expense_claims.pk if expense_claims else None,
                    ),
                )
                # The previews count only the items that can move: the same numbers as comparing
                # every unpublished item.
                _assert_previews_prune_nothing_that_moves(account, facts, publishing, expense_claims)
                for supplier in account.suppliers.all():
                    for target in {None, gone.pk if gone else None, *facts.live}:
                        _assert_agree(
                            account, facts.with_rule(supplier_id=supplier.pk, integration_id=target)
                        )
        transaction.set_rollback(True)

"""What costs does after a connection's lists were read (integrations.lists.lists_read, connected in
CostsConfig.ready): link the account's suppliers to that connection's contacts or vendors, and match the
free text typed before the lists existed (an item's or rule's Category and Tax rate) to entries.

Both in bulk, a few queries per account whatever the number of suppliers and items, and both through the
one matching rule, integrations.lists.find_matches (same code, same name ignoring case, same normalised
name). Neither ever takes away what someone chose or typed:
- a supplier link chosen by hand (or the contact Dext Connect created) is never replaced; an automatic one
  follows the rule's answer; an entry that became inactive leaves its link in place, marked for choosing
  again (SupplierLink.needs_choosing);
- the text stays next to the entry it matched; only items that may still change (To review, Ready,
  Failed) are matched, never published or publishing ones; an item or rule with no match keeps its text
  for the user to choose.
"""

from __future__ import annotations

import logging
import uuid

from django.db import transaction
from django.db.models import BigIntegerField, Case, Q, Value, When
from django.utils import timezone

from accounts.errors import DomainError
from accounts.models import Account
from accounts.tenancy import in_account_scope
from integrations import catalog
from integrations.lists import find_matches, source_for
from integrations.models import Connection, ConnectionStatus, ListEntry, ListKind

from .models import (
    CHANGEABLE_STATUSES,
    SALES_TYPES,
    Item,
    Supplier,
    SupplierLink,
    SupplierMatch,
    SupplierRule,
)
from .routing import annotate_routes, load_facts, rule_route

logger = logging.getLogger("costs.linking")

# Items whose values may still change (the one definition, models.CHANGEABLE_STATUSES): matching old
# text never touches the others.
CHANGEABLE = CHANGEABLE_STATUSES
# Links the matching rule made, and may make again differently.
AUTOMATIC = (SupplierMatch.EXACT, SupplierMatch.NORMALISED)
_CHUNK = 500


def on_lists_read(sender, *, account: Account, connection: Connection, kinds, **kwargs) -> None:
    """The lists_read receiver."""
    if ListKind.SUPPLIER in kinds:
        link_suppliers(account=account, connection=connection)
    if ListKind.ACCOUNT in kinds or ListKind.TAX_RATE in kinds:
        match_free_text(account=account, connection=connection)


@in_account_scope
def link_suppliers(*, account: Account, connection: Connection) -> int:
    """Link each supplier of the account to the connection's contact or vendor of the same name (exact
    first, then normalised) where it has no link yet, a link still waiting for its entry, or an
    automatic one. Returns how many links were made or changed."""
    suppliers = list(Supplier.objects.filter(account=account).values_list("pk", "name"))
    if not suppliers:
        return 0
    matches = find_matches(
        connection=connection, kind=ListKind.SUPPLIER, wanted=[(name, "") for _, name in suppliers]
    )
    now = timezone.now()
    with transaction.atomic():
        # Locked so a link chosen by hand meanwhile (the rule page) is not overwritten by what was read.
        links = {
            link.supplier_id: link
            for link in SupplierLink.objects.filter(
                account=account, connection=connection
            ).select_for_update()
        }
        new, changed = [], []
        for supplier_id, name in suppliers:
            entry = matches.get((name, ""))
            if entry is None:
                continue  # no match: an existing link stays (an inactive entry: needs_choosing)
            how = SupplierMatch.EXACT if entry.name.lower() == name.lower() else SupplierMatch.NORMALISED
            link = links.get(supplier_id)
            if link is None:
                new.append(
                    SupplierLink(
                        account=account,
                        supplier_id=supplier_id,
                        connection=connection,
                        entry=entry,
                        matched_by=how,
                        linked_at=now,
                    )
                )
            elif (link.entry_id is None and link.matched_by != SupplierMatch.CHOSEN) or (
                link.matched_by in AUTOMATIC and (link.entry_id, link.matched_by) != (entry.pk, how)
            ):
                link.entry, link.matched_by, link.linked_at = entry, how, now
                changed.append(link)
        # A link created meanwhile by hand wins (the unique (supplier, connection) pair).
        SupplierLink.objects.bulk_create(new, batch_size=_CHUNK, ignore_conflicts=True)
        SupplierLink.objects.bulk_update(changed, ["entry", "matched_by", "linked_at"], batch_size=_CHUNK)
    return len(new) + len(changed)


def _targets(account: Account, connection: Connection, facts) -> set[int]:
    """The live connections whose items choose from `connection`'s lists (itself; ApprovalMax when it is
    the main software: integrations.lists.source_for decides)."""
    if connection.status != ConnectionStatus.ACTIVE:
        return set()
    return {
        pk for pk, live in facts.live.items() if (source := source_for(live)) and source.pk == connection.pk
    }


def _needs(field: str) -> Q:
    return Q(**{f"{field}_entry__isnull": True}) & ~Q(**{field: ""})


def _fill(queryset, *, field: str, found: dict[str, int]) -> int:
    """One UPDATE: each row of `queryset` whose `field` text was found gets that entry, if it still has
    none (a value chosen meanwhile stands)."""
    if not found:
        return 0
    return queryset.filter(**{f"{field}__in": list(found), f"{field}_entry__isnull": True}).update(
        **{
            f"{field}_entry_id": Case(
                *(When(**{field: text}, then=Value(entry_id)) for text, entry_id in found.items()),
                default=None,
                output_field=BigIntegerField(),
            )
        }
    )


def _found(connection: Connection, kind: str, use: str, texts) -> dict[str, int]:
    """text -> the id of the entry the matching rule finds for it (texts without a match left out)."""
    matches = find_matches(connection=connection, kind=kind, wanted=[(text, "") for text in texts], use=use)
    return {name: entry.pk for (name, _), entry in matches.items()}


FIELDS = (("category", ListKind.ACCOUNT), ("tax_rate", ListKind.TAX_RATE))


@in_account_scope
def match_free_text(*, account: Account, connection: Connection) -> int:
    """Items and supplier rules routed to software that chooses from `connection`'s lists, whose
    Category or Tax rate is text with no entry yet, get the entry the matching rule finds (cost items
    and rules among the entries for costs, sales items among those for sales). Returns how many values
    were matched. Items go by their effective integration (costs/routing.py, computed in SQL, so the
    number of queries does not grow with the number of items); a rule by where its supplier's bills go
    (routing.rule_route, as the rule page decides whose lists it offers)."""
    facts = load_facts(account)
    targets = _targets(account, connection, facts)
    if not targets:
        return 0
    routed = annotate_routes(Item.objects.filter(account=account, status__in=CHANGEABLE), facts).filter(
        route_id__in=targets
    )
    rule_ids = []
    for rule in SupplierRule.objects.filter(account=account).filter(_needs("category") | _needs("tax_rate")):
        route = rule_route(facts, integration_id=rule.integration_id)  # where its supplier's bills go
        if route.connection is not None and route.connection.pk in targets:
            rule_ids.append(rule.pk)
    rules = SupplierRule.objects.filter(account=account, pk__in=rule_ids)

    matched = 0
    with transaction.atomic():
        for field, kind in FIELDS:
            for use, types in (("costs", ~Q(type__in=SALES_TYPES)), ("sales", Q(type__in=SALES_TYPES))):
                items = routed.filter(types)
                texts = set(items.filter(_needs(field)).order_by().values_list(field, flat=True).distinct())
                if texts:
                    matched += _fill(items, field=field, found=_found(connection, kind, use, texts))
            if rule_ids:
                texts = set(rules.filter(_needs(field)).order_by().values_list(field, flat=True).distinct())
                if texts:
                    matched += _fill(rules, field=field, found=_found(connection, kind, "costs", texts))
    if matched:
        logger.info("Account %s: %s old values matched to %s's lists", account.pk, matched, connection.label)
    return matched


# --- a supplier the provider does not have yet -----------------------------------------------------


@in_account_scope
def supplier_in(*, account: Account, supplier: Supplier, connection: Connection) -> SupplierLink:
    """The supplier's contact or vendor in the software whose lists `connection` uses (lists.source_for:
    ApprovalMax's are the main software's), creating it there when it has none — what publishing calls
    before a supplier's first bill (PRODUCT.md "Suppliers").

    In order: the link's entry when it is still active; else the matching rule (same name, then
    normalised name) over the lists as last read; else a create through the provider's adapter, under
    an idempotency key kept on the link from the first attempt (`create_key`: Xero's Idempotency-Key,
    QuickBooks Online's requestid; Bill.com has none, its adapter looks the name up first), so a retry
    after a lost answer never makes a second contact. QuickBooks Desktop's vendors are added through
    the Web Connector with the bill (issue 10), not here. Raises the provider's errors (ProviderError
    and its kinds) and DomainError for software without lists."""
    from integrations import lists
    from integrations.provider_calls import caller_for

    source = source_for(connection)
    info = catalog.provider_info(source.provider) if source is not None else None
    if source is None or info is None or ListKind.SUPPLIER not in info.lists or info.lists_read != "api":
        raise DomainError(
            f"{connection.label} cannot have suppliers created by Dext Connect.", code="no_supplier_create"
        )
    if source.status != ConnectionStatus.ACTIVE:
        raise DomainError(f"{source.label} is not connected.", code="not_active")
    link, _ = SupplierLink.objects.get_or_create(account=account, supplier=supplier, connection=source)
    if link.entry_id and link.entry.active:
        return link
    found = lists.find_match(connection=source, kind=ListKind.SUPPLIER, name=supplier.name)
    if found is not None:
        exact = found.name.lower() == supplier.name.lower()
        SupplierLink.objects.filter(pk=link.pk).update(
            entry=found,
            matched_by=SupplierMatch.EXACT if exact else SupplierMatch.NORMALISED,
            linked_at=timezone.now(),
        )
        link.refresh_from_db()
        return link
    # One key for every attempt: of two attempts at once, both use the one the first UPDATE stored.
    SupplierLink.objects.filter(pk=link.pk, create_key="").update(create_key=uuid.uuid4().hex)
    link.refresh_from_db()
    adapter = info.load_adapter()
    adapter = adapter() if isinstance(adapter, type) else adapter
    created = adapter.create_supplier(
        caller_for(source), organisation=source.external_id, name=supplier.name, key=link.create_key
    )
    lists.store_entries(connection=source, kind=ListKind.SUPPLIER, entries=[created], complete=False)
    entry = ListEntry.objects.get(connection=source, kind=ListKind.SUPPLIER, external_id=created.external_id)
    SupplierLink.objects.filter(pk=link.pk).update(
        entry=entry, matched_by=SupplierMatch.CREATED, linked_at=timezone.now()
    )
    link.refresh_from_db()
    logger.info("Supplier %s created in %s as %s", supplier.pk, source.label, created.external_id)
    return link

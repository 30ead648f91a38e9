"""Xero: OAuth 2.0 + PKCE, then GET /connections (xero-identity.yaml) lists the tenants the user has
connected to our app; the user picks one of THIS consent's tenants and its tenantId is kept.

- Scopes: apps created on or after 2 March 2026 get the granular scopes only
  (https://developer.xero.com/faq/granular-scopes): accounting.invoices (bills, credit notes),
  accounting.contacts, accounting.settings (accounts, tax rates, organisation),
  accounting.attachments, and offline_access for a refresh token. No OpenID scopes: nothing reads an
  id_token.
- GET /connections answers with every connection the Xero user has to our app, from every consent.
  Only the tenants of this consent are offered: its auth event id is the access token's
  `authentication_event_id` claim; Xero filters with `?authEventId=` and we filter again.
- Disconnect (`end_grant`): DELETE /connections/{id} removes this tenant's connection. The refresh
  token is then revoked at the revocation endpoint, which "revoke[s] access tokens and remove[s] all a
  user's connections" (XeroAPI/xero-python `TokenApi.revoke_token`), unless the user still has a
  connection to a tenant another live Dext connection uses: revoking would cut that one off too.

Lists (integrations/providers/lists.py; calls and sources in docs/providers.md, "Provider calls and
their documentation"), every call with `xero-tenant-id: <organisation>` under XERO_API_URL:
- Chart of accounts: GET /Accounts (getAccounts): no paging. With a cursor, `If-Modified-Since` and
  the answer holds only what changed (complete=False); without one, a full read (complete=True).
- Tax rates: GET /TaxRates (getTaxRates): no paging and no `If-Modified-Since` in Xero's spec, so every
  read is full (a few dozen rates).
- Suppliers: GET /Contacts (getContacts), `page` from 1 with `pageSize`, `includeArchived=true` (an
  archived contact must become inactive here, not silently stay chosen), `summaryOnly=true` (the
  lightweight fields: we need the id, name, status and change time only), `If-Modified-Since` when
  incremental. EVERY contact is kept, not only `IsSupplier` ones: Xero sets IsSupplier only once a
  bill exists for the contact (docs/provider-research.md, 1.1), so a new supplier, or a customer we
  are about to send a first bill for, would be missing from the list otherwise.
- The cursor is the newest UpdatedDateUTC seen (Xero's `/Date(ms+0000)/`), to the whole second (Xero:
  "accurate to the second"), as ISO 8601 in UTC the way Xero's own SDK sends the header
  (xero-python `serialize_datetime`: `datetime.isoformat()`). Rounding down can only re-read the
  newest entries again, which is harmless; it never skips a change.
- Creating a supplier: PUT /Contacts (createContacts) with `Idempotency-Key`, so a retry returns the
  first contact instead of making a second. A name already used by an active contact is refused with
  a ValidationException; the existing contact is then looked up (GET /Contacts?searchTerm=, which
  needs no escaping of quotes in the name, then the same name compared here) and returned.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .base import (
    GrantEnded,
    GrantRevoked,
    OAuthProvider,
    Organisation,
    ProviderError,
    ProviderRefused,
    TokenSet,
)
from .lists import ACCOUNT, SUPPLIER, TAX_RATE, Caller, EntryData, ListPage

logger = logging.getLogger("integrations.providers")


class Xero(OAuthProvider):
    key = "xero"
    remove_access_hint = "remove the app in Xero > Settings > Connected apps"

    def organisations(self, *, tokens: TokenSet, callback: dict[str, str]) -> list[Organisation]:
        auth_event = str(tokens.jwt_claims().get("authentication_event_id") or "")
        if auth_event:
            connections = self._get_json(
                self._conf("CONNECTIONS_URL"), tokens, params={"authEventId": auth_event}
            )
            connections = [c for c in connections if c.get("authEventId") == auth_event]
        else:
            # Xero's access tokens are JWTs carrying the claim; without it every connection of the
            # user is offered, and the user chooses.
            logger.warning("Xero access token carries no authentication_event_id: listing every connection")
            connections = self._get_json(self._conf("CONNECTIONS_URL"), tokens)
        orgs = [
            Organisation(
                id=c["tenantId"],
                name=c.get("tenantName") or c["tenantId"],
                grant={"xero_connection_id": str(c.get("id") or ""), "xero_auth_event_id": auth_event},
            )
            for c in connections
            # Practice tenants (Xero HQ) hold no books to publish bills to.
            if c.get("tenantType", "ORGANISATION") == "ORGANISATION"
        ]
        if not orgs:
            raise ProviderError(
                "No Xero organisation was shared with Dext. Start again and tick the organisation "
                "on Xero's consent screen.",
                code="no_organisation",
            )
        return orgs

    def end_grant(
        self, *, credentials: dict[str, Any], external_id: str, shared: Callable[[list[str]], bool]
    ) -> GrantEnded:
        try:
            tokens = self._fresh_tokens(credentials)
            connections_url = self._conf("CONNECTIONS_URL")
            connection_id = credentials.get("xero_connection_id") or ""
            if not connection_id:
                # Connected before the id was kept: find this tenant's connection.
                listed = self._get_json(connections_url, tokens)
                connection_id = next((c["id"] for c in listed if c.get("tenantId") == external_id), "")
            if connection_id:
                response = self._delete(f"{connections_url}/{connection_id}", tokens)
                removed = "removed the connection" if response != 404 else "the connection was already gone"
            else:
                removed = "the connection was already gone"
            remaining = [c.get("tenantId", "") for c in self._get_json(connections_url, tokens)]
            if remaining and shared(remaining):
                return GrantEnded(
                    detail=f"{removed}; access kept, because the same Xero user's other connections to "
                    "Dext Connect are still in use"
                )
            self._revoke(tokens.refresh_token)
        except GrantRevoked:
            # The grant had already ended (revoked in Xero, or unused for 60 days): nothing to tell.
            return GrantEnded(detail="Xero had already ended Dext Connect's access")
        return GrantEnded(detail=f"{removed} and revoked Dext Connect's access")

    def _delete(self, url: str, tokens: TokenSet) -> int:
        response = self._send("DELETE", url, headers={"Authorization": f"Bearer {tokens.access_token}"})
        if response.status_code == 404:  # xero-identity.yaml deleteConnection: "Resource not found"
            return 404
        self._check(response, f"DELETE {url}")
        return response.status_code

    def _revoke(self, refresh_token: str) -> None:
        """POST token=<refresh token>, client credentials in the body, as Xero's own SDK does."""
        self._revocation(
            data={
                "token": refresh_token,
                "client_id": self._conf("CLIENT_ID"),
                "client_secret": self._conf("CLIENT_SECRET"),
            }
        )

    # --- lists (integrations/providers/lists.py) -------------------------------------------------

    def read_list(
        self, caller: Caller, *, organisation: str, kind: str, since: str = ""
    ) -> Iterator[ListPage]:
        if kind == ACCOUNT:
            yield self._accounts(caller, organisation, since)
        elif kind == TAX_RATE:
            yield self._tax_rates(caller, organisation)
        elif kind == SUPPLIER:
            yield from self._contacts(caller, organisation, since)
        else:
            raise ValueError(f"Xero keeps no {kind!r} list.")

    def create_supplier(self, caller: Caller, *, organisation: str, name: str, key: str) -> EntryData:
        headers = {**_tenant(organisation), "Idempotency-Key": key}
        try:
            answer = caller.request(
                "PUT", self._url("Contacts"), json={"Contacts": [{"Name": name}]}, headers=headers
            )
        except ProviderRefused as exc:
            problems = _validation_messages(exc.answer)
            if exc.status != 400 or problems is None:
                raise
            return self._existing_contact(caller, organisation, name, problems)
        contacts = (answer or {}).get("Contacts") or [{}]
        # With summarizeErrors=false Xero answers 200 and puts the refusal on the contact itself.
        problems = [str(p.get("Message", "")) for p in contacts[0].get("ValidationErrors") or []]
        if problems or contacts[0].get("HasValidationErrors"):
            return self._existing_contact(caller, organisation, name, problems)
        if not contacts[0].get("ContactID"):
            raise ProviderError(
                f"{self.label} did not say which contact it created for {name}. Try again in a few minutes.",
                code="bad_response",
            )
        return _contact(contacts[0])

    def _url(self, resource: str) -> str:
        return f"{self._conf('API_URL')}/{resource}"

    def _accounts(self, caller: Caller, organisation: str, since: str) -> ListPage:
        headers = {**_tenant(organisation), **({"If-Modified-Since": since} if since else {})}
        answer = caller.request("GET", self._url("Accounts"), headers=headers) or {}
        accounts = answer.get("Accounts") or []
        entries = [_account(a) for a in accounts]
        return ListPage(entries=entries, last=True, complete=not since, cursor=_cursor(entries, since))

    def _tax_rates(self, caller: Caller, organisation: str) -> ListPage:
        answer = caller.request("GET", self._url("TaxRates"), headers=_tenant(organisation)) or {}
        entries = [_tax_rate(t) for t in answer.get("TaxRates") or []]
        # Read in full every time (no If-Modified-Since on TaxRates): no cursor.
        return ListPage(entries=entries, last=True, complete=True, cursor="")

    def _contacts(self, caller: Caller, organisation: str, since: str) -> Iterator[ListPage]:
        headers = {**_tenant(organisation), **({"If-Modified-Since": since} if since else {})}
        seen: list[EntryData] = []
        page = 1
        while True:
            answer = (
                caller.request(
                    "GET",
                    self._url("Contacts"),
                    params={
                        "page": page,
                        "pageSize": CONTACTS_PAGE_SIZE,
                        "includeArchived": "true",
                        "summaryOnly": "true",
                    },
                    headers=headers,
                )
                or {}
            )
            entries = [_contact(c) for c in answer.get("Contacts") or []]
            seen.extend(entries)
            if _last_page(answer, page, len(entries)):
                yield ListPage(entries=entries, last=True, complete=not since, cursor=_cursor(seen, since))
                return
            yield ListPage(entries=entries)
            page += 1

    def _existing_contact(
        self, caller: Caller, organisation: str, name: str, problems: list[str]
    ) -> EntryData:
        """After Xero refused to create `name`: the active contact that already has that name (Xero's
        names are unique among active contacts), else Xero's refusal in its own words."""
        wanted = " ".join(name.split()).casefold()
        page = 1
        # A blank name matches nothing (and an empty searchTerm would page through every contact).
        while wanted:
            answer = (
                caller.request(
                    "GET",
                    self._url("Contacts"),
                    params={"searchTerm": name, "page": page, "pageSize": CONTACTS_PAGE_SIZE},
                    headers=_tenant(organisation),
                )
                or {}
            )
            contacts = answer.get("Contacts") or []
            same = [
                c
                for c in contacts
                if " ".join(str(c.get("Name", "")).split()).casefold() == wanted
                and c.get("ContactStatus", "ACTIVE") == "ACTIVE"
            ]
            if same:
                exact = [c for c in same if c.get("Name") == name]
                return _contact((exact or same)[0])
            if _last_page(answer, page, len(contacts)):
                break
            page += 1
        said = "; ".join(p for p in problems if p) or "a validation error"
        logger.warning("Xero refused to create the contact %r: %s", name, said)
        who = f"the supplier {name.strip()}" if name.strip() else "a supplier without a name"
        raise ProviderError(f"{self.label} did not create {who}: {said}", code="validation")


# --- reading Xero's answers --------------------------------------------------------------------------

# GET /Contacts pages: "Up to 100 contacts will be returned in a single API call" (getContacts `page`);
# `pageSize` asks for the same explicitly.
CONTACTS_PAGE_SIZE = 100

# Chart of accounts: which accounts a cost item (bill, receipt, expense claim) or a sales item may be
# coded to. Costs: the expense class (direct costs, overheads, expense, depreciation) and fixed assets
# (equipment bought on a bill); sales: the revenue class (revenue, sales, other income). Bank accounts,
# current assets, liabilities and equity are neither: a bill line is not coded to them.
_COST_TYPES = {"DIRECTCOSTS", "OVERHEADS", "EXPENSE", "DEPRECIATN", "FIXED"}
_SALES_TYPES = {"REVENUE", "SALES", "OTHERINCOME"}
# Xero's account types (xero_accounting.yaml AccountType) as its chart of accounts shows them.
_ACCOUNT_TYPES = {
    "BANK": "Bank",
    "CURRENT": "Current asset",
    "CURRLIAB": "Current liability",
    "DEPRECIATN": "Depreciation",
    "DIRECTCOSTS": "Direct costs",
    "EQUITY": "Equity",
    "EXPENSE": "Expense",
    "FIXED": "Fixed asset",
    "INVENTORY": "Inventory",
    "LIABILITY": "Liability",
    "NONCURRENT": "Non-current asset",
    "OTHERINCOME": "Other income",
    "OVERHEADS": "Overhead",
    "PREPAYMENT": "Prepayment",
    "REVENUE": "Revenue",
    "SALES": "Sales",
    "TERMLIAB": "Non-current liability",
    "PAYG": "PAYG liability",
}
# Statuses that can no longer be chosen (Account/TaxRate Status, Contact ContactStatus).
_GONE = {"ARCHIVED", "DELETED", "GDPRREQUEST"}

_MS_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


def _tenant(organisation: str) -> dict[str, str]:
    return {"xero-tenant-id": organisation}


def parse_date(value: Any) -> datetime | None:
    """Xero's JSON dates, "/Date(1700000000000+0000)/": milliseconds since the epoch (the offset
    describes the organisation's time zone, not the instant)."""
    found = _MS_DATE.search(str(value or ""))
    if not found:
        return None
    return datetime.fromtimestamp(int(found.group(1)) / 1000, tz=UTC)


def _cursor(entries: list[EntryData], since: str) -> str:
    """The If-Modified-Since for the next read: the newest change seen, to the second; the previous
    cursor when nothing changed."""
    changed = [e.changed_at for e in entries if e.changed_at is not None]
    if not changed:
        return since
    return max(changed).astimezone(UTC).replace(microsecond=0).isoformat()


def _last_page(answer: dict, page: int, count: int) -> bool:
    """The last page: fewer than a full page, or the page Xero's `pagination.pageCount` says is last."""
    pages = (answer.get("pagination") or {}).get("pageCount")
    return count < CONTACTS_PAGE_SIZE or (isinstance(pages, int) and page >= pages)


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None and value != "" else None
    except InvalidOperation:
        return None


def _account(a: dict) -> EntryData:
    type_ = str(a.get("Type") or "")
    class_ = str(a.get("Class") or "")
    return EntryData(
        kind=ACCOUNT,
        external_id=str(a.get("AccountID") or ""),
        code=str(a.get("Code") or ""),
        name=str(a.get("Name") or ""),
        detail=_ACCOUNT_TYPES.get(type_, type_.title()),
        for_costs=type_ in _COST_TYPES or (type_ not in _ACCOUNT_TYPES and class_ == "EXPENSE"),
        for_sales=type_ in _SALES_TYPES or (type_ not in _ACCOUNT_TYPES and class_ == "REVENUE"),
        active=str(a.get("Status") or "ACTIVE") not in _GONE,
        changed_at=parse_date(a.get("UpdatedDateUTC")),
    )


def _tax_rate(t: dict) -> EntryData:
    rate = _decimal(t.get("EffectiveRate"))
    if rate is None:
        rate = _decimal(t.get("DisplayTaxRate"))
    tax_type = str(t.get("TaxType") or "")
    return EntryData(
        kind=TAX_RATE,
        external_id=tax_type,
        code=tax_type,
        name=str(t.get("Name") or tax_type),
        detail=f"{format(rate.normalize(), 'f')}%" if rate is not None else "",
        rate=rate,
        for_costs=bool(t.get("CanApplyToExpenses")),
        for_sales=bool(t.get("CanApplyToRevenue")),
        active=str(t.get("Status") or "ACTIVE") not in _GONE,
    )


def _contact(c: dict) -> EntryData:
    return EntryData(
        kind=SUPPLIER,
        external_id=str(c.get("ContactID") or ""),
        name=str(c.get("Name") or ""),
        active=str(c.get("ContactStatus") or "ACTIVE") not in _GONE,
        changed_at=parse_date(c.get("UpdatedDateUTC")),
    )


def _validation_messages(answer: Any) -> list[str] | None:
    """The messages of Xero's ValidationException (ErrorNumber 10, `Elements[].ValidationErrors`), or
    None when the answer is not one."""
    if not isinstance(answer, dict) or answer.get("Type") != "ValidationException":
        return None
    return [
        str(error.get("Message", ""))
        for element in answer.get("Elements") or []
        if isinstance(element, dict)
        for error in element.get("ValidationErrors") or []
        if isinstance(error, dict)
    ]

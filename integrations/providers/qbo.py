"""QuickBooks Online: OAuth 2.0 + PKCE; the company (realmId) comes back on the callback, and its name
from the CompanyInfo API.

- Every API call sends `minorversion=75` and `Accept: application/json`. Intuit answers a request
  without minorversion in 75 anyway and documents Accept as optional (see docs/providers.md), so this
  pins what we parse rather than avoiding a refusal.
- Token requests ask for the five-year refresh-token maximum (`x-include-refresh-token-hard-expires-in:
  true`); the rolling and the hard expiry are kept with the tokens (TokenSet).
- Disconnect revokes the refresh token at Intuit's revoke endpoint (JSON `{"token": …}`, HTTP Basic
  client credentials, as intuit/oauth-jsclient and oauth-pythonclient do), unless another live Dext
  connection is to the same company.
- Lists (`read_list`, the contract of providers/lists.py) come from the query endpoint, page by page
  (`STARTPOSITION`/`MAXRESULTS`, 1000 a page); `create_supplier` creates a Vendor under `requestid`.
  What each call relies on, with Intuit's documentation: docs/providers.md, "QuickBooks Online".
- A refusal with Intuit's `Fault` body is a ProviderError carrying Intuit's error code and words; 429
  (Intuit's throttle: 500 requests a minute, 10 at once, per company) is RateLimited.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import requests

from .base import (
    GrantEnded,
    GrantRevoked,
    OAuthProvider,
    Organisation,
    ProviderError,
    TokenSet,
)
from .lists import ACCOUNT, SUPPLIER, TAX_RATE, Caller, EntryData, ListPage

logger = logging.getLogger("integrations.providers")

MINOR_VERSION = "75"

# The most entities one query answers (MAXRESULTS). Intuit's own query page shows the clause but not its
# ceiling; 1000 is what Intuit's SDK users and integrators document (docs/providers.md), and a page with
# fewer than this many entities is the last.
QUERY_PAGE = 1000
# The query entity of each list. TaxCode (the code a line carries), not TaxRate (the agency rates behind
# a code): a bill line's TaxCodeRef names a TaxCode.
ENTITIES = {ACCOUNT: "Account", TAX_RATE: "TaxCode", SUPPLIER: "Vendor"}
# Read from a cursor (MetaData.LastUpdatedTime) after the first full read. Not TaxCode: Intuit's change
# data capture leaves TaxCode and TaxRate out, so a tax code's change time is not relied on either; the
# list is a handful of codes, read whole every time.
INCREMENTAL = frozenset({ACCOUNT, SUPPLIER})
# Account types a bill line may post to, and the ones sales post to (Intuit's AccountType values).
COST_ACCOUNT_TYPES = frozenset(
    {"Expense", "Other Expense", "Cost of Goods Sold", "Fixed Asset", "Other Current Asset", "Other Asset"}
)
SALES_ACCOUNT_TYPES = frozenset({"Income", "Other Income"})
# Intuit's ValidationFault 6240 "Duplicate Name Exists Error": the DisplayName is taken by a vendor,
# customer or employee (names are unique across the three), active or not.
DUPLICATE_NAME = "6240"
# Intuit: a requestid has at most 50 characters (blogs.intuit.com/2015/04/06/15346).
REQUEST_ID_MAX = 50


def query_literal(value: str) -> str:
    """A string for a query, quoted: Intuit's query language escapes special characters such as the
    apostrophe with a backslash ("O\\'Brien")."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def request_id(key: str) -> str:
    """`key` as a requestid: longer keys than Intuit takes become a fixed digest of themselves, so the
    same key always sends the same requestid."""
    return key if len(key) <= REQUEST_ID_MAX else hashlib.sha256(key.encode()).hexdigest()[:REQUEST_ID_MAX]


def _time(value: Any) -> datetime | None:
    """An Intuit date-time ("2026-01-05T01:00:00-08:00"), or None when absent or unreadable."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else None


def _fault(response: requests.Response) -> tuple[str, str]:
    """(code, words) of Intuit's error body {"Fault": {"Error": [{Message, Detail, code}], "type"}}, or
    ("", "") when the body is not one."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    errors = ((body or {}).get("Fault") or {}).get("Error") if isinstance(body, dict) else None
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    code = str(first.get("code") or "")
    words = ": ".join(str(first[k]) for k in ("Message", "Detail") if first.get(k))
    return code, words


class QuickBooksOnline(OAuthProvider):
    key = "qbo"
    token_headers = {"x-include-refresh-token-hard-expires-in": "true"}
    api_params = {"minorversion": MINOR_VERSION}
    remove_access_hint = "disconnect Dext Connect in QuickBooks Online's list of connected apps"

    def organisations(self, *, tokens: TokenSet, callback: dict[str, str]) -> list[Organisation]:
        realm_id = (callback.get("realmId") or "").strip()
        if not realm_id:
            raise ProviderError(
                "QuickBooks Online did not say which company you chose. Start again and choose a company.",
                code="no_realm",
            )
        info = self._get_json(f"{self._conf('API_URL')}/company/{realm_id}/companyinfo/{realm_id}", tokens)
        name = (info.get("CompanyInfo") or {}).get("CompanyName") or f"Company {realm_id}"
        return [Organisation(id=realm_id, name=name)]

    def end_grant(
        self, *, credentials: dict[str, Any], external_id: str, shared: Callable[[list[str]], bool]
    ) -> GrantEnded:
        if shared([external_id]):
            return GrantEnded(
                detail="access kept, because another Dext Connect account is connected to the same company"
            )
        token = credentials.get("refresh_token") or credentials.get("access_token") or ""
        try:
            self._revocation(
                json={"token": token},
                auth=(self._conf("CLIENT_ID"), self._conf("CLIENT_SECRET")),
            )
        except GrantRevoked:
            return GrantEnded(detail="QuickBooks Online had already ended Dext Connect's access")
        return GrantEnded(detail="revoked Dext Connect's access")

    # --- API errors ----------------------------------------------------------------------------

    def _check(self, response: requests.Response, call: str) -> None:
        """A refusal with a Fault body keeps Intuit's code (e.g. 6240) and words for the caller;
        anything else, Intuit's throttle (429: RateLimited) included, as every provider (base class)."""
        if 400 <= response.status_code < 500 and response.status_code not in (401, 429):
            code, words = _fault(response)
            if code:
                logger.warning(
                    "%s %s answered %s: %s %s", self.label, call, response.status_code, code, words
                )
                raise ProviderError(f"{self.label} refused the request: {words or code}.", code=code)
        super()._check(response, call)

    # --- lists (integrations/providers/lists.py) -------------------------------------------------

    def _company_url(self, organisation: str, path: str) -> str:
        return f"{self._conf('API_URL')}/company/{organisation}/{path}"

    def _query(self, caller: Caller, organisation: str, entity: str, statement: str) -> list[dict]:
        """The entities one query answers. An empty answer is {"QueryResponse": {}}."""
        body = caller.request("GET", self._company_url(organisation, "query"), params={"query": statement})
        answer = body.get("QueryResponse") if isinstance(body, dict) else None
        rows = answer.get(entity, []) if isinstance(answer, dict) else None
        if not isinstance(rows, list):
            logger.warning("%s query answered without QueryResponse: %r", self.label, str(body)[:300])
            raise ProviderError(
                f"{self.label} sent an answer we could not read. Try again in a few minutes.",
                code="bad_response",
            )
        return [row for row in rows if isinstance(row, dict)]

    def read_list(self, caller: Caller, *, organisation: str, kind: str, since: str) -> Iterator[ListPage]:
        """Every entity of the list, active or not (a query answers active ones only unless asked:
        `Active IN (true, false)`), 1000 a page. From a cursor (accounts, vendors): those changed at or
        after it (`>=`: Intuit's times are whole seconds, so a change in the cursor's own second is not
        missed; the few entities of that second are read again). The cursor is the newest
        MetaData.LastUpdatedTime read, with Intuit's offset (a time of the company's time zone)."""
        entity = ENTITIES[kind]
        since_time = _time(since) if kind in INCREMENTAL else None
        where = "Active IN (true, false)"
        if since_time is not None:
            where += f" AND MetaData.LastUpdatedTime >= {query_literal(since_time.isoformat())}"
        newest = since_time
        start = 1
        while True:
            rows = self._query(
                caller,
                organisation,
                entity,
                f"SELECT * FROM {entity} WHERE {where} STARTPOSITION {start} MAXRESULTS {QUERY_PAGE}",
            )
            entries = [entry for row in rows if (entry := self.entry(kind, row)) is not None]
            for entry in entries:
                if entry.changed_at is not None and (newest is None or entry.changed_at > newest):
                    newest = entry.changed_at
            last = len(rows) < QUERY_PAGE
            yield ListPage(
                entries=entries,
                last=last,
                complete=last and since_time is None,
                cursor=newest.isoformat() if last and newest is not None and kind in INCREMENTAL else "",
            )
            if last:
                return
            start += QUERY_PAGE

    def entry(self, kind: str, row: dict) -> EntryData | None:
        """One Account, TaxCode or Vendor as a list entry; None (logged) for one without an Id or name."""
        changed = _time((row.get("MetaData") or {}).get("LastUpdatedTime"))
        active = row.get("Active", True) is not False
        external_id = str(row.get("Id") or "")
        if kind == ACCOUNT:
            # A sub-account's Name is unique only under its parent ("Fuel" under Automobile and under
            # Travel): FullyQualifiedName ("Automobile:Fuel") is what tells them apart in a list.
            name = str(row.get("FullyQualifiedName") or row.get("Name") or "")
            account_type = str(row.get("AccountType") or "")
            data = EntryData(
                kind=kind,
                external_id=external_id,
                name=name,
                code=str(row.get("AcctNum") or ""),
                detail=account_type,
                for_costs=account_type in COST_ACCOUNT_TYPES,
                for_sales=account_type in SALES_ACCOUNT_TYPES,
                active=active,
                changed_at=changed,
            )
        elif kind == TAX_RATE:
            name = str(row.get("Name") or "")
            sales = ((row.get("SalesTaxRateList") or {}).get("TaxRateDetail")) or []
            purchases = ((row.get("PurchaseTaxRateList") or {}).get("TaxRateDetail")) or []
            # A code with rate lists says which side it taxes; a US code without them (TAX, NON) may be
            # used on either.
            either = not sales and not purchases
            data = EntryData(
                kind=kind,
                external_id=external_id,
                name=name,
                code=name,
                detail=str(row.get("Description") or ""),
                for_costs=either or bool(purchases),
                for_sales=either or bool(sales),
                active=active,
                changed_at=changed,
            )
        else:
            name = str(row.get("DisplayName") or "")
            data = EntryData(kind=kind, external_id=external_id, name=name, active=active, changed_at=changed)
        if not external_id or not name:
            logger.warning("%s %s without an Id or a name skipped: %r", self.label, kind, str(row)[:200])
            return None
        return data

    def find_vendor(self, caller: Caller, *, organisation: str, name: str) -> EntryData | None:
        """The vendor named `name`, active or not: DisplayName is unique among vendors regardless of
        case, so one that differs only in case is the same name to Intuit."""
        rows = self._query(
            caller,
            organisation,
            "Vendor",
            f"SELECT * FROM Vendor WHERE DisplayName = {query_literal(name)} AND Active IN (true, false)",
        )
        found = [entry for row in rows if (entry := self.entry(SUPPLIER, row)) is not None]
        same = [e for e in found if e.name.casefold() == name.casefold()]
        return next((e for e in same if e.name == name), same[0] if same else None)

    def create_supplier(self, caller: Caller, *, organisation: str, name: str, key: str) -> EntryData:
        """POST /vendor under `requestid` = `key`: Intuit answers a repeated requestid with the first
        answer instead of creating again, so a retry of a create whose answer was lost gets the same
        vendor. Intuit refuses a second vendor of the same name (6240): the existing vendor of that
        name is the one meant, and is returned (inactive if it is: the caller decides). A customer or
        employee holding the name is a refusal the user must resolve in QuickBooks Online."""
        params = {"requestid": request_id(key)} if key else None
        try:
            body = caller.request(
                "POST", self._company_url(organisation, "vendor"), params=params, json={"DisplayName": name}
            )
        except ProviderError as exc:
            if exc.code != DUPLICATE_NAME:
                raise
            found = self.find_vendor(caller, organisation=organisation, name=name)
            if found is None:
                raise ProviderError(
                    f"{self.label} already has a customer or employee named \u201c{name}\u201d, and a "
                    f"vendor cannot have the same name. Rename one of them in {self.label}, or link the "
                    f"supplier to another vendor.",
                    code=DUPLICATE_NAME,
                ) from exc
            return found
        vendor = body.get("Vendor") if isinstance(body, dict) else None
        entry = self.entry(SUPPLIER, vendor) if isinstance(vendor, dict) else None
        if entry is None:
            raise ProviderError(
                f"{self.label} sent an answer we could not read. Try again in a few minutes.",
                code="bad_response",
            )
        return entry

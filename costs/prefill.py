"""What is read from a PDF's text layer — the supplier, the date, the total and the tax — and offered on
the item page as pre-filled values for the user to confirm ("Use these values"), never applied silently.
Images are not read: there is no OCR.

At upload, `read_text` keeps what the text says (the supplier's name as written, an ISO date, amounts as
strings) on the document (`Document.suggested`). On the item page, `offer` matches the name against the
account's suppliers and the lists of the software the item publishes to (the one matching rule,
integrations.lists.find_match), and drops what the item already has. `apply_offer` saves the offer
through services.update_item, so the supplier's rule fills Category, Tax rate and Payment method as any
save does, and the activity log says what changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db.models.functions import Lower
from django.utils import timezone

from accounts.errors import DomainError
from accounts.models import Account, User
from accounts.tenancy import in_account_scope
from integrations.lists import find_match, normalise
from integrations.models import ListKind

from . import lists, services
from .models import Document, Item, Supplier, SupplierLink, is_changeable
from .routing import RoutingFacts, load_facts

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        1,
    )
    for name in names
}
_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
DATE_PATTERNS = [
    ("iso", re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")),
    ("numeric", re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})\b")),
    ("day_month", re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH}\.?,?\s+(\d{{4}})\b", re.I)),
    ("month_day", re.compile(rf"\b{_MONTH}\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I)),
]
# 1,234.56 / 1 234.56 / 1234.56 / 1.234,56 / 1234,56 — always two decimals; never a percentage.
AMOUNT = re.compile(r"(?<![\d.,])(-?\d{1,3}(?:[,. \u00a0]\d{3})*(?:[.,]\d{2})|-?\d+[.,]\d{2})(?![\d%])")
TOTAL_LINE = re.compile(r"\b(grand total|total due|amount due|balance due|total)\b", re.I)
NOT_TOTAL = re.compile(r"\b(sub[- ]?total|total (?:net|vat|tax|excl?)|net total)\b", re.I)
TAX_LINE = re.compile(r"\b(vat|tax|gst|hst)\b", re.I)
NOT_TAX = re.compile(
    r"\b(vat|tax|gst)\s*(?:reg(?:istration)?|no\b|number|id\b|code)|\bincl(?:uding|\.)?\s+vat\b", re.I
)
DATE_LINE = re.compile(r"\b(invoice date|date of issue|issue date|receipt date|tax point|date)\b", re.I)
NOT_DATE = re.compile(r"\b(due|payment terms|delivery)\b", re.I)
SUPPLIER_LABEL = re.compile(r"^\s*(from|supplier|vendor|bill from|sold by|seller)\s*:\s*(.+)$", re.I)
CUSTOMER_LABEL = re.compile(r"^\s*(bill to|invoice to|to|customer|client|sold to)\s*:\s*(.+)$", re.I)
HEADINGS = re.compile(r"^(invoice|tax invoice|receipt|credit note|bill|statement|page \d+)\b", re.I)


def parse_amount(text: str) -> Decimal | None:
    raw = text.replace("\u00a0", " ").replace(" ", "")
    if re.fullmatch(r"-?\d{1,3}(\.\d{3})+,\d{2}|-?\d+,\d{2}", raw):  # 1.234,56 — a decimal comma
        raw = raw.replace(".", "").replace(",", ".")
    else:
        raw = raw.replace(",", "")
    try:
        return Decimal(raw)
    except InvalidOperation:
        return None


def _amounts(line: str) -> list[Decimal]:
    return [value for value in (parse_amount(m.group(1)) for m in AMOUNT.finditer(line)) if value is not None]


def _to_date(kind: str, groups: tuple[str, ...], *, month_first: bool) -> date | None:
    try:
        if kind == "iso":
            year, month, day = (int(g) for g in groups)
        elif kind == "numeric":
            first, second, year = int(groups[0]), int(groups[1]), int(groups[2])
            year += 2000 if year < 100 else 0
            day, month = (second, first) if month_first else (first, second)
            if month > 12 and day <= 12:  # 25/12 read month-first, or 12/25 day-first: swap
                day, month = month, day
        elif kind == "day_month":
            day, month, year = int(groups[0]), MONTHS[groups[1].lower().rstrip(".")], int(groups[2])
        else:
            month, day, year = MONTHS[groups[0].lower().rstrip(".")], int(groups[1]), int(groups[2])
        found = date(year, month, day)
    except (ValueError, KeyError):
        return None
    return found if 2000 <= found.year <= 2100 else None


def _dates(line: str, *, month_first: bool) -> list[date]:
    found = []
    for kind, pattern in DATE_PATTERNS:
        for match in pattern.finditer(line):
            value = _to_date(kind, match.groups(), month_first=month_first)
            if value is not None:
                found.append((match.start(), value))
    return [value for _, value in sorted(found, key=lambda pair: pair[0])]


def _supplier_names(lines: list[str], *, sales: bool) -> list[str]:
    """The names the supplier (a customer, on a sales invoice) may be written as, likeliest first: a
    labelled line ("From: …", "Bill to: …"), then the first lines of the page."""
    label = CUSTOMER_LABEL if sales else SUPPLIER_LABEL
    names = [m.group(2).strip() for line in lines if (m := label.match(line))]
    if not sales:
        for line in lines[:6]:
            text = line.strip()
            if not text or HEADINGS.match(text) or AMOUNT.search(text) or DATE_LINE.search(text):
                continue
            names.append(text)
    out = []
    for name in names:
        for candidate in (name, re.split(r"\s*[,|]\s*|\s+-\s+", name)[0]):
            candidate = candidate.strip()[:200]
            if candidate and candidate not in out:
                out.append(candidate)
    return out[:8]


def read_text(text: str, *, account: Account, sales: bool = False) -> dict:
    """What the text says: {"names": [...], "date": "2026-11-12", "total": "120.00", "tax": "20.00"}
    (each left out when not found). Dates are read day first, month first for an en-US account."""
    month_first = (account.locale or "").replace("_", "-").lower() == "en-us"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    found: dict = {}
    names = _supplier_names(lines, sales=sales)
    if names:
        found["names"] = names
    labelled = [
        d
        for line in lines
        if DATE_LINE.search(line) and not NOT_DATE.search(line)
        for d in _dates(line, month_first=month_first)
    ]
    anywhere = [
        d for line in lines if not NOT_DATE.search(line) for d in _dates(line, month_first=month_first)
    ]
    if labelled or anywhere:
        found["date"] = (labelled or anywhere)[0].isoformat()
    totals = [
        a
        for line in lines
        if TOTAL_LINE.search(line) and not NOT_TOTAL.search(line)
        for a in _amounts(line)[-1:]
    ]
    if totals:
        found["total"] = str(max(totals, key=abs))
    taxes = [
        a
        for line in lines
        if TAX_LINE.search(line) and not NOT_TAX.search(line) and not TOTAL_LINE.search(line)
        for a in _amounts(line)[-1:]
    ]
    total = Decimal(found["total"]) if "total" in found else None
    taxes = [a for a in taxes if total is None or abs(a) < abs(total)]
    if taxes:
        found["tax"] = str(taxes[-1])
    return found


# --- the offer on the item page ---------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    """Values read from the document that differ from the item's, ready for "Use these values"."""

    supplier_choice: str | None  # a value of the Supplier field (an id, or "entry:<id>")
    supplier_label: str
    supplier_read: str  # the name as written in the document
    supplier_found: bool
    date: date | None
    total: Decimal | None
    tax: Decimal | None

    @property
    def has_values(self) -> bool:
        return bool(self.supplier_choice or self.date or self.total is not None or self.tax is not None)


def _match_supplier(names: list[str], *, account: Account, item: Item, facts: RoutingFacts):
    """(choice, label) for the first name that is one of the account's suppliers (same name, ignoring
    case, or the same normalised name), else an active contact/vendor of the lists the item chooses
    from (find_match: same name, then normalised name). None when nothing matches."""
    lowered = [name.lower() for name in names]
    own = {
        s.lname: s
        for s in Supplier.objects.filter(account=account)
        .annotate(lname=Lower("name"))
        .filter(lname__in=lowered)
    }
    for name in lowered:
        if name in own:
            return str(own[name].pk), own[name].name
    keys = {normalise(name) for name in names if normalise(name)}
    if (
        keys
    ):  # the account's own suppliers by normalised name ("Acme Ltd" is "ACME"), among those starting alike
        firsts = "|".join(sorted({re.escape(key.split()[0]) for key in keys}))
        for supplier in Supplier.objects.filter(account=account, name__iregex=rf"^\W*({firsts})")[:200]:
            if normalise(supplier.name) in keys:
                return str(supplier.pk), supplier.name
    source = lists.source_of(item, facts)
    if source is None or item.is_sales:
        return None
    for name in names:
        entry = find_match(connection=source, kind=ListKind.SUPPLIER, name=name, use=lists.use_of(item))
        if entry is None:
            continue
        link = SupplierLink.objects.filter(account=account, entry=entry).select_related("supplier").first()
        if link is not None:
            return str(link.supplier_id), link.supplier.name
        same = [s for s in Supplier.objects.filter(account=account, name__iexact=entry.name)]
        if same:
            return str(same[0].pk), same[0].name
        return f"{lists.SUPPLIER_ENTRY}{entry.pk}", f"{entry.name} (from {source.label})"
    return None


def offer(item: Item, facts: RoutingFacts | None = None) -> Offer | None:
    """The values to offer for `item` (None: no document, nothing read, already used or dismissed, or
    the item cannot change any more)."""
    document = getattr(item, "document", None)
    if document is None or not document.suggested or document.prefill_closed_at or not is_changeable(item):
        return None
    facts = facts or load_facts(item.account)
    found = document.suggested
    choice = label = None
    names = [str(n) for n in found.get("names", []) if isinstance(n, str)]
    if names and item.supplier_id is None:
        matched = _match_supplier(names, account=item.account, item=item, facts=facts)
        if matched:
            choice, label = matched
    read_date = _safe(date.fromisoformat, found.get("date"))
    total = _safe(Decimal, found.get("total"))
    tax = _safe(Decimal, found.get("tax"))
    result = Offer(
        supplier_choice=choice,
        supplier_label=label or "",
        supplier_read=names[0] if names and item.supplier_id is None else "",
        supplier_found=choice is not None,
        date=read_date if read_date and read_date != item.date else None,
        total=total if total is not None and total != item.total else None,
        tax=tax if tax is not None and tax != item.tax else None,
    )
    return result if result.has_values or result.supplier_read else None


def _safe(parse, value):
    if not isinstance(value, str):
        return None
    try:
        return parse(value)
    except (ValueError, InvalidOperation, ArithmeticError):
        return None


@in_account_scope
def apply_offer(*, account: Account, acting_user: User, item_id: int, use: bool) -> Item:
    """ "Use these values" (use=True): save the offer as it is now (recomputed here, never taken from
    the request) through services.update_item — so the supplier's rule fills what it fills on any save.
    "Dismiss" (use=False): stop offering it. Either way the offer is closed."""
    item = Item.objects.select_related("document").filter(account=account, pk=item_id).first()
    document = getattr(item, "document", None) if item is not None else None
    if document is None:
        raise DomainError("This item has no document to read values from.", code="no_document")
    if not is_changeable(item):
        raise DomainError(services.not_changeable_reason(item), code=item.status)
    if use:
        current = offer(item)
        if current is None or not current.has_values:
            raise DomainError(
                "There are no values to use: nothing was read that the item lacks.", code="none"
            )
        data = {}
        if current.date:
            data["date"] = current.date
        if current.total is not None:
            data["total"] = current.total
        if current.tax is not None:
            data["tax"] = current.tax
        chosen = {"supplier": current.supplier_choice} if current.supplier_choice else {}
        item = services.update_item(
            account=account, acting_user=acting_user, item_id=item.pk, data=data, chosen=chosen
        )
    Document.objects.filter(pk=document.pk).update(prefill_closed_at=timezone.now())
    return item

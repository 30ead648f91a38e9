"""Pages of the inboxes without OFFSET, and counts that stay cheap.

Keyset pagination: "Next" carries the sort values of the page's last row (`after=`), "Previous" those
of its first row (`before=`), and the database starts reading right there, through the index of that
order: page 1,000 costs what page 1 costs, where OFFSET reads and throws away every row before it.
It applies to orders on columns that are never NULL (date, total, status, type, then id). Other
orders, and a bare `?page=N` (a link kept from before), fall back to OFFSET.

Counts: exact up to COUNT_CAP rows (one COUNT over at most COUNT_CAP + 1 rows); past that, on
PostgreSQL, the planner's estimate of the same query ("about 180,000 items", and the page says it is
an estimate). Other databases count exactly (SQLite is the small, single-user setup). Either way a
page costs the same number of statements whatever its size and the account's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q, QuerySet

COUNT_CAP = 1000
SEPARATOR = "~"
LAST = "last"


@dataclass
class Page:
    rows: list
    per_page: int
    count: int
    exact: bool  # False: `count` is the planner's estimate
    number: int | None  # the page's position, when known
    links: dict[str, dict[str, str]] = field(default_factory=dict)  # first/previous/next/last → params

    @property
    def pages(self) -> int | None:
        return max(1, -(-self.count // self.per_page)) if self.exact else None

    @property
    def has_other_pages(self) -> bool:
        return "previous" in self.links or "next" in self.links


def _ordering(order: tuple[str, ...]) -> list[tuple[str, bool]]:
    return [(name.lstrip("-"), name.startswith("-")) for name in order]


def keyset_ready(model, order: tuple[str, ...]) -> bool:
    """Whether `order` can be paged by keyset: plain columns of the model, never NULL."""
    for name, _ in _ordering(order):
        if "__" in name:
            return False
        try:
            if model._meta.get_field(name).null:
                return False
        except Exception:  # noqa: BLE001 - not a field of the model: no keyset
            return False
    return True


def cursor_of(row, order: tuple[str, ...]) -> str:
    return SEPARATOR.join(str(getattr(row, name)) for name, _ in _ordering(order))


def parse_cursor(model, order: tuple[str, ...], raw: str | None) -> list | None:
    """The sort values in a cursor, or None for a missing or malformed one (the first page then)."""
    if not raw:
        return None
    parts = raw.split(SEPARATOR)
    ordering = _ordering(order)
    if len(parts) != len(ordering):
        return None
    try:
        return [
            model._meta.get_field(name).to_python(part)
            for (name, _), part in zip(ordering, parts, strict=True)
        ]
    except (ValidationError, ValueError, TypeError):
        return None


def beyond(order: tuple[str, ...], values: list) -> Q:
    """Rows after `values` in `order`: (a, b, c) past (x, y, z) — with a bound on the first column
    alone as well, so the index of the order is entered at that point instead of at its start."""
    ordering = _ordering(order)
    condition = None
    for (name, desc), value in reversed(list(zip(ordering, values, strict=True))):
        strict = Q(**{f"{name}__{'lt' if desc else 'gt'}": value})
        condition = strict if condition is None else strict | (Q(**{name: value}) & condition)
    first, desc = ordering[0]
    return Q(**{f"{first}__{'lte' if desc else 'gte'}": values[0]}) & condition


def _reverse(order: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name[1:] if name.startswith("-") else f"-{name}" for name in order)


def count(queryset: QuerySet) -> tuple[int, bool]:
    """(count, exact): exact up to COUNT_CAP, the planner's estimate past it (PostgreSQL)."""
    queryset = queryset.order_by().values("pk")
    if connection.vendor != "postgresql":
        return queryset.count(), True
    capped = queryset[: COUNT_CAP + 1].count()
    # Asked every time, so the page's statements do not depend on the data: planning only, no rows.
    plan = json.loads(queryset.explain(format="json"))
    if capped <= COUNT_CAP:
        return capped, True
    estimate = int(plan[0]["Plan"]["Plan Rows"])
    return max(estimate, COUNT_CAP + 1), False


def paginate(
    params, queryset: QuerySet, *, count_queryset: QuerySet, order: tuple[str, ...], per_page: int
) -> Page:
    """The page the request's `params` ask for (after=, before=, page=N, page=last)."""
    total, exact = count(count_queryset)
    model = queryset.model
    number = _number(params.get("page"))
    if not keyset_ready(model, order):
        return _offset_page(queryset.order_by(*order), total, exact, number or 1, per_page)
    after = parse_cursor(model, order, params.get("after"))
    before = parse_cursor(model, order, params.get("before")) if after is None else None
    if after is None and before is None and number not in (None, 1):
        if params.get("page") == LAST:
            return _last_page(queryset, order, total, exact, per_page)
        return _offset_page(queryset.order_by(*order), total, exact, number, per_page, keyset_order=order)
    if before is not None:
        rows = list(
            queryset.filter(beyond(_reverse(order), before)).order_by(*_reverse(order))[: per_page + 1]
        )
        has_previous = len(rows) > per_page
        rows = rows[:per_page][::-1]
        has_next = True
    else:
        source = queryset.filter(beyond(order, after)) if after is not None else queryset
        rows = list(source.order_by(*order)[: per_page + 1])
        has_next = len(rows) > per_page
        rows = rows[:per_page]
        has_previous = after is not None
        number = number if after is not None else 1
    if not rows and (after is not None or before is not None):
        # A cursor past the end (the rows after it went away): start again from the first page.
        return paginate({}, queryset, count_queryset=count_queryset, order=order, per_page=per_page)
    page = Page(rows=rows, per_page=per_page, count=total, exact=exact, number=number)
    _keyset_links(page, order, has_previous=has_previous, has_next=has_next)
    return page


def link_queries(params, page: Page) -> dict[str, str]:
    """The query string of each of the page's links: the request's own (filters, sort, page size)
    with the link's position in place of the current one."""
    base = params.copy()
    for name in ("page", "after", "before"):
        base.pop(name, None)
    queries = {}
    for name, position in page.links.items():
        query = base.copy()
        query.update(position)
        queries[name] = query.urlencode()
    return queries


def _number(raw) -> int | None:
    if raw == LAST:
        return -1
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if value >= 1 else None


def _last_page(queryset, order, total, exact, per_page) -> Page:
    # With an exact count the last page holds what is left after the full pages, as page N of N;
    # with an estimate it is the last `per_page` rows.
    size = (total - (total - 1) // per_page * per_page) if exact and total else per_page
    rows = list(queryset.order_by(*_reverse(order))[: size + 1])
    has_previous = len(rows) > size
    rows = rows[:size][::-1]
    number = max(1, -(-total // per_page)) if exact else None
    page = Page(rows=rows, per_page=per_page, count=total, exact=exact, number=number)
    _keyset_links(page, order, has_previous=has_previous, has_next=False)
    return page


def _keyset_links(page: Page, order, *, has_previous: bool, has_next: bool) -> None:
    def numbered(params: dict, number: int | None) -> dict:
        return {**params, "page": str(number)} if number else params

    if has_previous:
        page.links["first"] = {}
        if page.number == 2:
            page.links["previous"] = {}
        else:
            previous = page.number - 1 if page.number else None
            page.links["previous"] = numbered({"before": cursor_of(page.rows[0], order)}, previous)
    if has_next:
        following = page.number + 1 if page.number else None
        page.links["next"] = numbered({"after": cursor_of(page.rows[-1], order)}, following)
        page.links["last"] = {"page": LAST}


def _offset_page(queryset, total, exact, number, per_page, keyset_order=None) -> Page:
    """Page `number` by OFFSET: for orders a keyset cannot follow, and bare `?page=N` links."""
    pages = max(1, -(-total // per_page)) if exact else None
    if number == -1:
        number = pages or 1
    if pages is not None:
        number = min(number, pages)
    rows = list(queryset[(number - 1) * per_page : number * per_page + 1])
    has_next = len(rows) > per_page
    rows = rows[:per_page]
    page = Page(rows=rows, per_page=per_page, count=total, exact=exact, number=number)
    if keyset_order is not None and rows:
        # From here on, the links are keyset ones again.
        _keyset_links(page, keyset_order, has_previous=number > 1, has_next=has_next)
        return page
    if number > 1:
        page.links["first"] = {}
        page.links["previous"] = {"page": str(number - 1)} if number > 2 else {}
    if has_next:
        page.links["next"] = {"page": str(number + 1)}
        if pages is not None:
            page.links["last"] = {"page": str(pages)}
    return page

"""The words of the confirmations after a connect or a change of defaults: one place, so every flow
(OAuth, Bill.com's sign-in, the Web Connector) says the same thing the same way."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import catalog
from .models import Connection
from .services import and_join

if TYPE_CHECKING:
    from costs.impact import Impact


def moved_sentence(impact: Impact) -> str:
    """ "4 unpublished items now publish to Bill.com." from a preview's numbers (costs/impact.py)."""
    if not impact.items:
        return "No unpublished items change integration."
    by_destination: dict[str, int] = {}
    for _, to, count in impact.moves:
        by_destination[to] = by_destination.get(to, 0) + count
    parts = sorted(by_destination.items(), key=lambda part: (-part[1], part[0]))
    (first_to, first_n), rest = parts[0], parts[1:]
    verb = "publishes" if first_n == 1 else "publish"
    sentence = f"{first_n} unpublished item{'' if first_n == 1 else 's'} now {verb} to {first_to}"
    if rest:
        sentence += " and " + and_join([f"{n} to {to}" for to, n in rest])
    return sentence + "."


def connected_message(connection: Connection) -> str:
    """ "Bill.com is connected (Acme AP)." ("– Acme Ltd (Demo)" for a name with brackets) and, after a
    reconnect that gave defaults back, which ones and how many items that moved: "The Default publishing
    integration is Bill.com again, as before it was disconnected. 4 unpublished items now publish to
    Bill.com." """
    name = connection.external_name
    if not name:
        message = f"{connection.label} is connected."
    elif catalog.has_brackets(name):  # never nested brackets: "Xero (Acme Ltd (Demo))"
        message = f"{connection.label} is connected – {name}."
    else:
        message = f"{connection.label} is connected ({name})."
    restored = getattr(connection, "restored", None)
    if restored is not None:
        labels = and_join(restored.labels)
        verb = "is" if len(restored.labels) == 1 else "are"
        message += (
            f" The {labels} {verb} {connection.label} again, as before it was disconnected. "
            f"{moved_sentence(restored.impact)}"
        )
    return message

"""Fault injection for tests: the next requests a sandboxed provider receives fail as real ones do.

Test-only by construction: `PENDING` is empty unless a test enters `injected(...)`, and the block empties
it again on the way out (releasing any request it holds). Nothing in the application or the sandbox's
own pages can set it. The sandbox runs in the tests' process (pytest-django's live_server), so the
list is shared with the server's threads.

Faults, applied by the create endpoints (sandbox/bills.py), each to one request:
- "429": refused as rate limited before anything is done (Xero: `Retry-After`, QuickBooks Online:
  Intuit's throttle fault, Bill.com: BDC_1322);
- "500": the provider's server error, nothing done;
- "timeout": the request is held, unanswered and undone, until the client has given up (its read
  timeout) and the test releases it; then it is answered 504 and nothing is done;
- "dropped": the request is done (the document is created and committed), then the answer is held
  until the client has given up: the answer is lost after the write happened.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

KINDS = ("429", "500", "timeout", "dropped")
# The longest a held request waits for its test to release it.
HOLD_LIMIT = 30.0


@dataclass
class Fault:
    provider: str
    kind: str
    # Only requests whose path contains this (e.g. "/CreditNotes"); "" = any create of the provider.
    path: str = ""
    retry_after: int = 30
    released: threading.Event = field(default_factory=threading.Event)
    # Set when the request is held: for "dropped", the work is done and committed by then.
    reached: threading.Event = field(default_factory=threading.Event)
    # Set when the request has finished with the database (logged, views.logged): a test sharing the
    # live server's SQLite connection must not use it before.
    done: threading.Event = field(default_factory=threading.Event)

    def hold(self) -> None:
        self.reached.set()
        self.released.wait(HOLD_LIMIT)


PENDING: list[Fault] = []
_lock = threading.Lock()


@contextmanager
def injected(provider: str, *kinds: str, path: str = "", retry_after: int = 30) -> Iterator[list[Fault]]:
    """`with faults.injected("xero", "dropped"):` the next matching request of `provider` gets the
    fault (several kinds: one request each, in order)."""
    made = []
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"Unknown fault {kind!r}: one of {KINDS}.")
        made.append(Fault(provider=provider, kind=kind, path=path, retry_after=retry_after))
    with _lock:
        PENDING.extend(made)
    try:
        yield made
    finally:
        with _lock:
            for fault in made:
                if fault in PENDING:
                    PENDING.remove(fault)
        for fault in made:
            fault.released.set()


def take(provider: str, path: str) -> Fault | None:
    """The fault for this request, if a test injected one (removed from the list: one request each)."""
    if not PENDING:
        return None
    with _lock:
        for fault in PENDING:
            if fault.provider == provider and fault.path in path:
                PENDING.remove(fault)
                return fault
    return None


def release_all(faults: list[Fault]) -> None:
    for fault in faults:
        fault.released.set()

"""Run calls at the same moment, each in its own thread with its own database connection, for the
PostgreSQL row-lock tests (tests marked postgres_only)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection as db_connection

from accounts.errors import DomainError


def race(*calls: Callable[[], object]) -> list[str]:
    """Each call's outcome: "ok", the DomainError's code when a service refused, or "crash: …" for
    anything else (an IntegrityError or a deadlock is exactly what these tests must not see)."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = [""] * len(calls)

    def run(i: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            call()
            outcomes[i] = "ok"
        except DomainError as exc:
            outcomes[i] = exc.code
        except Exception as exc:  # noqa: BLE001 - reported, and the test fails on it
            outcomes[i] = f"crash: {exc!r}"
        finally:
            db_connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    return outcomes

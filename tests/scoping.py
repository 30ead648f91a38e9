"""The tenancy backstop stays on for the code under test.

Test bodies may build and inspect data across tenants with `scopes_disabled()` (the costs and
integrations suites do it for the whole body). The code under test must not inherit that escape, or
a view, command or task that forgets its scope would pass here and raise ScopeError in production.
So the ways tests run that code enter the production state first — scopes on, no account set:

- a request through the test client (Client, AsyncClient, any method, redirects followed): the
  handler the client drives, as a WSGI/ASGI server would;
- a management command (call_command, or a command object's run): BaseCommand.execute;
- a django-tasks task, however it runs (the immediate backend, the database worker, `.call()`):
  Task.call / Task.acall.

Services called directly by a test need nothing: @in_account_scope opens their account's scope
whatever the caller's (scopes on, that account), exactly as under a view, task or command. Helpers
that are not services (guards, selectors) run in their caller's scope in production, so calling them
from a test body is not a path production takes on its own.

The live_server (browser tests, the sandbox) and threads a test starts run in a fresh context, which
is already the production state.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django_scopes.state import state as _scope_state


@contextmanager
def production_scope() -> Iterator[None]:
    """The scope state of a fresh request, command or worker: scopes on and no dimension set, whatever
    the caller had (a disabled block, or another account's scope, would otherwise leak in). Sets the
    django-scopes context variable itself: `scope(_enabled=True)` would keep the caller's dimensions."""
    token = _scope_state.set({})
    try:
        yield
    finally:
        _scope_state.reset(token)


def in_production_scope(method: Callable) -> Callable:
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with production_scope():
            return method(*args, **kwargs)

    return wrapper


def in_production_scope_async(method: Callable) -> Callable:
    @functools.wraps(method)
    async def wrapper(*args, **kwargs):
        with production_scope():
            return await method(*args, **kwargs)

    return wrapper


def entry_points() -> list[tuple[type, str, Callable]]:
    """(owner, attribute, wrapper) for every way a test runs code under test."""
    from django.core.management.base import BaseCommand
    from django.test.client import AsyncClientHandler, ClientHandler
    from django_tasks.base import Task

    return [
        (ClientHandler, "__call__", in_production_scope),
        (AsyncClientHandler, "__call__", in_production_scope_async),
        (BaseCommand, "execute", in_production_scope),
        (Task, "call", in_production_scope),
        (Task, "acall", in_production_scope_async),
    ]

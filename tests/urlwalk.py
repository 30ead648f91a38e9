"""Every URL pattern of the project, found from the resolver, so views added later are walked too."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str
    callback: object
    converters: dict

    def __str__(self) -> str:
        return self.name or self.pattern


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = "", converters=None):
    converters = dict(converters or {})
    for entry in resolver.url_patterns:
        conv = {**converters, **getattr(entry.pattern, "converters", {})}
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            full_ns = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from _walk(entry, prefix + str(entry.pattern), full_ns, conv)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else (entry.name or "")
            yield Route(name, prefix + str(entry.pattern), entry.callback, conv)


def all_routes() -> list[Route]:
    return list(_walk(get_resolver()))


def tenant_routes(kwarg: str = "account_slug") -> Iterator[Route]:
    for route in all_routes():
        if f"<slug:{kwarg}>" in route.pattern:
            yield route


def fill(route: Route, **values) -> str:
    """The concrete path for a route: slugs and ids from `values`, other params get harmless ones.
    Regex routes (the admin's app list and its catch-all) get the first alternative of a group of
    literals, or "x"."""
    import re

    def repl(match: re.Match) -> str:
        conv, name = match.group(1), match.group(2)
        if name in values:
            return str(values[name])
        return {"int": "999999", "uuid": "00000000-0000-0000-0000-000000000000"}.get(conv, "x")

    def regex_group(match: re.Match) -> str:
        name, body = match.group(1), match.group(2)
        if name in values:
            return str(values[name])
        first = body.split("|")[0]
        return first if re.fullmatch(r"[\w-]+", first) else "x"

    path = re.sub(r"\(\?P<(\w+)>([^)]*)\)", regex_group, route.pattern)
    path = re.sub(r"<(?:(\w+):)?(\w+)>", repl, path)
    return "/" + path.replace("^", "").replace("$", "")


def resolves_to(route: Route, path: str) -> bool:
    """Whether `path` reaches `route` (so a walker that fills a route really exercises its view)."""
    from django.urls import Resolver404, resolve

    try:
        match = resolve(path)
    except Resolver404:
        return False
    # The resolver drops a nested regex's leading "^" when it joins the routes.
    return match.route == route.pattern.replace("/^", "/")

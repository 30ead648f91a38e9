"""Request hygiene that belongs to no app: it is about HTTP, not about accounts, costs or providers.

NUL bytes: PostgreSQL refuses U+0000 in text, so a NUL that reached a query (`/switch/?q=%00`, a
sandbox path segment, a form field) was a 500 — and SQLite would quietly store it. No person types
one and no provider sends one, so one rule here answers every URL before any view runs: a NUL in the
path, or in a key or value of the query string or of a form post, is a 400 that says what to remove.
Non-form bodies (the Web Connector's SOAP XML, the sandbox's JSON) are not read here: their parsers
answer for themselves (request.POST is empty for them without reading the body).

Cookies are not something the person can edit, so a 400 telling them to remove one would not help:
a cookie whose value carries a NUL cannot be a session id or a CSRF token we issued, so it is
dropped and the request goes on as if it had not been sent (a NUL session cookie means signed out).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render

NUL = "\x00"
NUL_REFUSAL = "The request contained a character that is not allowed (a NUL byte). Remove it and try again."


def _carries_nul(data: QueryDict) -> bool:
    return any(NUL in key or any(NUL in value for value in values) for key, values in data.lists())


class RefuseNulBytesMiddleware:
    """Early in settings.MIDDLEWARE (before the session is read): nothing downstream ever sees a NUL."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for name in [name for name, value in request.COOKIES.items() if NUL in name or NUL in value]:
            del request.COOKIES[name]
        if NUL in request.path_info or _carries_nul(request.GET):
            return _refuse(request)
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable, view_args, view_kwargs):
        # Form posts are checked only for views that take forms. The CSRF-exempt views are the machine
        # endpoints (the Web Connector's SOAP, the sandbox's provider APIs): they read the raw body and
        # answer bad bodies themselves — parsing it here as a form (a multipart post, say) would use
        # it up before they could read it.
        if getattr(view_func, "csrf_exempt", False):
            return None
        # request.POST parses only form encodings (urlencoded, multipart); for any other content type
        # it is empty and the body stays unread for the view.
        if _carries_nul(request.POST):
            return _refuse(request)
        return None


def _refuse(request: HttpRequest) -> HttpResponse:
    return render(request, "400.html", {"reason": NUL_REFUSAL}, status=400)

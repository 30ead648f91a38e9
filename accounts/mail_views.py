"""The Sent mail page: the e-mail kept in the file outbox (accounts/outbox.py), for superusers, and
for anyone while SENT_MAIL_OPEN is on (the demo). See README, "Where the demo's e-mail goes"."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from . import outbox
from .permissions import can_read_sent_mail


def _refuse(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    raise Http404("No such page.")


@never_cache
def sent_mail(request: HttpRequest) -> HttpResponse:
    if not can_read_sent_mail(request):
        return _refuse(request)
    return render(
        request,
        "accounts/sent_mail_list.html",
        {"sent": outbox.sent_messages(), "folder": outbox.outbox_dir()},
    )


@never_cache
def sent_mail_message(request: HttpRequest, key: str) -> HttpResponse:
    if not can_read_sent_mail(request):
        return _refuse(request)
    message = outbox.sent_message(key)
    if message is None:
        raise Http404("No such message.")
    return render(request, "accounts/sent_mail_detail.html", {"message": message})

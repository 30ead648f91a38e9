"""What the sandbox adds to Dext Connect's connect pages (registered in apps.SandboxConfig.ready()
through integrations.extras, which production code reads without knowing the sandbox exists)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string

from accounts.models import Account
from integrations import extras

from . import data


def billcom_sign_in(request: HttpRequest, account: Account, context: Mapping[str, Any]) -> str:
    """The sandbox Bill.com sign-in meant for this account (demos), none for the others."""
    users = data.billcom_users_for({account.slug})
    if not users:
        return ""
    return render_to_string("sandbox/connect_billcom.html", {"users": users}, request=request)


def run_web_connector(request: HttpRequest, account: Account, context: Mapping[str, Any]) -> str:
    """**Run the Web Connector** on a QuickBooks Desktop set-up that has its user name (and password)."""
    if not context.get("username"):
        return ""
    return render_to_string(
        "sandbox/connect_qbd.html",
        {
            "account": account,
            "username": context["username"],
            "password": context.get("password", ""),
            "here": context.get("here", ""),
        },
        request=request,
    )


def register() -> None:
    extras.register_connect_extra("billcom", billcom_sign_in)
    extras.register_connect_extra("qbd", run_web_connector)

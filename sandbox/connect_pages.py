"""What the sandbox adds to Dext Connect's connect pages (registered in apps.SandboxConfig.ready()
through integrations.extras, which production code reads without knowing the sandbox exists)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string

from accounts.models import Account
from integrations import extras

from . import data, users


def billcom_sign_in(request: HttpRequest, account: Account, provider: str, context: Mapping[str, Any]) -> str:
    """The sandbox Bill.com sign-in meant for this account (demos), none for the others."""
    sign_ins = data.billcom_users_for({account.slug})
    if not sign_ins:
        return ""
    return render_to_string("sandbox/connect_billcom.html", {"users": sign_ins}, request=request)


def provider_sign_in(
    request: HttpRequest, account: Account, provider: str, context: Mapping[str, Any]
) -> str:
    """The sandbox Xero, Intuit or ApprovalMax login meant for this account (demos), none for others:
    its consent screen lists that login's organisations only."""
    found = users.users_for({account.slug}, provider)
    if not found:
        return ""
    return render_to_string(
        "sandbox/connect_sign_in.html",
        {"users": found, "label": data.PROVIDER_LABELS[provider], "brand": users.SIGN_IN_BRANDS[provider]},
        request=request,
    )


def run_web_connector(
    request: HttpRequest, account: Account, provider: str, context: Mapping[str, Any]
) -> str:
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
    for provider in sorted({u.provider for u in users.PROVIDER_USERS}):
        extras.register_connect_extra(provider, provider_sign_in)
    extras.register_connect_extra("billcom", billcom_sign_in)
    extras.register_connect_extra("qbd", run_web_connector)

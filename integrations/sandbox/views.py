"""The providers' side, played over real HTTP: authorize/consent pages, token endpoints, the few API
calls the connect flows make, Bill.com login, and a page listing what each sandbox received.

It follows the real protocols closely enough that a client that works here works against the real
provider: RFC 6749 token errors, PKCE S256 (RFC 7636), one-time codes, rotating refresh tokens,
Xero's GET /connections (xero-identity.yaml), Bill.com v3 login errors.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_scopes import scopes_disabled

from integrations import catalog

from . import data, webconnector
from .log import log_request
from .models import (
    AuthorizationCode,
    BillcomSession,
    BillcomUser,
    IssuedToken,
    SandboxClient,
    SandboxOrganisation,
)
from .visibility import visible_to

OAUTH_PROVIDERS = frozenset(catalog.oauth_keys())


def logged(provider: str) -> Callable:
    """Record every request the sandbox receives (never a password or a token: only what it was).
    A view says what happened in `request.sandbox_note` and which organisations it concerned in
    `request.sandbox_orgs`."""

    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def inner(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            data.ensure_seeded()
            request.sandbox_note = ""
            request.sandbox_orgs = []
            response = view(request, *args, **kwargs)
            log_request(
                provider=kwargs.get("provider", provider),
                method=request.method,
                path=request.path,
                summary=getattr(request, "sandbox_note", ""),
                status=response.status_code,
                org_ids=getattr(request, "sandbox_orgs", []),
            )
            return response

        return inner

    return wrap


# --- home ------------------------------------------------------------------------------------------


@require_GET
@login_required
@never_cache  # lists sign-ins it accepts (demo Bill.com passwords) and, for operators, client secrets
def home(request: HttpRequest) -> HttpResponse:
    """What the sandbox received and the sign-ins it accepts, for the organisations the viewer's
    accounts are connected to (everything for a superuser). A stranger sees nothing of Acme's."""
    data.ensure_seeded()
    visible = visible_to(request.user)
    return render(
        request,
        "sandbox/home.html",
        {
            "labels": data.PROVIDER_LABELS,
            "everything": visible.everything,
            # Our own app's client credentials as the sandbox knows them: operators only.
            "clients": SandboxClient.objects.order_by("provider") if visible.everything else [],
            "organisations": visible.organisations(),
            # Revoke access: only for organisations of accounts where the viewer manages integrations.
            "manageable": None if visible.everything else visible.managed_org_ids,
            "billcom_users": visible.billcom_users(),
            "log": list(visible.log()[:200]),
            "bills": list(visible.bills()[:50]),
            "sandbox_url": settings.SANDBOX_BASE_URL,
        },
    )


@require_POST
@login_required
@logged("oauth")
def revoke(request: HttpRequest) -> HttpResponse:
    """The user removes Dext Connect's access in the provider (e.g. Xero's "Connected apps"): every
    token issued for the organisation stops working, so our next refresh fails for good. Only for an
    organisation the viewer's accounts are connected to, like the real provider's own sign-in."""
    provider, org_id = request.POST.get("provider", ""), request.POST.get("org_id", "")
    visible = visible_to(request.user)
    if not visible.allows(org_id):
        request.sandbox_note = "revoke refused: not an organisation of this user's accounts"
        return HttpResponse("Not found.", status=404, content_type="text/plain")
    if not visible.manages(org_id):
        request.sandbox_note = "revoke refused: this user may not manage the account's integrations"
        return HttpResponse(
            "Only Admins and the account's accountants or bookkeepers can revoke access.",
            status=403,
            content_type="text/plain",
        )
    request.sandbox_orgs = [org_id]
    tokens = [t for t in IssuedToken.objects.filter(provider=provider, revoked=False) if org_id in t.org_ids]
    if not request.user.is_superuser:
        # Only the grants of the viewer's own connections: another account connected to the same
        # organisation keeps its tokens (a provider revokes per app connection, not per organisation).
        mine = _own_grant_tokens(request.user, provider, org_id)
        tokens = [t for t in tokens if t.access_token in mine or t.refresh_token in mine]
    IssuedToken.objects.filter(pk__in=[t.pk for t in tokens]).update(
        revoked=True, refresh_used_at=timezone.now()
    )
    request.sandbox_note = f"access revoked for {org_id}: {len(tokens)} token(s)"
    return redirect("sandbox:home")


def _own_grant_tokens(user, provider: str, org_id: str) -> set[str]:
    """Access and refresh tokens held by the connections to `org_id` that `user` manages."""
    from accounts.permissions import accessible_accounts
    from integrations.models import LIVE_STATUSES, Connection
    from integrations.services import credentials_of

    # Deliberately unscoped: the accounts are exactly those the user manages (one permission query).
    with scopes_disabled():
        connections = list(
            Connection.objects.filter(
                account__in=accessible_accounts(user, "integrations.manage"),
                provider=provider,
                external_id=org_id,
                status__in=LIVE_STATUSES,
            )
        )
    held = set()
    for connection in connections:
        credentials = credentials_of(connection)
        held |= {credentials.get("access_token", ""), credentials.get("refresh_token", "")}
    return held - {""}


# --- OAuth 2.0: authorize (consent) ------------------------------------------------------------------


def _expected_redirect_uri(provider: str) -> str:
    return settings.SITE_URL + reverse("integrations:oauth_callback", args=[provider])


def _with_query(uri: str, params: dict[str, str]) -> str:
    return uri + ("&" if "?" in uri else "?") + urlencode(params)


@require_http_methods(["GET", "POST"])
@logged("oauth")
def authorize(request: HttpRequest, provider: str) -> HttpResponse:
    if provider not in OAUTH_PROVIDERS:
        return HttpResponse(status=404)
    params = request.GET if request.method == "GET" else request.POST
    client = SandboxClient.objects.filter(provider=provider, client_id=params.get("client_id", "")).first()
    redirect_uri = params.get("redirect_uri", "")
    label = data.PROVIDER_LABELS[provider]
    # RFC 6749 4.1.2.1: with a bad client or redirect URI, never redirect — show the error here.
    problem = None
    if client is None:
        problem = "Unknown client_id: this app is not registered with the sandbox."
    elif redirect_uri != _expected_redirect_uri(provider):
        problem = f"redirect_uri {redirect_uri!r} is not registered for this app."
    if problem:
        request.sandbox_note = f"authorize refused: {problem}"
        return render(request, "sandbox/error.html", {"label": label, "problem": problem}, status=400)
    state = params.get("state", "")
    back = {"state": state} if state else {}
    if params.get("response_type") != "code":
        return redirect(_with_query(redirect_uri, {"error": "unsupported_response_type", **back}))
    if not params.get("code_challenge") or params.get("code_challenge_method") != "S256":
        return redirect(
            _with_query(
                redirect_uri,
                {"error": "invalid_request", "error_description": "PKCE with S256 is required", **back},
            )
        )
    orgs = list(SandboxOrganisation.objects.filter(provider=provider))
    if request.method == "POST":
        if "cancel" in request.POST:
            request.sandbox_note = "consent cancelled: error=access_denied"
            return redirect(_with_query(redirect_uri, {"error": "access_denied", **back}))
        valid = {o.org_id for o in orgs}
        chosen = [o for o in request.POST.getlist("org") if o in valid]
        if not chosen:
            return render(
                request,
                "sandbox/consent.html",
                {
                    "label": label,
                    "provider": provider,
                    "orgs": orgs,
                    "params": params,
                    "error": "Choose at least one organisation."
                    if provider != "qbo"
                    else "Choose a company.",
                },
                status=400,
            )
        if provider == "qbo":
            chosen = chosen[:1]
        code = AuthorizationCode.objects.create(
            code=secrets.token_urlsafe(32),
            provider=provider,
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            code_challenge=params["code_challenge"],
            org_ids=chosen,
        )
        query = {"code": code.code, **back}
        if provider == "qbo":
            query["realmId"] = chosen[0]
        request.sandbox_note = f"consent given for {len(chosen)} organisation(s); code issued"
        request.sandbox_orgs = chosen
        return redirect(_with_query(redirect_uri, query))
    request.sandbox_note = "consent screen shown"
    return render(
        request,
        "sandbox/consent.html",
        {"label": label, "provider": provider, "orgs": orgs, "params": params},
    )


# --- OAuth 2.0: token endpoint ---------------------------------------------------------------------


def _token_error(error: str, description: str, status: int = 400) -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="sandbox"'
    return response


def _client_credentials(request: HttpRequest) -> tuple[str, str]:
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            raw = base64.b64decode(header[6:]).decode()
        except (ValueError, UnicodeDecodeError):
            return "", ""
        client_id, _, secret = raw.partition(":")
        from urllib.parse import unquote

        return unquote(client_id), unquote(secret)
    return request.POST.get("client_id", ""), request.POST.get("client_secret", "")


def _token_body(token: IssuedToken) -> JsonResponse:
    response = JsonResponse(
        {
            "access_token": token.access_token,
            "token_type": "Bearer",
            "expires_in": int(data.ACCESS_TOKEN_LIFE.total_seconds()),
            "refresh_token": token.refresh_token,
            "scope": "offline_access",
        }
    )
    response["Cache-Control"] = "no-store"
    return response


def _pkce_matches(verifier: str, challenge: str) -> bool:
    digest = hashlib.sha256(verifier.encode()).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return bool(verifier) and hmac.compare_digest(computed.encode(), challenge.encode())


@csrf_exempt
@require_POST
@logged("oauth")
def token(request: HttpRequest, provider: str) -> HttpResponse:
    if provider not in OAUTH_PROVIDERS:
        return HttpResponse(status=404)
    client_id, secret = _client_credentials(request)
    client = SandboxClient.objects.filter(provider=provider, client_id=client_id).first()
    if client is None or not hmac.compare_digest(client.client_secret.encode(), secret.encode()):
        request.sandbox_note = "token refused: invalid_client"
        return _token_error("invalid_client", "Client authentication failed.", status=401)
    grant_type = request.POST.get("grant_type", "")
    with transaction.atomic():
        if grant_type == "authorization_code":
            return _grant_code(request, provider, client)
        if grant_type == "refresh_token":
            return _grant_refresh(request, provider, client)
    request.sandbox_note = f"token refused: unsupported_grant_type {grant_type!r}"
    return _token_error("unsupported_grant_type", "Use authorization_code or refresh_token.")


def _grant_code(request: HttpRequest, provider: str, client: SandboxClient) -> HttpResponse:
    code = (
        AuthorizationCode.objects.select_for_update()
        .filter(code=request.POST.get("code", ""), provider=provider, client_id=client.client_id)
        .first()
    )
    if code is None:
        request.sandbox_note = "code exchange refused: unknown code"
        return _token_error("invalid_grant", "The authorization code is invalid.")
    request.sandbox_orgs = list(code.org_ids)
    if code.used_at is not None:
        # RFC 6749 4.1.2: a reused code is an attack sign; revoke what it issued.
        IssuedToken.objects.filter(code=code).update(revoked=True, refresh_used_at=timezone.now())
        request.sandbox_note = "code exchange refused: code already used (its tokens revoked)"
        return _token_error("invalid_grant", "The authorization code has already been used.")
    if timezone.now() - code.created_at > data.CODE_LIFE:
        request.sandbox_note = "code exchange refused: code expired"
        return _token_error("invalid_grant", "The authorization code has expired.")
    if request.POST.get("redirect_uri", "") != code.redirect_uri:
        request.sandbox_note = "code exchange refused: redirect_uri mismatch"
        return _token_error("invalid_grant", "redirect_uri does not match the authorization request.")
    if not _pkce_matches(request.POST.get("code_verifier", ""), code.code_challenge):
        request.sandbox_note = "code exchange refused: PKCE verification failed"
        return _token_error("invalid_grant", "PKCE verification failed (code_verifier).")
    code.used_at = timezone.now()
    code.save(update_fields=["used_at"])
    issued = data.issue_tokens(provider=provider, client_id=client.client_id, org_ids=code.org_ids, code=code)
    request.sandbox_note = "code exchanged for tokens"
    return _token_body(issued)


def _grant_refresh(request: HttpRequest, provider: str, client: SandboxClient) -> HttpResponse:
    old = (
        IssuedToken.objects.select_for_update()
        .filter(
            refresh_token=request.POST.get("refresh_token", ""), provider=provider, client_id=client.client_id
        )
        .first()
    )
    if old is not None:
        request.sandbox_orgs = list(old.org_ids)
    if old is None or old.revoked or old.refresh_used_at is not None:
        request.sandbox_note = "refresh refused: refresh token unknown, rotated or revoked"
        return _token_error("invalid_grant", "The refresh token is invalid, expired or already used.")
    # Rotation: the old refresh token stops working the moment the new one is issued.
    old.refresh_used_at = timezone.now()
    old.save(update_fields=["refresh_used_at"])
    issued = data.issue_tokens(provider=provider, client_id=client.client_id, org_ids=old.org_ids)
    request.sandbox_note = "refresh token rotated"
    return _token_body(issued)


# --- APIs used by the connect flows ----------------------------------------------------------------


def _bearer(request: HttpRequest, provider: str) -> IssuedToken | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    found = IssuedToken.objects.filter(provider=provider, access_token=header[7:], revoked=False).first()
    if found is None or found.access_expires_at <= timezone.now():
        return None
    return found


def _unauthorized(request: HttpRequest) -> JsonResponse:
    request.sandbox_note = "refused: access token missing, expired or revoked"
    return JsonResponse(
        {"Type": None, "Title": "Unauthorized", "Status": 401, "Detail": "TokenExpired"}, status=401
    )


@require_GET
@logged("xero")
def xero_connections(request: HttpRequest) -> HttpResponse:
    access = _bearer(request, "xero")
    if access is None:
        return _unauthorized(request)
    orgs = SandboxOrganisation.objects.filter(provider="xero", org_id__in=access.org_ids)
    request.sandbox_orgs = list(access.org_ids)
    stamp = access.created_at.strftime("%Y-%m-%dT%H:%M:%S.%f0")
    auth_event = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-auth-{access.code_id or access.pk}"))
    body = [
        {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-conn-{org.org_id}")),
            "authEventId": auth_event,
            "tenantId": org.org_id,
            "tenantType": "ORGANISATION",
            "tenantName": org.name,
            "createdDateUtc": stamp,
            "updatedDateUtc": stamp,
        }
        for org in orgs
    ]
    request.sandbox_note = f"listed {len(body)} connection(s)"
    return JsonResponse(body, safe=False)


@require_GET
@logged("qbo")
def qbo_company_info(request: HttpRequest, realm_id: str, realm_again: str) -> HttpResponse:
    access = _bearer(request, "qbo")
    if access is None:
        return _unauthorized(request)
    org = SandboxOrganisation.objects.filter(provider="qbo", org_id=realm_id).first()
    request.sandbox_orgs = list(access.org_ids)
    if org is None or realm_id not in access.org_ids or realm_again != realm_id:
        request.sandbox_note = f"company {realm_id} not authorised for this token"
        return JsonResponse(
            {"Fault": {"Error": [{"Message": "Forbidden"}], "type": "AUTHORIZATION"}}, status=403
        )
    request.sandbox_note = f"company info for {org.name}"
    return JsonResponse({"CompanyInfo": {"CompanyName": org.name, "Id": realm_id, "Country": "US"}})


@require_GET
@logged("approvalmax")
def approvalmax_companies(request: HttpRequest) -> HttpResponse:
    access = _bearer(request, "approvalmax")
    if access is None:
        return _unauthorized(request)
    orgs = SandboxOrganisation.objects.filter(provider="approvalmax", org_id__in=access.org_ids)
    request.sandbox_orgs = list(access.org_ids)
    body = [{"companyId": o.org_id, "name": o.name, "integrationType": o.linked_to or None} for o in orgs]
    request.sandbox_note = f"listed {len(body)} organisation(s)"
    return JsonResponse(body, safe=False)


# --- Bill.com v3 -----------------------------------------------------------------------------------


def read_json(request: HttpRequest) -> object | None:
    """The JSON body, or None when it is not JSON or any key or string in it carries a NUL: the
    sandbox's tables are text and JSON columns, which PostgreSQL refuses NUL in (a 500), so such a
    body gets each endpoint's own "invalid request" answer instead. (Form fields and query strings
    with a NUL never get here: dext_connect/middleware.py answers 400 first.)"""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return None
    return None if _carries_nul(body) else body


def _carries_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_carries_nul(k) or _carries_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_carries_nul(v) for v in value)
    return False


def _billcom_error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse(
        [
            {
                "timestamp": timezone.now().isoformat(),
                "code": code,
                "severity": "ERROR",
                "category": "DOWNSTREAM",
                "message": message,
            }
        ],
        status=status,
        safe=False,
    )


@csrf_exempt
@require_POST
@logged("billcom")
def billcom_login(request: HttpRequest) -> HttpResponse:
    body = read_json(request)
    if body is None:
        return _billcom_error("BDC_1001", "The request body is not JSON, or carries a NUL character.", 400)
    # v3 login carries the developer key in the body (later calls send it as a header).
    if not isinstance(body, dict) or body.get("devKey") != settings.BILLCOM_DEV_KEY:
        request.sandbox_note = "login refused: wrong developer key"
        return _billcom_error("BDC_1103", "Invalid developer key.", 401)
    user = BillcomUser.objects.filter(
        username=body.get("username", ""), organisation_id=body.get("organizationId", "")
    ).first()
    if user is None or not hmac.compare_digest(
        user.password.encode(), str(body.get("password", "")).encode()
    ):
        # Signed in to no organisation, so the line is tagged with none (operators only): whoever
        # typed a user name or organisation id into their form must not show it to that organisation.
        request.sandbox_note = f"login refused for {body.get('username', '')!r}"
        return _billcom_error("BDC_1102", "Incorrect username, password or organization ID", 400)
    # A sign-in belongs to the organisation signed in to.
    request.sandbox_orgs = [user.organisation_id]
    session = BillcomSession.objects.create(session_id=secrets.token_urlsafe(24), user=user)
    request.sandbox_note = f"login for {user.username}: session issued"
    return JsonResponse(
        {
            "sessionId": session.session_id,
            "organizationId": user.organisation_id,
            "userId": f"006{user.pk:012d}",
        }
    )


def _billcom_live_session(request: HttpRequest) -> BillcomSession | HttpResponse:
    """The caller's Bill.com session, touched (sessions expire after 35 idle minutes), or the
    error Bill.com answers with when it is unknown or expired."""
    session = (
        BillcomSession.objects.filter(session_id=request.headers.get("sessionId", ""))
        .select_related("user")
        .first()
    )
    if session is None or timezone.now() - session.last_used_at > data.BILLCOM_IDLE_LIFE:
        request.sandbox_note = "session invalid or idle for over 35 minutes"
        return _billcom_error("BDC_1109", "Session is invalid. Please log in.", 401)
    session.last_used_at = timezone.now()
    session.save(update_fields=["last_used_at"])
    request.sandbox_orgs = [session.user.organisation_id]
    return session


@require_GET
@logged("billcom")
def billcom_session(request: HttpRequest) -> HttpResponse:
    session = _billcom_live_session(request)
    if isinstance(session, HttpResponse):
        return session
    request.sandbox_note = f"session details for {session.user.username}"
    return JsonResponse(
        {
            "organizationId": session.user.organisation_id,
            "organizationName": session.user.organisation_name,
            "userId": f"006{session.user.pk:012d}",
        }
    )


# --- the Web Connector -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def webconnector_run(request: HttpRequest) -> HttpResponse:
    """Run the sandbox's Web Connector against our /qbwc/ service, as the customer's would, then go back
    to the page it was started from (QuickBooks Desktop set-up) with what happened. The SOAP transcript
    stays on /sandbox/ ("What each sandbox received"). A GET (a reload) just goes to /sandbox/."""
    if request.method != "POST":
        return redirect("sandbox:home")
    data.ensure_seeded()
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    username, password = request.POST.get("username", ""), request.POST.get("password", "")
    if not username or not password:
        messages.error(request, "Enter the Web Connector password to run the Web Connector.")
        return redirect(back or "sandbox:home")
    run = webconnector.run(
        app_url=webconnector.our_app_url(),
        username=username,
        password=password,
        account_name=request.POST.get("account_name", ""),
    )
    if run.ok:
        messages.success(request, f"The Web Connector connected QuickBooks Desktop ({run.company_name}).")
    else:
        messages.error(request, run.message)
    return redirect(back or "sandbox:home")

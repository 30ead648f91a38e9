"""The providers' side, played over real HTTP: authorize/consent pages, token endpoints, the few API
calls the connect flows make, Bill.com login, and a page listing what each sandbox received.

It follows the real protocols closely enough that a client that works here works against the real
provider: RFC 6749 token errors, PKCE S256 (RFC 7636), one-time codes, rotating refresh tokens,
Xero's GET /connections (xero-identity.yaml), Bill.com v3 login errors.

OAuth (Xero, QuickBooks Online, ApprovalMax), refusing what the providers refuse:
- a code lives as long as each provider says (data.CODE_LIVES), once;
- a wrong client secret is `invalid_client` (RFC 6749 §5.2), for every provider;
- a refresh asking for a scope wider than the grant's is `invalid_scope` (RFC 6749 §6);
- Xero: the authorize page refuses scopes a new app may not ask for (accounting.transactions);
  access tokens are JWTs carrying `authentication_event_id`; GET /connections lists every connection
  of the Xero user to the app (all consents), `?authEventId=` filters; DELETE /connections/{id}
  removes one, after which that tenant's API calls fail; the revocation endpoint revokes the grant and
  removes all the user's connections; Invoices needs the `accounting.invoices` scope (401
  insufficient_scope otherwise);
- QuickBooks Online: the revoke endpoint; refresh-token expiries (`x_refresh_token_expires_in`, and
  `x_refresh_token_hard_expires_in` when asked for). A missing `minorversion` or `Accept` is NOT
  refused, as Intuit does not refuse it: the request log says what was sent.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import unquote, urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Q
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

from . import data, users, webconnector
from .log import log_request
from .models import (
    AuthorizationCode,
    BillcomSession,
    BillcomUser,
    IssuedToken,
    RequestLogEntry,
    SandboxClient,
    SandboxOrganisation,
    XeroConnection,
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
            fault = getattr(request, "sandbox_fault", None)
            if fault is not None:  # a test's injected fault (sandbox/faults.py): this request is done
                fault.done.set()
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
            "provider_users": visible.provider_users(),
            "log": list(visible.log()[:200]),
            # Grouped per organisation on the page (regroup needs them in that order), newest first.
            # With the files each received as attachments (sandbox/attachments.py), listed beside it.
            "bills": list(
                visible.bills()
                .order_by("provider", "org_id", "-created_at", "-id")
                .prefetch_related("attachments")[:500]
            ),
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
    if provider == "xero":
        # Removing the app from the organisation in Xero also ends those users' connections to it.
        XeroConnection.objects.filter(org_id=org_id, user_key__in={t.user_key for t in tokens}).delete()
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
    scope = " ".join(dict.fromkeys(params.get("scope", "").split()))
    if provider == "xero":
        invalid = [s for s in scope.split() if s not in data.XERO_SCOPES]
        if invalid:
            # Xero shows an error page, no redirect ("You've requested an invalid scope").
            problem = f"You've requested an invalid scope: {' '.join(invalid)}."
            request.sandbox_note = f"authorize refused: invalid scope {' '.join(invalid)}"
            return render(request, "sandbox/error.html", {"label": label, "problem": problem}, status=400)
    if params.get("response_type") != "code":
        return redirect(_with_query(redirect_uri, {"error": "unsupported_response_type", **back}))
    if not params.get("code_challenge") or params.get("code_challenge_method") != "S256":
        return redirect(
            _with_query(
                redirect_uri,
                {"error": "invalid_request", "error_description": "PKCE with S256 is required", **back},
            )
        )
    # As at the real provider, the person signs in first; the consent lists only that login's
    # organisations (sandbox/users.py), so a tenant cannot connect another tenant's organisation.
    signed_in = _signed_in_provider_user(request, provider, redirect_uri, back)
    if isinstance(signed_in, HttpResponse):
        return signed_in
    orgs = list(SandboxOrganisation.objects.filter(provider=provider, org_id__in=signed_in.org_ids))
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
                    "provider_user": signed_in,
                    "error": "Choose at least one organisation."
                    if provider != "qbo"
                    else "Choose a company.",
                },
                status=400,
            )
        if provider == "qbo":
            chosen = chosen[:1]
        code = data.record_consent(
            provider=provider,
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            code_challenge=params["code_challenge"],
            org_ids=chosen,
            scope=scope,
            user_key=signed_in.key,
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
        {"label": label, "provider": provider, "orgs": orgs, "params": params, "provider_user": signed_in},
    )


# Fields of the sandbox's own sign-in and consent forms, never carried along as OAuth parameters.
_FORM_FIELDS = {"csrfmiddlewaretoken", "email", "password", "sign_in", "sign_out", "allow", "cancel", "org"}


def _session_key(provider: str) -> str:
    return f"sandbox_{provider}_user"


def signed_in_provider_user(request: HttpRequest, provider: str) -> users.ProviderUser | None:
    """The sandbox provider login signed in in this browser (kept in the session, as the provider's
    own cookie keeps a Xero or Intuit login), if it still exists."""
    return users.find(provider, request.session.get(_session_key(provider), ""))


def _signed_in_provider_user(
    request: HttpRequest, provider: str, redirect_uri: str, back: dict[str, str]
) -> users.ProviderUser | HttpResponse:
    """The provider login to consent as, or the answer to give instead: the sign-in page, its result,
    or signing out ("Not you?"). After signing in or out the browser goes back to the authorize URL."""
    oauth_params = [(k, v) for k, v in (request.GET if request.method == "GET" else request.POST).items()]
    oauth_params = [(k, v) for k, v in oauth_params if k not in _FORM_FIELDS]
    again = _with_query(request.path, dict(oauth_params))
    if request.method == "POST" and "sign_out" in request.POST:
        request.session.pop(_session_key(provider), None)
        request.sandbox_note = "signed out"
        return redirect(again)
    if request.method == "POST" and "sign_in" in request.POST:
        email = request.POST.get("email", "")
        user = users.authenticate(provider, email, request.POST.get("password", ""))
        if user is None:
            # Tagged with no organisation (operators only): a user name typed here reveals nothing.
            request.sandbox_note = "sign-in refused: wrong email address or password"
            return _sign_in_page(
                request, provider, oauth_params, email=email, error="Incorrect email address or password."
            )
        request.session[_session_key(provider)] = user.username
        request.sandbox_note = f"signed in as {user.username}"
        request.sandbox_orgs = list(user.org_ids)
        return redirect(again)
    user = signed_in_provider_user(request, provider)
    if user is not None:
        return user
    if request.method == "POST" and "cancel" in request.POST:
        request.sandbox_note = "sign-in cancelled: error=access_denied"
        return redirect(_with_query(redirect_uri, {"error": "access_denied", **back}))
    # Not signed in: a consent posted anyway (an old tab, a forged form) gets the sign-in page too.
    request.sandbox_note = "sign-in page shown"
    return _sign_in_page(request, provider, oauth_params)


def _sign_in_page(
    request: HttpRequest,
    provider: str,
    oauth_params: list[tuple[str, str]],
    *,
    email: str = "",
    error: str = "",
) -> HttpResponse:
    return render(
        request,
        "sandbox/sign_in.html",
        {
            "label": data.PROVIDER_LABELS[provider],
            "brand": users.SIGN_IN_BRANDS[provider],
            "oauth_params": oauth_params,
            "email": email,
            "error": error,
        },
    )


# --- OAuth 2.0: token endpoint ---------------------------------------------------------------------


def _token_error(error: str, description: str, status: int = 400) -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="sandbox"'
    return response


def _client_credentials(request: HttpRequest, body: dict | None = None) -> tuple[str, str, str]:
    """(client id, secret, how they came: "client_secret_basic" or "client_secret_post"). Every
    provider's endpoint takes both (RFC 6749 §2.3.1); ApprovalMax documents only the body, but does not
    document refusing Basic, so the sandbox accepts it and the log says which was used."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            raw = base64.b64decode(header[6:]).decode()
        except (ValueError, UnicodeDecodeError):
            return "", "", "client_secret_basic"
        client_id, _, secret = raw.partition(":")
        return unquote(client_id), unquote(secret), "client_secret_basic"
    body = request.POST if body is None else body
    return str(body.get("client_id", "")), str(body.get("client_secret", "")), "client_secret_post"


def _authenticated_client(request: HttpRequest, provider: str, body: dict | None = None):
    """The SandboxClient whose id and secret the request carries, or None (then: invalid_client)."""
    client_id, secret, method = _client_credentials(request, body)
    request.sandbox_client_auth = method
    client = SandboxClient.objects.filter(provider=provider, client_id=client_id).first()
    if client is None or not hmac.compare_digest(client.client_secret.encode(), secret.encode()):
        return None
    return client


def _token_body(request: HttpRequest, token: IssuedToken) -> JsonResponse:
    body = {
        "access_token": token.access_token,
        "token_type": "Bearer",
        "expires_in": int(data.ACCESS_TOKEN_LIFE.total_seconds()),
        "refresh_token": token.refresh_token,
        "scope": token.scope,
    }
    if token.provider == "qbo":
        # Intuit: the rolling refresh-token life, and (asked for with the header) the seconds left of
        # the grant's five years (intuit/oauth-jsclient 4.2.4, HardExpiresTest).
        body["x_refresh_token_expires_in"] = int(data.QBO_REFRESH_LIFE.total_seconds())
        if request.headers.get("x-include-refresh-token-hard-expires-in", "").lower() == "true":
            left = token.grant_started_at + data.QBO_REFRESH_HARD_LIFE - timezone.now()
            body["x_refresh_token_hard_expires_in"] = int(left.total_seconds())
    response = JsonResponse(body)
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
    client = _authenticated_client(request, provider)
    if client is None:
        request.sandbox_note = f"token refused: invalid_client ({request.sandbox_client_auth})"
        return _token_error("invalid_client", "Client authentication failed.", status=401)
    grant_type = request.POST.get("grant_type", "")
    with transaction.atomic():
        if grant_type == "authorization_code":
            response = _grant_code(request, provider, client)
        elif grant_type == "refresh_token":
            response = _grant_refresh(request, provider, client)
        else:
            request.sandbox_note = f"token refused: unsupported_grant_type {grant_type!r}"
            response = _token_error("unsupported_grant_type", "Use authorization_code or refresh_token.")
    request.sandbox_note += f" [client authentication: {request.sandbox_client_auth}]"
    return response


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
    if timezone.now() - code.created_at > data.code_life(provider):
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
    return _token_body(request, issued)


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
    scope = None
    if "scope" in request.POST:
        # RFC 6749 §6: the requested scope "MUST NOT include any scope not originally granted".
        requested = request.POST.get("scope", "").split()
        wider = [s for s in requested if s not in old.scope.split()]
        if wider:
            request.sandbox_note = f"refresh refused: invalid_scope (not granted: {' '.join(wider)})"
            return _token_error("invalid_scope", f"The requested scope exceeds the grant: {' '.join(wider)}.")
        scope = " ".join(requested)
    # Rotation: the old refresh token stops working the moment the new one is issued.
    old.refresh_used_at = timezone.now()
    old.save(update_fields=["refresh_used_at"])
    issued = data.issue_tokens(
        provider=provider, client_id=client.client_id, org_ids=old.org_ids, previous=old, scope=scope
    )
    request.sandbox_note = "refresh token rotated" + (
        " (scope sent)" if scope is not None else " (no scope sent)"
    )
    return _token_body(request, issued)


def _revoke_grant(token: IssuedToken) -> int:
    """End the grant `token` belongs to: every token issued under it stops working."""
    grant = IssuedToken.objects.filter(provider=token.provider, client_id=token.client_id)
    grant = grant.filter(grant_id=token.grant_id) if token.grant_id else grant.filter(pk=token.pk)
    return grant.update(revoked=True, refresh_used_at=timezone.now())


@csrf_exempt
@require_POST
@logged("xero")
def xero_revocation(request: HttpRequest) -> HttpResponse:
    """POST token=<refresh token> (XeroAPI/xero-python TokenApi.revoke_token): revokes the grant and
    removes ALL the user's connections to the app, not only this grant's."""
    client = _authenticated_client(request, "xero")
    if client is None:
        request.sandbox_note = "revocation refused: invalid_client"
        return _token_error("invalid_client", "Client authentication failed.", status=401)
    value = request.POST.get("token", "")
    found = (
        IssuedToken.objects.filter(provider="xero", client_id=client.client_id)
        .filter(Q(refresh_token=value) | Q(access_token=value))
        .first()
    )
    if found is None:
        # RFC 7009 §2.2: an invalid token is answered 200 too.
        request.sandbox_note = "revocation: unknown token (nothing to do)"
        return HttpResponse(status=200)
    request.sandbox_orgs = list(found.org_ids)
    count = _revoke_grant(found)
    removed = XeroConnection.objects.filter(client_id=client.client_id, user_key=found.user_key)
    request.sandbox_orgs += list(removed.values_list("org_id", flat=True))
    gone, _ = removed.delete()
    request.sandbox_note = f"grant revoked ({count} token(s)); {gone} connection(s) of the user removed"
    return HttpResponse(status=200)


@csrf_exempt
@require_POST
@logged("qbo")
def qbo_revoke(request: HttpRequest) -> HttpResponse:
    """POST {"token": refresh or access token} with HTTP Basic client credentials (Intuit's OAuth
    clients' revoke()): the grant ends."""
    body = read_json(request)
    body = body if isinstance(body, dict) else {}
    client = _authenticated_client(request, "qbo", body)
    if client is None:
        request.sandbox_note = "revoke refused: invalid_client"
        return _token_error("invalid_client", "Client authentication failed.", status=401)
    value = str(body.get("token", ""))
    found = (
        IssuedToken.objects.filter(provider="qbo", client_id=client.client_id)
        .filter(Q(refresh_token=value) | Q(access_token=value))
        .first()
        if value
        else None
    )
    if found is None:
        request.sandbox_note = "revoke: unknown token (nothing to do)"
        return HttpResponse(status=200)
    request.sandbox_orgs = list(found.org_ids)
    request.sandbox_note = f"grant revoked ({_revoke_grant(found)} token(s))"
    return HttpResponse(status=200)


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


def xero_insufficient_scope(request: HttpRequest, needed: str) -> JsonResponse:
    """Xero's answer to a token without the endpoint's scope: 401, `insufficient_scope` in
    WWW-Authenticate (Xero staff, community.xero.com/developer/discussion/119166525)."""
    request.sandbox_note = f"refused: the token lacks the {needed} scope (insufficient_scope)"
    response = JsonResponse(
        {"Type": None, "Title": "Unauthorized", "Status": 401, "Detail": "AuthorizationUnsuccessful"},
        status=401,
    )
    response["WWW-Authenticate"] = f'Bearer error="insufficient_scope", scope="{needed}"'
    return response


def xero_tenant_connected(access: IssuedToken, tenant_id: str) -> bool:
    """May this token call the API for `tenant_id`? Xero: while the token's user has the tenant
    connected to the app (from any consent); not after DELETE /connections/{id} or a revocation."""
    return XeroConnection.objects.filter(
        client_id=access.client_id, user_key=access.user_key, org_id=tenant_id
    ).exists()


def _xero_stamp(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f0")


@csrf_exempt
@require_http_methods(["GET", "DELETE"])
@logged("xero")
def xero_connections(request: HttpRequest, connection_id: str = "") -> HttpResponse:
    """GET /connections[?authEventId=] (getConnections): the user's connections to the app, from every
    consent. DELETE /connections/{id} (deleteConnection): 204, or 404 "Resource not found"."""
    access = _bearer(request, "xero")
    if access is None:
        return _unauthorized(request)
    mine = XeroConnection.objects.filter(client_id=access.client_id, user_key=access.user_key)
    if request.method == "DELETE":
        found = mine.filter(connection_id=connection_id).first()
        if found is None:
            request.sandbox_note = "delete connection refused: not found"
            return JsonResponse(
                {"Title": "Not Found", "Status": 404, "Detail": "Resource not found"}, status=404
            )
        request.sandbox_orgs = [found.org_id]
        found.delete()
        request.sandbox_note = f"connection to {found.org_id} deleted"
        return HttpResponse(status=204)
    auth_event = request.GET.get("authEventId", "")
    if auth_event:
        mine = mine.filter(auth_event_id=auth_event)
    names = dict(SandboxOrganisation.objects.filter(provider="xero").values_list("org_id", "name"))
    body = [
        {
            "id": c.connection_id,
            "authEventId": c.auth_event_id,
            "tenantId": c.org_id,
            "tenantType": "ORGANISATION",
            "tenantName": names.get(c.org_id, c.org_id),
            "createdDateUtc": _xero_stamp(c.created_at),
            "updatedDateUtc": _xero_stamp(c.updated_at),
        }
        for c in mine
    ]
    request.sandbox_orgs = [c["tenantId"] for c in body]
    request.sandbox_note = f"listed {len(body)} connection(s)" + (
        " for this authEventId" if auth_event else " (every consent of the user)"
    )
    return JsonResponse(body, safe=False)


def qbo_request_note(request: HttpRequest) -> str:
    """What Intuit would default for us, said in the log (Intuit refuses neither: a missing
    minorversion is answered in 75, Accept is optional), so a test can see what our client sent."""
    return (
        f"minorversion={request.GET.get('minorversion') or 'absent (answered as 75)'}, "
        f"Accept={request.headers.get('Accept') or 'absent'}"
    )


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
    request.sandbox_note = f"company info for {org.name} [{qbo_request_note(request)}]"
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
    """Bill.com's error shape: a list of {timestamp, code, severity, category, message}
    (https://developer.bill.com/docs/common-api-error-codes)."""
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


def _billcom_dev_key_refused() -> JsonResponse:
    return _billcom_error(data.BILLCOM_BAD_DEV_KEY, "Developer key is invalid.", 401)


def _billcom_logins_this_hour() -> int:
    """Sign-ins this clock hour that carried the sandbox's developer key, counted from what the sandbox
    received (its request log: one line per request, flushed with the tests' database). A refused
    developer key (401) is not ours, and a sign-in refused for the cap (429) was not made."""
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    return (
        RequestLogEntry.objects.filter(
            provider="billcom", method="POST", path__endswith="/v3/login", created_at__gte=hour
        )
        .exclude(status__in=(401, 429))
        .count()
    )


@csrf_exempt
@require_POST
@logged("billcom")
def billcom_login(request: HttpRequest) -> HttpResponse:
    body = read_json(request)
    if body is None:
        return _billcom_error("BDC_1001", "The request body is not JSON, or carries a NUL character.", 400)
    # v3 login carries the developer key in the body (later calls send it as a header).
    if not isinstance(body, dict) or body.get("devKey") != data.billcom_dev_key():
        request.sandbox_note = "login refused: wrong developer key"
        return _billcom_dev_key_refused()
    # 200 sign-ins per developer key per hour, across all customers (api-rate-limits).
    if _billcom_logins_this_hour() >= data.BILLCOM_LOGINS_PER_HOUR:
        request.sandbox_note = "login refused: the developer key's sign-ins for this hour are used up"
        return _billcom_error(
            data.BILLCOM_HOURLY_LIMIT,
            f"Max number of allowed requests per hour reached: {data.BILLCOM_LOGINS_PER_HOUR}.",
            429,
        )
    user = BillcomUser.objects.filter(
        username=body.get("username", ""), organisation_id=body.get("organizationId", "")
    ).first()
    if user is None or not hmac.compare_digest(
        user.password.encode(), str(body.get("password", "")).encode()
    ):
        # Signed in to no organisation, so the line is tagged with none (operators only): whoever
        # typed a user name or organisation id into their form must not show it to that organisation.
        request.sandbox_note = f"login refused for {body.get('username', '')!r}"
        return _billcom_error(
            data.BILLCOM_WRONG_SIGN_IN, "User name and/or password do not match our records.", 400
        )
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
    """The caller's Bill.com session, touched (sessions expire after 35 idle minutes), or the error
    Bill.com answers with: every call after the login carries the `devKey` header (BDC_1102 without
    ours) and a live `sessionId` (BDC_1109)."""
    if request.headers.get("devKey", "") != data.billcom_dev_key():
        request.sandbox_note = "refused: no devKey header, or not the sandbox's developer key"
        return _billcom_dev_key_refused()
    session = (
        BillcomSession.objects.filter(session_id=request.headers.get("sessionId", ""))
        .select_related("user")
        .first()
    )
    if session is None or timezone.now() - session.last_used_at > data.BILLCOM_IDLE_LIFE:
        request.sandbox_note = "session invalid or idle for over 35 minutes"
        return _billcom_error(data.BILLCOM_SESSION_INVALID, "Session is invalid.  Please log in.", 401)
    session.last_used_at = timezone.now()
    session.save(update_fields=["last_used_at"])
    request.sandbox_orgs = [session.user.organisation_id]
    return session


# Requests in progress per organisation (one developer key here): Bill.com serves at most 3 at once
# per developer key and organisation and refuses a fourth with BDC_1322 (api-rate-limits). Kept in
# memory: the sandbox runs in one process (`make run`, the tests' live_server).
_in_flight: dict[str, int] = {}
_in_flight_lock = threading.Lock()


@contextmanager
def billcom_in_flight(org_id: str) -> Iterator[bool]:
    """One request of `org_id` in progress while inside; yields False (and counts nothing) when
    BILLCOM_CONCURRENT_REQUESTS already are."""
    with _in_flight_lock:
        admitted = _in_flight.get(org_id, 0) < data.BILLCOM_CONCURRENT_REQUESTS
        if admitted:
            _in_flight[org_id] = _in_flight.get(org_id, 0) + 1
    try:
        yield admitted
    finally:
        if admitted:
            with _in_flight_lock:
                _in_flight[org_id] -= 1


def billcom_api(view: Callable) -> Callable:
    """A Bill.com v3 call after the login: the devKey and sessionId headers, then the concurrency
    limit. The view gets the session."""

    @functools.wraps(view)
    def inner(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        session = _billcom_live_session(request)
        if isinstance(session, HttpResponse):
            return session
        with billcom_in_flight(session.user.organisation_id) as admitted:
            if not admitted:
                request.sandbox_note = "refused: too many requests in progress for this organisation"
                return _billcom_error(
                    data.BILLCOM_CONCURRENCY_LIMIT,
                    "Max number of concurrent requests per organization reached.",
                    429,
                )
            return view(request, session, *args, **kwargs)

    return inner


@require_GET
@logged("billcom")
@billcom_api
def billcom_session(request: HttpRequest, session: BillcomSession) -> HttpResponse:
    """GET /v3/login/session: "the current organization ID, user ID, and MFA status" (getsessioninfo):
    no organisation name."""
    request.sandbox_note = f"session details for {session.user.username}"
    return JsonResponse(
        {
            "organizationId": session.user.organisation_id,
            "userId": f"006{session.user.pk:012d}",
            "mfaStatus": "NOT_ENROLLED",
        }
    )


@require_GET
@logged("billcom")
@billcom_api
def billcom_login_organisations(request: HttpRequest, session: BillcomSession) -> HttpResponse:
    """GET /v3/login/organizations: the organisations this session's user can sign in to. Bill.com's
    field names for it are not in the stored documentation; the sandbox answers a v3 list page
    ({"results": [...], "nextPage", "prevPage"}) of {id, name}, and the adapter reads other shapes too."""
    request.sandbox_note = f"organisations listed for {session.user.username}"
    same_user = BillcomUser.objects.filter(username=session.user.username).order_by("organisation_id")
    return JsonResponse(
        {
            "results": [{"id": u.organisation_id, "name": u.organisation_name} for u in same_user],
            "nextPage": None,
            "prevPage": None,
        }
    )


@require_GET
@logged("billcom")
@billcom_api
def billcom_organisation(request: HttpRequest, session: BillcomSession, organisation_id: str) -> HttpResponse:
    """GET /v3/organizations/{organizationId}: the organisation object (id, name, …). Bill.com requires
    the ADMINISTRATOR role; every sandbox user is one. Another organisation than the session's is
    refused (Bill.com's code for it is not documented; the sandbox answers its generic BDC_1002)."""
    if organisation_id != session.user.organisation_id:
        request.sandbox_note = f"organisation {organisation_id} is not this session's"
        return _billcom_error("BDC_1002", "Unknown error occurred.", 403)
    request.sandbox_note = f"organisation details for {session.user.username}"
    return JsonResponse(
        {"id": session.user.organisation_id, "archived": False, "name": session.user.organisation_name}
    )


# --- the Web Connector -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def webconnector_run(request: HttpRequest) -> HttpResponse:
    """Run the sandbox's Web Connector against our /qbwc/ service, as the customer's would, then go back
    to the page it was started from (QuickBooks Desktop set-up) with what happened. The SOAP transcript
    stays on /sandbox/ ("What each sandbox received"). A GET (a reload) just goes to /sandbox/.

    Only for a signed-in person who manages the connection the user name names (404 for a connection
    of an account they cannot open, 403 for one whose integrations they may not manage): the run plays
    that customer's computer, with the .qwc file of that connection. `company_file`: "own" (default)
    or "other", another client's company file open in QuickBooks (the service must refuse it)."""
    if request.method != "POST":
        return redirect("sandbox:home")
    data.ensure_seeded()
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    username, password = request.POST.get("username", ""), request.POST.get("password", "")
    connection = _managed_qbd_connection(request, username)
    if isinstance(connection, HttpResponse):
        return connection
    if not password:
        messages.error(request, "Enter the Web Connector password to run the Web Connector.")
        return redirect(back or "sandbox:home")
    qwc = webconnector.qwc_of(username)
    computer = webconnector.Computer.with_company(connection.account.name)
    computer.add_application(qwc)  # the customer added the .qwc with their own company file open
    if request.POST.get("company_file") == "other":
        computer.open(computer.add_file("Another client company file").path)
    run = webconnector.run(
        app_url=webconnector.our_app_url(), username=username, password=password, qwc=qwc, computer=computer
    )
    if run.ok and run.company_name:
        messages.success(request, f"The Web Connector connected QuickBooks Desktop ({run.company_name}).")
    elif run.ok:
        messages.success(request, f"The Web Connector ran: {run.message}")
    else:
        messages.error(request, run.message)
    return redirect(back or "sandbox:home")


def _managed_qbd_connection(request: HttpRequest, username: str):
    """The QuickBooks Desktop connection whose Web Connector user name this is, if the signed-in person
    may manage its account's integrations; otherwise the refusal to answer."""
    from accounts.permissions import accessible_accounts

    connection = webconnector.connection_for(username)
    if connection is None or not accessible_accounts(request.user).filter(pk=connection.account_id).exists():
        return HttpResponse("Not found.", status=404, content_type="text/plain")
    if not accessible_accounts(request.user, "integrations.manage").filter(pk=connection.account_id).exists():
        return HttpResponse(
            "Only Admins and the account's accountants or bookkeepers can run its Web Connector.",
            status=403,
            content_type="text/plain",
        )
    return connection

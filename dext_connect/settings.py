"""Settings, all from the environment (django-environ). Every variable is listed in README.md."""

from datetime import timedelta
from pathlib import Path

import environ

# The registry of providers declares their settings (plain data: it imports no app code).
from integrations import catalog as provider_catalog

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
# Django's technical error pages (tracebacks, URL lists) instead of the product's 404/403/500 pages.
# Off by default even with DEBUG, so the demo looks like the product (dext_connect/errors.py).
SHOW_DEBUG_ERRORS = env.bool("SHOW_DEBUG_ERRORS", default=False)
# A development key only works while DEBUG is on: production must set SECRET_KEY.
SECRET_KEY = env.str("SECRET_KEY", default="dev-insecure-key-change-me" if DEBUG else environ.Env.NOTSET)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Public base URL of this deployment: OAuth redirect URIs and the .qwc file are built from it.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# The sandbox (the sandbox/ app) plays the providers' side. On by default while DEBUG; in production it
# is off: the app is then not installed (no tables, no URLs, no module of it imported) and the
# providers' real endpoints (below) and client credentials come from the environment.
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=DEBUG)

INSTALLED_APPS = [
    "dext_connect.apps.AdminConfig",  # django.contrib.admin, unscoped as a whole (accounts/admin_site.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",  # its widget templates, for FORM_RENDERER
    "django_htmx",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "accounts",
    "integrations",
    *(["sandbox"] if SANDBOX_ENABLED else []),
    "costs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before the session is read: a NUL byte in the path, query or form is a 400 (see the module).
    "dext_connect.middleware.RefuseNulBytesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Turns a sign-in refused for too many failures into the lockout answer (accounts/throttling.py).
    "axes.middleware.AxesMiddleware",
    # Last: it runs the tenant view inside the account's scope (see accounts/tenancy.py).
    "accounts.tenancy.AccountMiddleware",
]

ROOT_URLCONF = "dext_connect.urls"
WSGI_APPLICATION = "dext_connect.wsgi.application"

# Forms render their widgets with the project's templates, so one override applies to every select in
# the product: templates/django/forms/widgets/select_option.html (the empty choice reads "Choose…").
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.tenancy",
                "integrations.context_processors.connection_health",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server and the task worker share the file; IMMEDIATE transactions take the
    # write lock up front, so two writers queue instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
    (BASE_DIR / "var").mkdir(exist_ok=True)
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
# django-axes first: it refuses a locked-out sign-in before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# People choose their own passwords (invitations, change, reset): Django's full default set.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://dext-connect"),
}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request without it
STATICFILES_DIRS = [BASE_DIR / "static"]
# Items' documents (costs/documents.py), through Django's storage API, under generated names: the file
# system (MEDIA_ROOT, var/media in the demo) or S3-compatible object storage (DOCUMENT_STORAGE=s3,
# django-storages). Never served at a public URL: MEDIA_URL is routed nowhere, and documents are read
# only by the tenant-scoped document views.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
MEDIA_URL = "/documents-are-not-public/"
DOCUMENT_STORAGE = env.str("DOCUMENT_STORAGE", default="filesystem")
_S3_OPTIONS = {
    "bucket_name": env.str("S3_BUCKET", default=""),
    "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
    "region_name": env.str("S3_REGION", default="") or None,
    "access_key": env.str("S3_ACCESS_KEY_ID", default="") or None,
    "secret_key": env.str("S3_SECRET_ACCESS_KEY", default="") or None,
    "location": env.str("S3_PREFIX", default=""),
    # Private objects: no public ACL, never overwritten, read through the app only.
    "default_acl": "private",
    "file_overwrite": False,
    "querystring_auth": True,
}
STORAGES = {
    "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": _S3_OPTIONS}
    if DOCUMENT_STORAGE == "s3"
    else {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Security: strict by default in production; `manage.py check --deploy` passes with DEBUG=false.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "form-action": ["'self'"] + env.list("CSP_FORM_ACTION_EXTRA", default=[]),
        "frame-ancestors": ["'none'"],
    }
}

# Uploads (costs/documents.py checks each file: at most 20 MB, 50 files at once): Django spools files
# larger than this to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_PERMISSIONS = 0o600

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# --- Sign-in throttling (django-axes; accounts/throttling.py) -------------------------------------
# The sign-in page (and the Django admin's), the QuickBooks Web Connector's `authenticate` and the
# Bill.com sign-in form. Ten failures for one login, or from one address, within the cool-off lock
# that login or address out until fifteen minutes after the failure that locked it. Attempts made while
# locked are refused before any password is checked, logged, and not counted: retrying does not
# lengthen the lockout, and a locked-out guesser learns nothing.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # two separate counts, either one locks
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A successful sign-in keeps earlier failures: resetting would also clear the address's count, so an
# attacker with one working login could wipe it between guesses at others.
AXES_RESET_ON_SUCCESS = False
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.throttling.lockout_username"
AXES_LOCKOUT_CALLABLE = "accounts.throttling.lockout_response"
# Failed attempts are kept (AccessAttempt, in the admin) until their cool-off passes; successful
# sign-ins are not logged by axes (that log would only grow).
AXES_DISABLE_ACCESS_LOG = True
# The client's address. Without a proxy it is REMOTE_ADDR and X-Forwarded-For is ignored (anyone can
# send one). Behind the TLS proxy (BEHIND_TLS_PROXY) it is the right-most X-Forwarded-For entry: the
# one the proxy appended. Entries to its left come from the client and may be forged, so they never
# choose the count. AXES_IPWARE_PROXY_COUNT: further proxies in front of the TLS proxy that also
# append (a CDN: 1). The proxy must set X-Forwarded-For (nginx: $proxy_add_x_forwarded_for).
if BEHIND_TLS_PROXY:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    AXES_IPWARE_PROXY_COUNT = env.int("AXES_IPWARE_PROXY_COUNT", default=0)
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)
# Not strict: a client's own proxy may add entries on the left; the right-most ones stay ours.
IPWARE_STRICT = False

# Background tasks: django-tasks. TASKS_BACKEND=db (the default): the database backend, queued
# publishes wait in the database until a worker (`manage.py db_worker`) takes them. TASKS_BACKEND=rq:
# django-tasks-rq, the queue in Redis at REDIS_URL, run by `manage.py rqworker --with-scheduler
# --job-class django_tasks_rq.Job` (README, "Task backends"). Any other value is a backend's path.
TASKS_BACKENDS = {"db": "django_tasks_db.DatabaseBackend", "rq": "django_tasks_rq.RQBackend"}
_tasks_backend = TASKS_BACKENDS.get(
    env.str("TASKS_BACKEND", default="db"), env.str("TASKS_BACKEND", default="")
)
TASKS = {
    "default": {
        "BACKEND": _tasks_backend or TASKS_BACKENDS["db"],
        "QUEUES": ["default"],
    }
}
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")  # the queue with TASKS_BACKEND=rq
if TASKS["default"]["BACKEND"] == TASKS_BACKENDS["rq"]:
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    RQ_QUEUES = {"default": {"URL": REDIS_URL}}

# Providers' limits on our calls (integrations/ratelimit.py) count in this clock's time: real time, or
# the sandbox's clock (`sandbox.clock`) when a benchmark speeds the sandbox's time up.
RATE_LIMIT_CLOCK = env.str("RATE_LIMIT_CLOCK", default="integrations.ratelimit")

# --- Accounting software -------------------------------------------------------------------------
# Fernet keys, newest first, comma separated. Rotation: put a new key in front, run
# `manage.py rotate_credentials`, then drop the old key. A development key is derived when unset.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

# Where the adapters find the sandbox while it is on (SANDBOX_ENABLED, above).
SANDBOX_BASE_URL = env.str("SANDBOX_BASE_URL", default=f"{SITE_URL}/sandbox").rstrip("/")

# --- Provider endpoints and client credentials ---------------------------------------------------
# Environment variables (README lists them), declared with their defaults in each provider's entry of
# integrations/catalog.py (the registry of providers) and defined here from it:
#   XERO_CLIENT_ID, XERO_CLIENT_SECRET, XERO_AUTHORIZE_URL, XERO_TOKEN_URL, XERO_CONNECTIONS_URL,
#   XERO_API_URL, XERO_REVOKE_URL,
#   QBO_CLIENT_ID, QBO_CLIENT_SECRET, QBO_AUTHORIZE_URL, QBO_TOKEN_URL, QBO_API_URL, QBO_REVOKE_URL,
#   APPROVALMAX_CLIENT_ID, APPROVALMAX_CLIENT_SECRET, APPROVALMAX_AUTHORIZE_URL, APPROVALMAX_TOKEN_URL,
#   APPROVALMAX_API_URL,
#   BILLCOM_API_URL, BILLCOM_DEV_KEY,
#   PROVIDER_HTTP_TIMEOUT (seconds, default 20)
# With the sandbox on, every unset URL points at the sandbox and the client credentials are the
# sandbox's fixed ones. "{sandbox}" is filled in when the URL is used (integrations/providers/base.py),
# so tests that move the sandbox onto live_server (settings.SANDBOX_BASE_URL) are followed.
# With the sandbox off, unset URLs are the providers' published production endpoints and unset client
# credentials stay empty: connecting that provider then says it is not set up on this server.
_PROVIDER_SETTINGS = provider_catalog.environment_settings(
    lambda name, default: env.str(name, default=default), sandbox=SANDBOX_ENABLED
)
globals().update(_PROVIDER_SETTINGS)

PROVIDER_HTTP_TIMEOUT = env.float("PROVIDER_HTTP_TIMEOUT", default=20.0)

# Chrome enforces form-action on the redirect that follows a form POST ("Continue to Xero" posts to
# us, we redirect to the provider's authorize page), so the providers' authorize origins are allowed.
CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"] += provider_catalog.authorize_origins(_PROVIDER_SETTINGS)

# --- E-mail (invitations, password resets) -------------------------------------------------------
# EMAIL_URL, parsed by django-environ: smtp+tls://user:password@smtp.example.com:587,
# smtp+ssl://...:465, consolemail:// (the terminal), filemail:///var/outbox (a folder; relative to
# the project unless it starts with a fourth slash). While DEBUG the default keeps every message in
# var/outbox/, where the Sent mail page (/sent-mail/) shows it: the demo delivers no e-mail.
# In production the default is an SMTP server on localhost; set EMAIL_URL to your provider's.
EMAIL_CONFIG = env.email_url(
    "EMAIL_URL", default="filemail:///var/outbox" if DEBUG else "smtp://localhost:25"
)
if EMAIL_CONFIG["EMAIL_FILE_PATH"]:
    EMAIL_CONFIG["EMAIL_FILE_PATH"] = str(BASE_DIR / EMAIL_CONFIG["EMAIL_FILE_PATH"])
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Dext Connect <no-reply@localhost>")
# The Sent mail page is open to anyone (not only superusers) while this is on: the demo's mail
# catcher. Off unless DEBUG and the sandbox are on; check --deploy refuses it with DEBUG off.
SENT_MAIL_OPEN = env.bool("SENT_MAIL_OPEN", default=DEBUG and SANDBOX_ENABLED)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

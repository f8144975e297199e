"""Settings: read only from the environment (django-environ).

The embedded default needs no service: SQLite and an on-disk Celery broker under var/.
DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://... switch to PostgreSQL and Redis.
DJANGO_ENV=production refuses to start without a secret key and turns on the deploy checks.
"""

from datetime import timedelta
from ipaddress import ip_network
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("ENGAGE_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env(
    DJANGO_ENV=(str, "development"),
    DJANGO_DEBUG=(bool, None),
    DJANGO_ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost", "testserver"]),
    DJANGO_CSRF_TRUSTED_ORIGINS=(list, []),
    TIME_ZONE=(str, "UTC"),
    ENGAGE_LEGACY_SUSPENDED_USAGE_BILLING=(bool, False),
    ENGAGE_PROVISIONING_BACKEND=(str, "ledger"),
    ENGAGE_WEBHOOK_URL=(str, ""),
    ENGAGE_WEBHOOK_SECRET=(str, ""),
    ENGAGE_WEBHOOK_TIMEOUT=(float, 5.0),
    ENGAGE_PROVISIONING_CONCURRENCY=(int, 8),
    ENGAGE_PROVISIONING_BATCH=(int, 5000),
    ENGAGE_PAYMENT_TERMS_DAYS=(int, 14),
    ENGAGE_LOGIN_DELAY_AFTER=(int, 3),
    ENGAGE_LOGIN_FAILURE_LIMIT=(int, 10),
    ENGAGE_LOGIN_ADDRESS_LIMIT=(int, 30),
    ENGAGE_LOGIN_LOCKOUT_MINUTES=(int, 15),
    ENGAGE_API_RATE=(str, "600/minute"),
    ENGAGE_API_BAD_TOKEN_RATE=(str, "20/minute"),
    ENGAGE_TRUSTED_PROXIES=(list, []),
    ENGAGE_ADMIN_SITE=(bool, False),
    ENGAGE_REQUIRE_TWO_FACTOR=(bool, None),
    ENGAGE_SESSION_IDLE_MINUTES=(int, 30),
    ENGAGE_SESSION_MAX_HOURS=(int, 12),
    ENGAGE_PASS_PARTS=(int, 4),
)

DJANGO_ENV = env("DJANGO_ENV")
PRODUCTION = DJANGO_ENV == "production"

if PRODUCTION:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
    # Refused outright, not warned about: a short key, one of few distinct characters, or Django's own default.
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 10 or SECRET_KEY.startswith("django-insecure-"):
        raise ImproperlyConfigured(
            "DJANGO_ENV=production needs DJANGO_SECRET_KEY: at least 50 random characters, not repeated ones "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
else:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-only-insecure-key-not-for-production")

DEBUG = env("DJANGO_DEBUG") if env("DJANGO_DEBUG") is not None else not PRODUCTION
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured(
        "DJANGO_ENV=production refuses DJANGO_DEBUG=true: the debug page shows settings and code to anyone."
    )
ALLOWED_HOSTS = env("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "bootstrap",  # django-bootstrap-static: Bootstrap's CSS and JS as the app's static files
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "health_check",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "engage",
    "statuses",
    "accounts",
    "billing",
    "provisioning",
    "dunning",
    "reporting",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session proved a second factor (django-otp).
    "django_otp.middleware.OTPMiddleware",
    "engage.audit.AuditActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages (it says why a session ended): idle and absolute session limits, a new password owed,
    # and the second factor Administrators must prove when ENGAGE_REQUIRE_TWO_FACTOR is on.
    "engage.sessions.SessionLimitsMiddleware",
    # After sign-in and messages: a POST with an Idempotency-Key or a form's one-time token happens once.
    "engage.once.OnceOnlyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "engage.middleware.LoginRequiredMiddleware",
]

# Failed sign-ins (engage/sign_in_guard.py, SPEC §1). Per user name across all addresses: after
# ENGAGE_LOGIN_DELAY_AFTER failures each further try waits a growing delay (2, 4, 8 … seconds, at most 5
# minutes); at ENGAGE_LOGIN_FAILURE_LIMIT the user name is locked until an Administrator (Setup → Locked
# sign-ins) or `manage.py sign_in_unlock` lifts it. Per address across user names: ENGAGE_LOGIN_ADDRESS_LIMIT
# failures within ENGAGE_LOGIN_LOCKOUT_MINUTES lock the address for that long. A user who proves a second
# factor (an authenticator code or a recovery code) with the right password signs in through either lock.
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
ENGAGE_LOGIN_DELAY_AFTER = max(1, env("ENGAGE_LOGIN_DELAY_AFTER"))
ENGAGE_LOGIN_FAILURE_LIMIT = max(ENGAGE_LOGIN_DELAY_AFTER, env("ENGAGE_LOGIN_FAILURE_LIMIT"))
ENGAGE_LOGIN_ADDRESS_LIMIT = max(1, env("ENGAGE_LOGIN_ADDRESS_LIMIT"))
ENGAGE_LOGIN_LOCKOUT = timedelta(minutes=max(1, env("ENGAGE_LOGIN_LOCKOUT_MINUTES")))
# The reverse proxies in front of the app, by address or network (10.0.0.0/8, 172.16.0.0/12, 127.0.0.1):
# X-Forwarded-For is read only on a connection from one of them, right to left, skipping them; the first
# address that is not a declared proxy is the client's. Empty (the default): the connection's address.
ENGAGE_TRUSTED_PROXIES = [item.strip() for item in env("ENGAGE_TRUSTED_PROXIES") if item.strip()]
for _proxy in ENGAGE_TRUSTED_PROXIES:
    try:
        ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"ENGAGE_TRUSTED_PROXIES: {_proxy!r} is not an address or network (e.g. 172.16.0.0/12,127.0.0.1)."
        ) from None
# Django admin (/admin/) is off unless turned on; when on, its sign-in is Engage's (the same guard and factors).
ENGAGE_ADMIN_SITE = env("ENGAGE_ADMIN_SITE")
# Administrators must enrol and prove a second factor (TOTP) to use their session: on by default in production.
ENGAGE_REQUIRE_TWO_FACTOR = (
    env("ENGAGE_REQUIRE_TWO_FACTOR") if env("ENGAGE_REQUIRE_TWO_FACTOR") is not None else PRODUCTION
)
OTP_TOTP_ISSUER = env.str("ENGAGE_TOTP_ISSUER", default="Engage")
# A session ends after ENGAGE_SESSION_IDLE_MINUTES without a request, and ENGAGE_SESSION_MAX_HOURS after its
# sign-in whatever happens (engage/sessions.py).
ENGAGE_SESSION_IDLE = timedelta(minutes=max(1, env("ENGAGE_SESSION_IDLE_MINUTES")))
ENGAGE_SESSION_MAX_AGE = timedelta(hours=max(1, env("ENGAGE_SESSION_MAX_HOURS")))
SESSION_COOKIE_AGE = int(ENGAGE_SESSION_MAX_AGE.total_seconds())

# Content-Security-Policy (django-csp): scripts and styles only from our own static files; the one inline
# <style> (the statistics chart's) carries the request's nonce. No inline script or event handler anywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:", "https:", "http:"],  # status type images may live on the operator's site
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Permissions-Policy (django-permissions-policy): the app uses none of these browser features.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media", "fullscreen",
        "geolocation", "gyroscope", "magnetometer", "microphone", "midi", "payment", "picture-in-picture",
        "publickey-credentials-get", "screen-wake-lock", "usb", "xr-spatial-tracking",
    )
}

ROOT_URLCONF = "engage.urls"

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
                "engage.context_processors.layout",
                "reporting.context_processors.sidebar",
            ],
        },
    },
]

WSGI_APPLICATION = "engage.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'engage.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite serialises writers; wait for the lock instead of failing while the worker writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
else:
    # Persistent connections in production (a web or worker process keeps its connection for 10 minutes,
    # checked before reuse) instead of connecting anew for every request; 0 (the default elsewhere) closes it
    # at the end of each request, which the test databases need to be dropped.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=600 if PRODUCTION else 0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("TEST", {})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The API's request counters live here: CACHE_URL=redis://… shares them between web processes (production);
# the default keeps them in each process.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# EMAIL_URL, e.g. smtp+tls://user:password@mail.example.net:587 (smtp://, smtp+ssl://, consolemail://);
# without it the e-mails are written as files under var/mail/ (development).
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
    EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="engage@localhost")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first so that an anonymous request is told 401 with WWW-Authenticate: Token.
        "engage.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["engage.permissions.IsStaffRole"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # JSON only: people read the API at /api/docs/ (Swagger UI), not in DRF's browsable pages.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "engage.api_paging.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    # Each token (or signed-in user) may make ENGAGE_API_RATE requests; more answer 429 with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": ["engage.tokens.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": env("ENGAGE_API_RATE"), "bad_token": env("ENGAGE_API_BAD_TOKEN_RATE")},
    "EXCEPTION_HANDLER": "engage.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Engage API",
    "DESCRIPTION": (
        "Account status types, status changes, billing and provisioning. [← Back to Engage](/accounts/)\n\n"
        "**Signing in.** In the browser the API uses your Engage session. A program sends a token: "
        "`Authorization: Token <key>`. Make one at [Your sign-in → API tokens](/me/tokens/) (a name, an optional "
        "expiry; the key is shown once), or with `python manage.py api_token <username> --name <name>`; keep it "
        "secret, and revoke it there (Administrators: Setup → Users). Wrong tokens are throttled per address. "
        "Lists are paged (`limit`, `offset` or `cursor`); errors answer "
        "`{\"detail\": message}` or `{field: [messages]}`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "engage.api_schema.add_error_responses",
        "engage.api_schema.group_and_summarise",
    ],
    "ENUM_NAME_OVERRIDES": {
        "StatusChangeStateEnum": "statuses.rules.StatusChangeState",
        "ChangeOptionEnum": "statuses.rules.ChangeOption",
        "BackendStatusEnum": "statuses.rules.BackendStatus",
        "SwitchStateEnum": "statuses.rules.SwitchState",
        "ChargeKindEnum": "billing.models.ChargeKind",
        "InvoiceKindEnum": "billing.models.InvoiceKind",
        "InvoiceStateEnum": "billing.payments.InvoiceState",
        "PaymentMethodEnum": "billing.models.PaymentMethod",
    },
}

# Celery: the database is the source of truth; the broker only carries ids.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "broker"
    for _sub in ("out", "processed", "control"):
        (_queue_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "out"),
        "data_folder_out": str(_queue_dir / "out"),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
        # The on-disk broker is polled; the default second per message is slow for a demo.
        "polling_interval": 0.1,
    }
else:
    # A message a worker took and never acknowledged (the worker was killed) goes back to the queue after
    # this many seconds: a lost pass is picked up in minutes. A pass still running then may get a second
    # copy; the database makes two copies share the work, never do it twice (SKIP LOCKED, unique keys).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=600)}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = TIME_ZONE

# The account model billing and provisioning reach through engage.account_model (never by import).
ENGAGE_ACCOUNT_MODEL = "accounts.Account"

ENGAGE_LEGACY_SUSPENDED_USAGE_BILLING = env("ENGAGE_LEGACY_SUSPENDED_USAGE_BILLING")
ENGAGE_PROVISIONING_BACKEND = env("ENGAGE_PROVISIONING_BACKEND")
ENGAGE_WEBHOOK_URL = env("ENGAGE_WEBHOOK_URL")
ENGAGE_WEBHOOK_SECRET = env("ENGAGE_WEBHOOK_SECRET")
ENGAGE_WEBHOOK_TIMEOUT = env("ENGAGE_WEBHOOK_TIMEOUT")
# Accounts whose jobs a provisioning pass runs at once (threads; each holds no transaction while it calls
# the backend): a pass takes about (accounts ÷ this) × the webhook deadline at worst.
ENGAGE_PROVISIONING_CONCURRENCY = env("ENGAGE_PROVISIONING_CONCURRENCY")
# Accounts per transaction when the backend batches (the ledger): a chunk's jobs are claimed, applied and
# recorded together, in a few statements whatever its size.
ENGAGE_PROVISIONING_BATCH = max(1, env("ENGAGE_PROVISIONING_BATCH"))
# The scheduled billing pass is cut into this many account-id ranges, one Celery task each, that any number
# of workers share (SPEC §10).
ENGAGE_PASS_PARTS = max(1, env("ENGAGE_PASS_PARTS"))
# Days from an invoice's issue date to its due date (SPEC §11); an invoice keeps the due date it was given.
ENGAGE_PAYMENT_TERMS_DAYS = min(max(0, env("ENGAGE_PAYMENT_TERMS_DAYS")), 365)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"expected_refusals": {"()": "engage.log_filters.ExpectedRefusalFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["expected_refusals"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Django's own console handler would print every django.* record a second time through the root.
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
    },
}

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # The orchestrator probes plain HTTP inside the network; every other path redirects to HTTPS.
    SECURE_REDIRECT_EXEMPT = [r"^health/"]
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

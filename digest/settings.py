"""Settings, read from the environment with embedded defaults.

Unset, everything runs on one machine: SQLite under var/, Celery tasks in-process,
email written as .eml files under var/outbox/. Every variable is listed with a comment
in .env.example. A bad value stops start-up with one line naming the variable.

Variables may also come from `.env` in the project (`make demo` writes one with DEBUG on
and a fresh key); what the environment sets wins. DEBUG is off unless set, and then a
real SECRET_KEY is required: there is none in the source.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from digest.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_path,
    env_str,
    env_url,
    load_env_file,
)

BASE_DIR = Path(__file__).resolve().parent.parent
ENV_FILE = load_env_file(BASE_DIR / ".env")
VAR_DIR = env_path("VAR_DIR", BASE_DIR / "var", base=BASE_DIR)

DEBUG = env_bool("DEBUG", default=False)

# Signs every link in every email: whoever knows it can forge them. Never in the source;
# `make demo` generates one into .env. 50 characters is what `check --deploy` asks for.
SECRET_KEY_MIN_CHARS = 50
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set (python -c 'import secrets; print(secrets.token_urlsafe(50))')"
    )
if not DEBUG and len(SECRET_KEY) < SECRET_KEY_MIN_CHARS:
    raise ImproperlyConfigured(
        f"SECRET_KEY must be at least {SECRET_KEY_MIN_CHARS} characters when DEBUG is off, "
        f"not {len(SECRET_KEY)}"
    )
if not DEBUG and len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured("SECRET_KEY must be random, not a few characters repeated")

SITE_URL = env_url("SITE_URL", "http://localhost:8000", schemes=("http", "https"))
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
# The site's own address is always one of them: setting SITE_URL is enough to serve it.
_site_host = urlsplit(SITE_URL).hostname or ""
if _site_host and _site_host not in ALLOWED_HOSTS and "*" not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append(f"[{_site_host}]" if ":" in _site_host else _site_host)
CSRF_TRUSTED_ORIGINS = [SITE_URL]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "anymail",
    "csp",
    "axes",
    "digest",
    "subscriptions",
]

_SECURITY = "django.middleware.security.SecurityMiddleware"
MIDDLEWARE = [
    _SECURITY,
    "digest.web.security.ContentSecurityPolicyMiddleware",
    "digest.web.security.PrivateTokenPages",
    # A probe knows the address it reaches, not the site's name: /healthz answers whatever
    # the Host header (it builds no link from it), before CommonMiddleware checks
    # ALLOWED_HOSTS; with the headers above, like every page.
    "digest.ops.health.HealthzAnyHost",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "digest.web.security.TokenPageOrigin",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "digest.urls"
WSGI_APPLICATION = "digest.wsgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
_default_db = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
_database_url = env_str("DATABASE_URL", _default_db)
try:
    _db = dj_database_url.parse(_database_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is malformed: {exc}") from None
if not _db.get("ENGINE") or ("sqlite" not in _db["ENGINE"] and not _db.get("NAME")):
    raise ImproperlyConfigured(f"DATABASE_URL is malformed: {_database_url!r}")
if "sqlite" in _db["ENGINE"]:
    _db["CONN_MAX_AGE"] = 0
    if _db["NAME"] not in ("", ":memory:"):
        _folder = Path(_db["NAME"]).parent
        if _database_url == _default_db:
            # The embedded default lives under VAR_DIR, made on first use.
            try:
                _folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ImproperlyConfigured(
                    f"VAR_DIR: cannot create {_folder}: {exc.strerror or exc}"
                ) from None
        elif not _folder.is_dir():
            # A typo in a path the operator chose: say so rather than make a stray folder.
            raise ImproperlyConfigured(
                f"DATABASE_URL names a SQLite file in {_folder}, which is not a folder"
            )
    # WAL lets the web process read while an ingest writes; with synchronous=NORMAL a commit
    # does not wait for the disk (the per-message records of sending), and only a power loss,
    # never a crashed process, can undo the last ones.
    _db.setdefault("OPTIONS", {})["init_command"] = (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
    _db["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where collectstatic gathers the files (the image does at build time, outside VAR_DIR so a
# volume on VAR_DIR cannot hide them).
STATIC_ROOT = env_path("STATIC_ROOT", VAR_DIR / "static", base=BASE_DIR)
# The pages' CSS and JavaScript: files, never inline (the Content-Security-Policy forbids it).
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed names once collected; plain names before (tests, `make dev`).
    "staticfiles": {"BACKEND": "digest.web.static.CollectedStaticFiles"},
}
if STATIC_ROOT.is_dir():
    # Once collected, the web process serves them itself (WhiteNoise: far-future caching of
    # hashed names, gzip and Brotli), so no proxy needs to answer /static/. Right after
    # SecurityMiddleware, as WhiteNoise asks; before that, `make dev` serves them
    # (digest/web/dev_wsgi.py).
    MIDDLEWARE.insert(MIDDLEWARE.index(_SECURITY) + 1, "whitenoise.middleware.WhiteNoiseMiddleware")

# --- Celery ------------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
if CELERY_BROKER_URL and not CELERY_BROKER_URL.startswith(("redis://", "rediss://", "memory://")):
    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL must start with redis://, rediss:// or memory://, "
        f"not {CELERY_BROKER_URL!r}"
    )
# Without a broker, tasks run in-process: the embedded default needs no Redis.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Sending: a task is acknowledged only after it ran, one at a time per worker process, and
# a worker killed mid-task hands its message back; claims make the re-run harmless.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# When Redis goes away a worker reconnects (broker_connection_retry, 100 tries) and puts its
# unacknowledged tasks back in the queue. The batches it is running finish meanwhile: their
# claims are in PostgreSQL, not in Redis, so a second run of the same task is harmless.
# (Celery 6 will cancel them instead; this keeps today's behaviour, and its warning quiet.)
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# ...and it keeps trying for as long as Redis is away (Celery's default gives up after 100
# tries, a quarter of an hour, and the worker exits).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# CELERY_BROKER_TRANSPORT_OPTIONS (Redis's visibility timeout) is set with the send lease
# below: a task whose worker died comes back from Redis after it.

# --- Email -------------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Daily Papers <papers@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SENDER_ADDRESS = env_str("SENDER_ADDRESS", "Daily Papers Digest, 1 Example Street, Springfield")
OUTBOX_DIR = env_path("OUTBOX_DIR", VAR_DIR / "outbox", base=BASE_DIR)

ANYMAIL_PROVIDERS = (
    "amazon_ses",
    "brevo",
    "mailersend",
    "mailgun",
    "mailjet",
    "mailtrap",
    "mandrill",
    "postal",
    "postmark",
    "resend",
    "scaleway",
    "sendgrid",
    "sparkpost",
    "unisender_go",
)
EMAIL_PROVIDER = env_choice(
    "EMAIL_PROVIDER", "outbox", ("outbox", "smtp", "console", *ANYMAIL_PROVIDERS)
)
if EMAIL_PROVIDER == "outbox":
    EMAIL_BACKEND = "digest.mailing.backends.OutboxBackend"
elif EMAIL_PROVIDER == "smtp":
    EMAIL_BACKEND = "digest.mailing.backends.SMTPBackend"
    EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
elif EMAIL_PROVIDER == "console":
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
else:
    EMAIL_BACKEND = f"anymail.backends.{EMAIL_PROVIDER}.EmailBackend"
    if EMAIL_PROVIDER == "resend":
        # Resend honours an idempotency key: ours sends each digest's (README, sending).
        EMAIL_BACKEND = "digest.mailing.backends.ResendBackend"
    if EMAIL_PROVIDER == "amazon_ses" and importlib.util.find_spec("boto3") is None:
        raise ImproperlyConfigured(
            "EMAIL_PROVIDER=amazon_ses needs boto3: pip install 'django-anymail[amazon-ses]'"
        )

# An ESP's keys come from variables named after it (POSTMARK_SERVER_TOKEN, MAILGUN_API_KEY,
# BREVO_API_KEY, ...): anymail looks them up in this dict under the same names.
ANYMAIL: dict[str, object] = {
    key: value
    for key, value in os.environ.items()
    if key.startswith(tuple(f"{p.upper()}_" for p in ANYMAIL_PROVIDERS))
}
_webhook_secret = env_str("ANYMAIL_WEBHOOK_SECRET")
if _webhook_secret:
    if ":" not in _webhook_secret:
        raise ImproperlyConfigured("ANYMAIL_WEBHOOK_SECRET must look like user:password")
    ANYMAIL["WEBHOOK_SECRET"] = _webhook_secret

SEND_RATE_PER_SECOND = env_float("SEND_RATE_PER_SECOND", 50.0, minimum=0.1)
SEND_BATCH_SIZE = env_int("SEND_BATCH_SIZE", 500, minimum=1)
SEND_MAX_ATTEMPTS = env_int("SEND_MAX_ATTEMPTS", 6, minimum=1)
SEND_RETRY_BASE_SECONDS = env_float("SEND_RETRY_BASE_SECONDS", 30.0, minimum=0.01)
# The longest wait between two tries, before jitter: doubling stops here.
SEND_RETRY_MAX_SECONDS = env_float("SEND_RETRY_MAX_SECONDS", 3600.0, minimum=0.01)
# How long a claim holds at least (longer for a batch that needs it at SEND_RATE_PER_SECOND):
# after a worker dies, its digests wait about this long, then go out again.
SEND_LEASE_SECONDS = env_float("SEND_LEASE_SECONDS", 120.0, minimum=1)
# A queued delivery whose task has not run this long after being enqueued is enqueued again
# (a lost task); the claim makes a duplicate task harmless.
SEND_REENQUEUE_SECONDS = env_float("SEND_REENQUEUE_SECONDS", 600.0, minimum=1)
# Sending counts as stalled (/healthz, the dashboard, /metrics) when a delivery that could go
# has waited this long, plus the time the whole backlog takes at SEND_RATE_PER_SECOND.
SEND_STALL_SECONDS = env_float("SEND_STALL_SECONDS", 600.0, minimum=1)
# /metrics (Prometheus) answers staff signed in to the admin, and, when this is set, a
# request with the header "Authorization: Bearer <METRICS_TOKEN>".
METRICS_TOKEN = env_str("METRICS_TOKEN")
# Redis hands an unacknowledged task (its worker died) to another worker after this long:
# two leases, so the task finds its claims expired and sends them itself; never hours later
# when the recovery already sent them and a stale task would only compete.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": max(60.0, 2 * SEND_LEASE_SECONDS)}
# An explicit backend class, overriding EMAIL_PROVIDER (fault-injection tests use it).
EMAIL_BACKEND = env_str("EMAIL_BACKEND", EMAIL_BACKEND)

# --- Feeds -------------------------------------------------------------------------------------
HF_API_URL = env_url(
    "HF_API_URL", "https://huggingface.co/api/daily_papers", schemes=("http", "https")
)
ARXIV_RSS_URL = env_url("ARXIV_RSS_URL", "https://rss.arxiv.org/rss", schemes=("http", "https"))
ARXIV_CATEGORIES = env_str("ARXIV_CATEGORIES", "cs.LG+cs.CL+cs.AI+cs.CV")
FEED_USER_AGENT = env_str(
    "FEED_USER_AGENT", f"paper-digest/0.1 (+{SITE_URL}; trending papers by email)"
)
# The most one download may take, from connecting to its last byte: a server that trickles
# or stalls is cut off then, not only one that is silent for that long.
FEED_TIMEOUT_SECONDS = env_float("FEED_TIMEOUT_SECONDS", 30.0, minimum=0.1)
# The most one download may hold, after decompression (a gzip bomb stops there too).
FEED_MAX_BYTES = env_int("FEED_MAX_BYTES", 50 * 1024 * 1024, minimum=1024)
# arXiv asks for at most one request every three seconds.
ARXIV_MIN_INTERVAL_SECONDS = env_float("ARXIV_MIN_INTERVAL_SECONDS", 3.0, minimum=0)

# --- Security ----------------------------------------------------------------------------------
# Served over HTTPS (SITE_URL says so) in production: HTTP is redirected, cookies go over
# HTTPS only, and browsers are told (HSTS) never to try plain HTTP again.
HTTPS = SITE_URL.startswith("https://") and not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=HTTPS)
# A load balancer probes over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 365 * 24 * 3600 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Behind a proxy that ends TLS, the request reaches us as HTTP: the proxy's header says it
# was HTTPS. Only name it when a proxy you run sets it (and strips it from clients), or
# anyone could claim HTTPS.
_proxy_header = env_str("PROXY_SSL_HEADER")
if _proxy_header:
    if not re.fullmatch(r"HTTP_[A-Z0-9_]+", _proxy_header):
        raise ImproperlyConfigured(
            f"PROXY_SSL_HEADER must be a header as Django names it, like "
            f"HTTP_X_FORWARDED_PROTO, not {_proxy_header!r}"
        )
    SECURE_PROXY_SSL_HEADER = (_proxy_header, "https")

# Content-Security-Policy (django-csp): scripts, styles and images from this site only, no
# inline script anywhere. digest.web.security loosens styles for the admin and for the digest
# page (an email, whose CSS is inlined into style attributes).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
    }
}

# Admin login (django-axes): after this many failures from one IP address, or for one user
# name, further attempts are refused for AXES_COOLOFF_TIME hours, right password or not.
AXES_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_float("ADMIN_LOGIN_COOLOFF_HOURS", 1.0, minimum=0.01)
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# REMOTE_ADDR, as the rate limits count: a client-set X-Forwarded-For would dodge it.
AXES_CLIENT_IP_CALLABLE = "subscriptions.ratelimit.client_ip"
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Every log line goes through one filter that cuts the tokens out of paths
# ("Bad Request: /unsubscribe/…/"): a log is read by more people than the links were for.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"tokens": {"()": "digest.web.security.MaskTokens"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["tokens"]}
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's own console handler (DEBUG only) would print its lines unmasked.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # django-axes says INFO at every login; lockouts are warnings.
        "axes": {"level": "WARNING"},
        # runserver's request lines, which Django otherwise prints through its own handler.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# --- Subscriptions: cache and rate limits -----------------------------------------------------
# Rate limits count in the cache. Without Redis each process counts alone (fine for one
# machine); with Redis every web process shares the counts, so the limit holds across them.
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CELERY_BROKER_URL,
            "KEY_PREFIX": "digest",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Signup and link requests per hour: from one IP address, and emails to one address.
RATE_LIMIT_PER_IP = env_int("RATE_LIMIT_PER_IP", 20, minimum=1)
RATE_LIMIT_PER_ADDRESS = env_int("RATE_LIMIT_PER_ADDRESS", 3, minimum=1)

# --- Webhooks (subscriptions.webhooks) ---------------------------------------------------------
# Soft bounces and deferrals (distinct messages since the last delivery) after which an
# address is treated as bounced and suppressed; one passing mailbox-full is no reason to stop.
SOFT_BOUNCE_LIMIT = env_int("SOFT_BOUNCE_LIMIT", 5, minimum=1)

"""Settings, read from the environment with embedded defaults.

Unset, everything runs on one machine: SQLite under var/, Celery tasks in-process,
email written as .eml files under var/outbox/. Every variable is listed with a comment
in .env.example. A bad value stops start-up with one line naming the variable.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import dj_database_url
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
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = env_path("VAR_DIR", BASE_DIR / "var", base=BASE_DIR)

DEBUG = env_bool("DEBUG", default=True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    # Good only for a developer's machine: DEBUG off refuses to start without a real key.
    SECRET_KEY = "development-only-insecure-key-do-not-use-in-production"

SITE_URL = env_url("SITE_URL", "http://localhost:8000", schemes=("http", "https"))
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
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
    "digest",
    "subscriptions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
        Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
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
STATIC_ROOT = VAR_DIR / "static"

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
# CELERY_BROKER_TRANSPORT_OPTIONS (Redis's visibility timeout) is set with the send lease
# below: a task whose worker died comes back from Redis after it.

# --- Email -------------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Daily Papers <papers@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SENDER_ADDRESS = env_str("SENDER_ADDRESS", "Daily Papers Digest, 1 Example Street, Springfield")
OUTBOX_DIR = env_path("OUTBOX_DIR", VAR_DIR / "outbox", base=BASE_DIR)

ANYMAIL_PROVIDERS = (
    "amazon_ses", "brevo", "mailersend", "mailgun", "mailjet", "mailtrap", "mandrill",
    "postal", "postmark", "resend", "scaleway", "sendgrid", "sparkpost", "unisender_go",
)  # fmt: skip
EMAIL_PROVIDER = env_choice(
    "EMAIL_PROVIDER", "outbox", ("outbox", "smtp", "console", *ANYMAIL_PROVIDERS)
)
if EMAIL_PROVIDER == "outbox":
    EMAIL_BACKEND = "digest.mail_backends.OutboxBackend"
elif EMAIL_PROVIDER == "smtp":
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
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
        EMAIL_BACKEND = "digest.mail_backends.ResendBackend"
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
# How long a claim holds at least (longer for a batch that needs it at SEND_RATE_PER_SECOND):
# after a worker dies, its digests wait about this long, then go out again.
SEND_LEASE_SECONDS = env_float("SEND_LEASE_SECONDS", 120.0, minimum=1)
# A queued delivery whose task has not run this long after being enqueued is enqueued again
# (a lost task); the claim makes a duplicate task harmless.
SEND_REENQUEUE_SECONDS = env_float("SEND_REENQUEUE_SECONDS", 600.0, minimum=1)
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
FEED_TIMEOUT_SECONDS = env_float("FEED_TIMEOUT_SECONDS", 30.0, minimum=1)
# arXiv asks for at most one request every three seconds.
ARXIV_MIN_INTERVAL_SECONDS = env_float("ARXIV_MIN_INTERVAL_SECONDS", 3.0, minimum=0)

# --- Security ----------------------------------------------------------------------------------
if not DEBUG:
    SESSION_COOKIE_SECURE = SITE_URL.startswith("https://")
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
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

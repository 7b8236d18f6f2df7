"""`/healthz`: is this web process able to do its job? For load balancers and `make dev`.

It checks what every request and every send needs: the database answers a `SELECT 1`, and
the Celery broker (Redis) answers a PING. Without a broker, tasks run in-process ("eager"),
which is healthy by design. The body is JSON for people and scripts alike; the status code
(200 or 503) is what a load balancer reads.

The page is public, so it says only "ok" or "failing" per check: what failed, where and
how long it took go to the log (a driver's error names hosts and ports).
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

# A load balancer probes every few seconds: a broker that takes longer than this to answer
# is as good as down, and the probe must not pile up behind it.
BROKER_TIMEOUT_SECONDS = 2.0
# Errors go into the log: one short line, never a whole message with a stack or a URL.
ERROR_MAX_CHARS = 120

_CREDENTIALS_IN_URL = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]*@", re.IGNORECASE)
_PASSWORD_PAIR = re.compile(r"(password|passwd|pwd|secret|token)\s*=\s*\S+", re.IGNORECASE)

Check = dict[str, Any]


def short_error(exc: BaseException) -> str:
    """One line naming what went wrong, with anything that looks like a credential removed.

    Driver messages can quote connection strings; logs are read by many, so credentials in
    URLs and `password=...` pairs are masked before anything is written.
    """
    first_line = (str(exc).strip().splitlines() or [""])[0]
    first_line = _CREDENTIALS_IN_URL.sub(r"\g<scheme>***@", first_line)
    first_line = _PASSWORD_PAIR.sub(r"\1=***", first_line)
    text = f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__
    return text if len(text) <= ERROR_MAX_CHARS else text[: ERROR_MAX_CHARS - 1] + "…"


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def check_database() -> Check:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not healthy", whatever the driver raises
        return {"ok": False, "ms": _elapsed_ms(started), "error": short_error(exc)}
    return {"ok": True, "ms": _elapsed_ms(started)}


def check_broker() -> Check:
    url = settings.CELERY_BROKER_URL or ""
    if not url.startswith(("redis://", "rediss://")):
        # No broker configured: tasks run in this process, so there is nothing to reach.
        mode = "eager" if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False) else "memory"
        return {"ok": True, "mode": mode}
    # redis-py directly rather than Celery's connection: its timeouts are plain and bounded,
    # where kombu's ensure_connection retries with its own intervals.
    import redis

    started = time.perf_counter()
    client = redis.Redis.from_url(
        url,
        socket_timeout=BROKER_TIMEOUT_SECONDS,
        socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
        retry_on_timeout=False,
    )
    try:
        client.ping()
    except Exception as exc:  # refused, timed out, auth failed: all mean "not healthy"
        return {"ok": False, "mode": "redis", "ms": _elapsed_ms(started), "error": short_error(exc)}
    finally:
        client.close()
    return {"ok": True, "mode": "redis", "ms": _elapsed_ms(started)}


def run_checks() -> dict[str, Check]:
    return {"database": check_database(), "broker": check_broker()}


def public_view(checks: dict[str, Check]) -> dict[str, object]:
    """What anyone may see: ok or failing, per check and overall."""
    healthy = all(check["ok"] for check in checks.values())
    return {
        "status": "ok" if healthy else "failing",
        "checks": {name: "ok" if check["ok"] else "failing" for name, check in checks.items()},
    }


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = run_checks()
    body = public_view(checks)
    if body["status"] != "ok":
        failing = {name: check for name, check in checks.items() if not check["ok"]}
        logger.warning("healthz failing: %s", failing)
    response = JsonResponse(body, status=200 if body["status"] == "ok" else 503)
    if request.method == "HEAD":
        # The status code is the answer; gunicorn drops a HEAD body anyway, with a warning
        # on every probe.
        response.content = b""
    return response

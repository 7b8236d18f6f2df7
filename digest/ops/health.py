"""`/healthz`: is this web process able to do its job, and is sending moving? For load
balancers, monitors and `make dev`.

It checks what every request and every send needs: the database answers a `SELECT 1`, and
the Celery broker (Redis) answers a PING. Without a broker, tasks run in-process ("eager"),
which is healthy by design. It also says whether sending has stalled: digests that could
go have waited longer than they should (digest/ops/backlog.py). The body is JSON for people
and scripts alike; the status code (200 or 503) is what a load balancer reads, and only the
database and the broker decide it.

The page is public, so it says only "ok" or "failing" per check: what failed, where and
how long it took go to the log (a driver's error names hosts and ports).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from digest.errors import short_error

Check = dict[str, Any]

logger = logging.getLogger(__name__)

# A load balancer probes every few seconds: a broker that takes longer than this to answer
# is as good as down, and the probe must not pile up behind it.
BROKER_TIMEOUT_SECONDS = 2.0


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


# How long a process reuses its look at the backlog: a load balancer probes every few
# seconds, and the backlog's two counts need not run that often.
SENDING_CHECK_SECONDS = 10.0
_sending: tuple[float, Check] | None = None


def check_sending() -> Check:
    """Digests that could go are going: none has waited past the stall threshold
    (digest/ops/backlog.py)."""
    global _sending
    if _sending is not None and time.monotonic() - _sending[0] < SENDING_CHECK_SECONDS:
        return _sending[1]
    from digest.ops.backlog import load_backlog

    started = time.perf_counter()
    try:
        backlog = load_backlog(timezone.now())
    except Exception as exc:  # the database check says why
        return {"ok": False, "ms": _elapsed_ms(started), "error": short_error(exc)}
    wait = backlog.oldest_wait.total_seconds() if backlog.oldest_wait is not None else 0.0
    check: Check = {
        "ok": not backlog.stalled,
        "ms": _elapsed_ms(started),
        "waiting": backlog.waiting,
        "oldest_wait_s": round(wait),
    }
    _sending = (time.monotonic(), check)
    return check


def run_checks() -> dict[str, Check]:
    database = check_database()
    checks = {"database": database, "broker": check_broker()}
    if database["ok"]:
        checks["sending"] = check_sending()
    return checks


# What this web process needs to serve: a load balancer reads the status code, which only
# these decide. Sending that stalled is for a monitor to read in the body, not a reason to
# take the site out of rotation.
SERVING = ("database", "broker")


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
    serving = all(checks[name]["ok"] for name in SERVING)
    response = JsonResponse(body, status=200 if serving else 503)
    if request.method == "HEAD":
        # The status code is the answer; gunicorn drops a HEAD body anyway, with a warning
        # on every probe.
        response.content = b""
    return response


class HealthzAnyHost:
    """Answers /healthz before anything reads the Host header.

    A container's HEALTHCHECK asks http://127.0.0.1:8000/healthz, a load balancer asks the
    instance's own address: neither knows the name in ALLOWED_HOSTS, and a 400 would mark
    a healthy site down. The answer builds no link from the host, so it is safe to give
    whatever the host says.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info in ("/healthz", "/healthz/"):
            return healthz(request)
        return self.get_response(request)

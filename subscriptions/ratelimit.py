"""Fixed-window counters in the Django cache (Redis in production, memory in development).

Two limits guard the forms that send email: requests from one IP address (stops a
script hammering the forms) and emails to one address (stops anyone using us to flood
somebody's inbox with confirmation links).
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from digest.errors import short_error

log = logging.getLogger(__name__)

WINDOW_SECONDS = 3600


def _over(scope: str, ident: str, limit: int) -> bool:
    # Hashed so that neither addresses nor IPs sit in the cache in clear.
    key = f"ratelimit:{scope}:{hashlib.sha256(ident.encode()).hexdigest()[:32]}"
    try:
        cache.add(key, 0, timeout=WINDOW_SECONDS)
        try:
            count = cache.incr(key)
        except ValueError:  # the window expired between add() and incr()
            cache.set(key, 1, timeout=WINDOW_SECONDS)
            count = 1
    except Exception as exc:
        # The cache (Redis) is down: nobody is counted meanwhile, rather than nobody able
        # to sign up. The per-address limit is the one that protects inboxes; it resumes
        # with the cache.
        log.warning("rate limits not counted: the cache is unreachable (%s)", short_error(exc))
        return False
    return count > limit


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is whatever the client wants it to be unless a
    # proxy we trust sets it, and a forged one would dodge the per-IP limit.
    return request.META.get("REMOTE_ADDR") or None


def ip_over_limit(request: HttpRequest) -> bool:
    """Counts this request against its IP address."""
    return _over("ip", client_ip(request) or "unknown", settings.RATE_LIMIT_PER_IP)


def address_over_limit(email: str) -> bool:
    """Counts one email to this address."""
    return _over("address", email.lower(), settings.RATE_LIMIT_PER_ADDRESS)

"""Fetching the live feeds: the HF Daily Papers API and arXiv RSS.

requests with urllib3's Retry gives timeouts, retries with exponential backoff on 429 and
5xx (honouring Retry-After) and connection reuse; pyrate-limiter keeps arXiv's one request
every three seconds. Every failure becomes a FeedError with one readable line.

A download has a deadline as a whole (FEED_TIMEOUT_SECONDS), not only per read: a server
that sends a byte a second, or stalls half-way, is cut off then. It also has a size
(FEED_MAX_BYTES, after decompression), and a body cut short of its Content-Length is an
error, not a shorter feed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date
from functools import cache
from urllib.parse import urlencode

import requests
from django.conf import settings
from pyrate_limiter import Duration, Limiter, Rate
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import ProtocolError, ReadTimeoutError
from urllib3.util.retry import Retry

from digest.papers.ingestion.records import ARXIV_RSS, HF_JSON, FeedError

RETRY_STATUSES = (429, 500, 502, 503, 504)
BACKOFF_FACTOR = 1.0  # seconds; doubles with each retry, plus jitter
CHUNK_BYTES = 64 * 1024
HF_PAGE_SIZE = 100  # the API refuses more per page


@dataclass(frozen=True)
class Download:
    url: str
    body: bytes
    format: str


@cache
def _session() -> requests.Session:
    session = requests.Session()
    retry = Retry(
        total=5,
        connect=2,
        read=2,
        backoff_factor=BACKOFF_FACTOR,
        backoff_jitter=0.5,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=("GET",),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_connections=2, pool_maxsize=2)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = settings.FEED_USER_AGENT
    return session


@cache
def _arxiv_limiter() -> Limiter | None:
    interval = settings.ARXIV_MIN_INTERVAL_SECONDS
    if interval <= 0:
        return None
    return Limiter(Rate(1, int(Duration.SECOND * interval)))


def get(url: str) -> bytes:
    """GET a URL and return its body, or raise FeedError with one line saying why."""
    seconds = settings.FEED_TIMEOUT_SECONDS
    deadline = time.monotonic() + seconds
    try:
        response = _session().get(url, timeout=seconds, stream=True)
    except requests.RequestException as exc:
        raise FeedError(f"cannot fetch {url}: {_reason(exc)}") from None
    with response:
        if response.status_code >= 400:
            raise FeedError(f"{url} answered HTTP {response.status_code}")
        return _body(response, url, deadline)


def _body(response: requests.Response, url: str, deadline: float) -> bytes:
    """The whole body by the deadline, at most FEED_MAX_BYTES, or FeedError."""
    limit = settings.FEED_MAX_BYTES
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _too_slow(url)
            # Each read may wait only for what is left of the deadline, and returns what
            # has arrived (read1), so a trickle is measured against the deadline too.
            _read_timeout(response, remaining)
            chunk = response.raw.read1(CHUNK_BYTES, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise FeedError(f"{url} sent more than {limit:,} bytes (FEED_MAX_BYTES)")
            chunks.append(chunk)
    except (ReadTimeoutError, TimeoutError):
        if time.monotonic() >= deadline - 0.05:
            raise _too_slow(url) from None
        raise FeedError(f"cannot fetch {url}: the server stopped sending") from None
    except ProtocolError:
        expected = response.headers.get("Content-Length")
        of = f" of {expected}" if expected else ""
        raise FeedError(
            f"cannot fetch {url}: the body was cut short ({size:,}{of} bytes)"
        ) from None
    except (Urllib3Error, requests.RequestException, OSError) as exc:
        raise FeedError(f"cannot fetch {url}: {type(exc).__name__}") from None
    return b"".join(chunks)


def _too_slow(url: str) -> FeedError:
    seconds = settings.FEED_TIMEOUT_SECONDS
    return FeedError(f"cannot fetch {url}: not done after {seconds:g} s (FEED_TIMEOUT_SECONDS)")


def _read_timeout(response: requests.Response, seconds: float) -> None:
    """Let the next read on this response's socket wait at most `seconds`."""
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.01))


def _reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.exceptions.RetryError):
        return "the server kept failing after retries"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    return type(exc).__name__


def hf_daily_papers(day: date) -> list[Download]:
    """Every page of the HF Daily Papers API for one featured day."""
    downloads = []
    for page in range(50):
        query = urlencode({"date": day.isoformat(), "limit": HF_PAGE_SIZE, "p": page})
        url = f"{settings.HF_API_URL}?{query}"
        body = get(url)
        downloads.append(Download(url, body, HF_JSON))
        # A short page is the last one: the API gives no total.
        try:
            if len(json.loads(body)) < HF_PAGE_SIZE:
                break
        except (ValueError, TypeError, RecursionError):
            break  # the parser reports what is wrong with it
    return downloads


def arxiv_rss(categories: str | None = None) -> Download:
    url = f"{settings.ARXIV_RSS_URL}/{categories or settings.ARXIV_CATEGORIES}"
    limiter = _arxiv_limiter()
    if limiter is not None:
        limiter.try_acquire("arxiv")
    return Download(url, get(url), ARXIV_RSS)

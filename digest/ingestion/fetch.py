"""Fetching the live feeds: the HF Daily Papers API and arXiv RSS.

requests with urllib3's Retry gives timeouts, retries with exponential backoff on 429 and
5xx (honouring Retry-After) and connection reuse; pyrate-limiter keeps arXiv's one request
every three seconds. Every failure becomes a FeedError with one readable line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from urllib.parse import urlencode

import requests
from django.conf import settings
from pyrate_limiter import Duration, Limiter, Rate
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from digest.ingestion.records import ARXIV_RSS, HF_JSON, FeedError

RETRY_STATUSES = (429, 500, 502, 503, 504)
BACKOFF_FACTOR = 1.0  # seconds; doubles with each retry, plus jitter
MAX_RESPONSE_BYTES = 50 * 1024 * 1024
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
    try:
        response = _session().get(url, timeout=settings.FEED_TIMEOUT_SECONDS, stream=True)
        with response:
            if response.status_code >= 400:
                raise FeedError(f"{url} answered HTTP {response.status_code}")
            body = response.raw.read(MAX_RESPONSE_BYTES + 1, decode_content=True)
    except requests.RequestException as exc:
        raise FeedError(f"cannot fetch {url}: {_reason(exc)}") from None
    if len(body) > MAX_RESPONSE_BYTES:
        raise FeedError(f"{url} sent more than {MAX_RESPONSE_BYTES // 2**20} MB")
    return body


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
        except (ValueError, TypeError):
            break  # the parser reports what is wrong with it
    return downloads


def arxiv_rss(categories: str | None = None) -> Download:
    url = f"{settings.ARXIV_RSS_URL}/{categories or settings.ARXIV_CATEGORIES}"
    limiter = _arxiv_limiter()
    if limiter is not None:
        limiter.try_acquire("arxiv")
    return Download(url, get(url), ARXIV_RSS)

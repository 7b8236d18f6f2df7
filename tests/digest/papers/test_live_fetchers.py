"""The live fetchers, against a local HTTP server standing in for HF and arXiv."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from digest.models import Paper
from digest.papers.ingestion import fetch
from tests.support.paths import FIXTURES


class FakeFeeds(ThreadingHTTPServer):
    """Serves the HF API and arXiv RSS from fixtures; can fail on request."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[str] = []
        self.user_agents: list[str] = []
        self.failures: list[int] = []  # statuses to answer before succeeding
        self.hf_items = [json.loads((FIXTURES / "hf_daily_papers_item.json").read_text())]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeFeeds

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        self.server.user_agents.append(self.headers.get("User-Agent", ""))
        if self.server.failures:
            self._answer(self.server.failures.pop(0), b"busy", "text/plain")
        elif self.path.startswith("/api/daily_papers"):
            query = parse_qs(urlsplit(self.path).query)
            page = int(query.get("p", ["0"])[0])
            items = self.server.hf_items if page == 0 else []
            self._answer(200, json.dumps(items).encode(), "application/json")
        elif self.path.startswith("/rss/"):
            self._answer(200, (FIXTURES / "arxiv_rss_sample.xml").read_bytes(), "application/xml")
        else:
            self._answer(404, b"not found", "text/plain")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def feeds(settings, monkeypatch) -> Iterator[FakeFeeds]:
    server = FakeFeeds()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.HF_API_URL = f"{server.url}/api/daily_papers"
    settings.ARXIV_RSS_URL = f"{server.url}/rss"
    settings.FEED_USER_AGENT = "paper-digest-test/1.0"
    monkeypatch.setattr(fetch, "BACKOFF_FACTOR", 0.01)
    fetch._session.cache_clear()
    yield server
    server.shutdown()
    server.server_close()
    fetch._session.cache_clear()


@pytest.mark.django_db
def test_without_paths_it_fetches_the_hf_day_and_arxiv_rss(feeds, capsys):
    call_command("ingest", "--date", "2026-03-06")

    out = capsys.readouterr().out
    assert "hf-json" in out and "arxiv-rss" in out
    assert "date=2026-03-06" in feeds.requests[0]
    assert feeds.requests[1].startswith("/rss/cs.LG+cs.CL+cs.AI+cs.CV")
    assert Paper.objects.filter(arxiv_id="2602.23229").exists()


@pytest.mark.django_db
def test_it_says_who_it_is(feeds):
    call_command("ingest", "--date", "2026-03-06")

    assert set(feeds.user_agents) == {"paper-digest-test/1.0"}


@pytest.mark.django_db
def test_it_retries_a_busy_server_and_then_succeeds(feeds):
    feeds.failures = [503, 429]

    call_command("ingest", "--date", "2026-03-06")

    assert Paper.objects.filter(arxiv_id="2602.23229").exists()


@pytest.mark.django_db
def test_a_server_that_keeps_failing_gives_one_line_and_a_non_zero_exit(feeds, capsys):
    feeds.failures = [500] * 20

    with pytest.raises(CommandError):
        call_command("ingest", "--date", "2026-03-06")

    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


@pytest.mark.django_db
def test_a_url_argument_is_fetched_and_its_format_detected(feeds, capsys):
    call_command("ingest", f"{feeds.url}/rss/cs.LG")

    assert "arxiv-rss" in capsys.readouterr().out


@pytest.mark.django_db
def test_backfill_reads_each_day_since_the_given_date(feeds):
    call_command("ingest", "--since", "2026-03-04", "--date", "2026-03-06")

    days = [parse_qs(urlsplit(r).query)["date"][0] for r in feeds.requests]
    assert days == ["2026-03-04", "2026-03-05", "2026-03-06"]


def test_an_unreachable_host_is_a_feed_error(monkeypatch):
    monkeypatch.setattr(fetch, "BACKOFF_FACTOR", 0.01)
    fetch._session.cache_clear()
    with pytest.raises(fetch.FeedError, match="cannot fetch"):
        fetch.get("http://127.0.0.1:9/nothing")

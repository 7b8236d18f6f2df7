"""Feeds that trickle, stall, stop short, never end or nest too deeply: `ingest` ends each
with one clear line and a non-zero exit, within its deadline, and stores nothing.

A local HTTP server plays the hostile feed; the command runs in a process of its own, as
an operator or cron runs it, so the exit code and every line it prints are what is seen.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from digest.models import Paper
from digest.papers.ingestion import fetch
from tests.support.paths import FIXTURES, ROOT

DEADLINE = 1.5  # FEED_TIMEOUT_SECONDS for these tests
ITEM = json.loads((FIXTURES / "hf_daily_papers_item.json").read_text())


def hf_items(count: int) -> bytes:
    items = []
    for n in range(count):
        item = json.loads(json.dumps(ITEM))
        item["paper"]["id"] = f"2611.{n:05d}"
        item["paper"]["title"] = item["title"] = f"Paper number {n}"
        items.append(item)
    return json.dumps(items).encode()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _head(self, length: int, content_type: str = "application/json") -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def do_GET(self) -> None:
        body = hf_items(3)
        try:
            if self.path.startswith("/trickle"):
                # One byte every 0.1 s: no read ever waits long, the whole never ends.
                self._head(len(body))
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.1)
            elif self.path.startswith("/short"):
                self._head(len(body))
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            elif self.path.startswith("/stall"):
                self._head(len(body))
                self.wfile.write(body[:100])
                self.wfile.flush()
                time.sleep(DEADLINE * 3)
            elif self.path.startswith("/huge"):
                self._head(10 * 1024 * 1024)
                for _ in range(10 * 1024):
                    self.wfile.write(b" " * 1024)
            elif self.path.startswith("/deep"):
                deep = b"[" * 100_000
                self._head(len(deep))
                self.wfile.write(deep)
            elif self.path.startswith("/api/daily_papers"):
                # Page 0 is full (100 items: there is a next page), page 1 stops short.
                if "p=0" in self.path:
                    page = hf_items(100)
                    self._head(len(page))
                    self.wfile.write(page)
                else:
                    self._head(len(body))
                    self.wfile.write(body[:50])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
            else:
                self._head(len(body))
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should


@pytest.fixture
def hostile(settings) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.FEED_TIMEOUT_SECONDS = DEADLINE
    settings.FEED_MAX_BYTES = 1024 * 1024
    settings.HF_API_URL = f"{url}/api/daily_papers"
    settings.ARXIV_RSS_URL = f"{url}/rss"
    fetch._session.cache_clear()
    yield url
    server.shutdown()
    server.server_close()
    fetch._session.cache_clear()


def ingest(*args: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env |= {
        "VAR_DIR": str(tmp_path),
        "FEED_TIMEOUT_SECONDS": str(DEADLINE),
        "FEED_MAX_BYTES": str(1024 * 1024),
    }
    env.pop("DATABASE_URL", None)  # each fails before it stores: SQLite in tmp is enough
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", "ingest", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result, time.monotonic() - started


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/trickle", "not done after 1.5 s (FEED_TIMEOUT_SECONDS)"),
        ("/stall", "not done after 1.5 s (FEED_TIMEOUT_SECONDS)"),
        ("/short", "the body was cut short"),
        ("/huge", "sent more than 1,048,576 bytes (FEED_MAX_BYTES)"),
        ("/deep", "nested too deeply"),
    ],
)
def test_a_hostile_feed_ends_in_one_clear_line_and_a_non_zero_exit(hostile, tmp_path, path, says):
    result, seconds = ingest(f"{hostile}{path}", tmp_path=tmp_path)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert says in errors[0]
    assert len(result.stderr.strip().splitlines()) <= 2, result.stderr  # and the summary
    # Unchecked, the trickle would take over 7 minutes and the stall would hang. Start-up
    # (Django, the apps) takes seconds on a busy machine: the download's own time is
    # measured in-process below.
    assert seconds < 30


def test_the_deadline_covers_the_whole_download_not_each_read(hostile):
    started = time.monotonic()
    with pytest.raises(fetch.FeedError, match="FEED_TIMEOUT_SECONDS"):
        fetch.get(f"{hostile}/trickle")

    assert DEADLINE - 0.1 < time.monotonic() - started < DEADLINE + 0.5


def test_a_stall_is_cut_at_the_deadline(hostile):
    started = time.monotonic()
    with pytest.raises(fetch.FeedError):
        fetch.get(f"{hostile}/stall")

    assert time.monotonic() - started < DEADLINE + 0.5


def test_a_file_of_deeply_nested_brackets_ends_in_one_line(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)

    result, _ = ingest(str(deep), tmp_path=tmp_path)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "error: not hf-json: the JSON is nested too deeply" in result.stderr


@pytest.mark.django_db
def test_a_day_whose_second_page_is_cut_short_stores_nothing(hostile, capsys):
    with pytest.raises(CommandError):
        call_command("ingest", "--date", "2026-03-06")

    assert "cut short" in capsys.readouterr().err
    assert not Paper.objects.filter(arxiv_id__startswith="2611.").exists()


@pytest.mark.django_db
def test_a_well_behaved_feed_still_comes_in_whole(hostile, capsys):
    call_command("ingest", f"{hostile}/fine")

    assert "created=3" in capsys.readouterr().out

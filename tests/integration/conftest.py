"""Real services for the integration tests: a Redis server, Celery worker processes and an
SMTP server that counts every message it accepts, against the PostgreSQL test database.

They need PostgreSQL (DATABASE_URL) and redis-server. Without them the tests are skipped on
a developer's machine, and fail under CI=true, where .ci/run installs both.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import NoReturn
from urllib.parse import quote

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent.parent


def _missing(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"integration tests need {reason} in CI (.ci/run installs it)")
    pytest.skip(f"integration tests need {reason}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        _missing("redis-server (apt-get install redis-server)")
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="redis-test-")
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    import redis

    client = redis.Redis(port=port, socket_timeout=1)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    wait_until(answers, 20, "redis-server to answer PING")
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(workdir, ignore_errors=True)


def database_url_for_workers() -> str:
    """The URL of the test database pytest-django created, for other processes."""
    if connection.vendor != "postgresql":
        _missing("PostgreSQL (DATABASE_URL=postgres://...)")
    params = connection.settings_dict
    user = quote(params["USER"] or "")
    password = f":{quote(params['PASSWORD'])}" if params.get("PASSWORD") else ""
    host = params["HOST"] or "127.0.0.1"
    return f"postgres://{user}{password}@{host}:{params['PORT'] or 5432}/{params['NAME']}"


@dataclass
class Workers:
    """Celery worker processes, each in its own process group so it can be killed whole."""

    env: dict[str, str]
    logs: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def start(self, name: str, concurrency: int = 2, **env: str) -> subprocess.Popen:
        log = self.logs / f"{name}-{len(self.processes)}.log"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "digest",
                "worker",
                "--loglevel=INFO",
                f"--concurrency={concurrency}",
                "--pool=prefork",
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env | env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        wait_until(lambda: "ready." in log.read_text(), 60, f"worker {name} to be ready")
        return process

    def call(self, task: str) -> None:
        """Send a task by name, as beat would."""
        subprocess.run(
            [sys.executable, "-m", "celery", "-A", "digest", "call", task],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=60,
        )

    def kill(self, process: subprocess.Popen) -> None:
        """kill -9 the worker and all its pool processes at once."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def log_tail(self) -> str:
        return "\n".join(p.read_text()[-3000:] for p in sorted(self.logs.glob("*.log")))


class SMTPInbox:
    """What a real SMTP server on 127.0.0.1 accepted: every message, however many times the
    same one came (providers deliver every copy), parsed as a mail client would."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        with self.lock:
            self.messages.extend((rcpt, message) for rcpt in envelope.rcpt_tos)
        return "250 Message accepted for delivery"

    def received(self) -> Counter[str]:
        """How many digests each address received."""
        with self.lock:
            return Counter(rcpt for rcpt, _ in self.messages)

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SMTPInbox]:
    from aiosmtpd.controller import Controller

    inbox = SMTPInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def smtp(smtp_server) -> SMTPInbox:
    smtp_server.clear()
    return smtp_server


def random_moment(low: float, high: float) -> float:
    """A point to kill a worker at: random, so the runs together cover every instant of a
    send, and printed, so a failing run can be repeated."""
    value = random.uniform(low, high)
    print(f"killing at {value:.2f}")
    return value


@pytest.fixture
def workers(redis_url, smtp, tmp_path, settings) -> Iterator[Workers]:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    outbox = tmp_path / "outbox"
    settings.OUTBOX_DIR = outbox
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))},
        "DATABASE_URL": database_url_for_workers(),
        "CELERY_BROKER_URL": redis_url,
        # Counted where a provider would deliver: a real SMTP server.
        "EMAIL_PROVIDER": "smtp",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
        "EMAIL_USE_TLS": "false",
        "OUTBOX_DIR": str(outbox),
        "DEBUG": "true",
        "SEND_RATE_PER_SECOND": "500",
        "SEND_BATCH_SIZE": "100",
        "SEND_RETRY_BASE_SECONDS": "0.2",
        # Twelve tries then span about a minute and a half at worst, well inside a test's wait.
        "SEND_RETRY_MAX_SECONDS": "10",
        "SEND_MAX_ATTEMPTS": "12",
        "SEND_LEASE_SECONDS": "20",
        "SEND_REENQUEUE_SECONDS": "6",
        "DB_CONN_MAX_AGE": "0",
        "PYTHONPATH": str(ROOT),
    }
    pool = Workers(env=env, logs=logs)
    yield pool
    pool.stop_all()

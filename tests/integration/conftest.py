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


class RedisServer:
    """A redis-server on a port of its own, as caches run it (no persistence): restarting
    it loses everything it held, queued tasks included."""

    def __init__(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            _missing("redis-server (apt-get install redis-server)")
        self.binary = server
        self.port = _free_port()
        self.workdir = tempfile.mkdtemp(prefix="redis-test-")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        import redis

        client = redis.Redis(port=self.port, socket_timeout=1)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_until(answers, 20, "redis-server to answer PING")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    server = RedisServer()
    server.start()
    yield server.url
    server.remove()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A Redis of this test's own, to restart."""
    server = RedisServer()
    server.start()
    yield server
    server.remove()


class PostgresServer:
    """The throwaway PostgreSQL server the suite runs on (scripts/postgres.sh), restarted
    as an operator would: `pg_ctl restart -m fast` drops every connection."""

    def __init__(self, directory: str) -> None:
        self.data = Path(directory) / "data"
        found = shutil.which("pg_ctl") or next(
            iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)), None
        )
        if found is None:
            _missing("pg_ctl (apt-get install postgresql)")
        self.pg_ctl = str(found)

    def restart(self) -> None:
        log = self.data.parent / "server.log"
        command = [
            *[self.pg_ctl, "-D", str(self.data), "-l", str(log)],
            *["-m", "fast", "-w", "-t", "60", "restart"],
        ]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        # The server outlives pg_ctl: its output goes to the log, not to pipes we wait on.
        subprocess.run(
            command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=90
        )
        # This process's own connection went with the old server.
        connection.close()


@pytest.fixture
def postgres_server() -> Iterator[PostgresServer]:
    directory = os.environ.get("PG_THROWAWAY_DIR")
    if not directory or connection.vendor != "postgresql":
        _missing("the throwaway PostgreSQL server of scripts/postgres.sh (PG_THROWAWAY_DIR)")
    yield PostgresServer(directory)
    connection.close()


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
        self.times: list[float] = []  # time.monotonic() of each accepted message
        self.port = 0
        self.refusing_until = 0.0
        self.refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        with self.lock:
            refused = address in self.refused
            refusing = time.monotonic() < self.refusing_until
        if refused:
            return "550 5.1.1 No such mailbox here"
        if refusing:
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        with self.lock:
            self.messages.extend((rcpt, message) for rcpt in envelope.rcpt_tos)
            self.times.extend(time.monotonic() for _ in envelope.rcpt_tos)
        return "250 Message accepted for delivery"

    def refuse_everyone_for(self, seconds: float) -> None:
        """A temporary 451 to every recipient, from now on for `seconds`."""
        with self.lock:
            self.refusing_until = time.monotonic() + seconds

    def refuse_for_good(self, address: str) -> None:
        """A permanent 550 to this recipient."""
        with self.lock:
            self.refused.add(address)

    def arrivals(self) -> list[float]:
        with self.lock:
            return list(self.times)

    def received(self) -> Counter[str]:
        """How many digests each address received."""
        with self.lock:
            return Counter(rcpt for rcpt, _ in self.messages)

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.times.clear()
            self.refusing_until = 0.0
            self.refused.clear()


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


class WorkerEnv:
    """The environment of worker processes: this test's database, a Redis, the SMTP server,
    and settings on top of the defaults."""

    def __init__(self, logs: Path, outbox: Path) -> None:
        self.logs = logs
        self.outbox = outbox

    def __call__(self, redis_url: str, smtp: SMTPInbox, **settings: str) -> dict[str, str]:
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))},
            "DATABASE_URL": database_url_for_workers(),
            "CELERY_BROKER_URL": redis_url,
            # Counted where a provider would deliver: a real SMTP server.
            "EMAIL_PROVIDER": "smtp",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp.port),
            "EMAIL_USE_TLS": "false",
            "OUTBOX_DIR": str(self.outbox),
            "DEBUG": "true",
            "DB_CONN_MAX_AGE": "0",
            "PYTHONPATH": str(ROOT),
            **settings,
        }


@pytest.fixture
def worker_env(tmp_path, settings) -> WorkerEnv:
    outbox = tmp_path / "outbox"
    settings.OUTBOX_DIR = outbox
    logs = tmp_path / "logs"
    logs.mkdir()
    return WorkerEnv(logs, outbox)


@pytest.fixture
def workers(redis_url, smtp, worker_env) -> Iterator[Workers]:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    env = worker_env(
        redis_url,
        smtp,
        SEND_RATE_PER_SECOND="500",
        SEND_BATCH_SIZE="100",
        SEND_RETRY_BASE_SECONDS="0.2",
        # Twelve tries then span about a minute and a half at worst, well inside a test's wait.
        SEND_RETRY_MAX_SECONDS="10",
        SEND_MAX_ATTEMPTS="12",
        SEND_LEASE_SECONDS="20",
        SEND_REENQUEUE_SECONDS="6",
    )
    pool = Workers(env=env, logs=worker_env.logs)
    yield pool
    pool.stop_all()

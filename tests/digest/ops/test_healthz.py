"""/healthz tells a load balancer whether this process can serve (database and broker), and
a monitor whether sending is moving."""

from __future__ import annotations

import pytest
from django.db.utils import OperationalError

from digest import errors
from digest.ops import health

pytestmark = pytest.mark.django_db

# Port 1 on loopback: nothing listens there, so a connection is refused at once.
DEAD_REDIS = "redis://:hunter2-secret@127.0.0.1:1/0"


def test_it_answers_ok_with_the_database_and_in_process_tasks(client, settings):
    settings.CELERY_BROKER_URL = "memory://"
    settings.CELERY_TASK_ALWAYS_EAGER = True

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", "sending": "ok"},
    }


def test_the_trailing_slash_answers_the_same(client):
    response = client.get("/healthz/")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_it_is_never_cached(client):
    response = client.get("/healthz")

    assert "no-store" in response["Cache-Control"]
    assert "max-age=0" in response["Cache-Control"]


def test_head_answers_without_a_body_and_post_is_refused(client):
    assert client.head("/healthz").status_code == 200
    assert client.head("/healthz").content == b""
    assert client.post("/healthz").status_code == 405
    assert client.put("/healthz").status_code == 405


def test_a_broker_that_is_down_makes_it_503_saying_only_failing(client, settings, caplog):
    settings.CELERY_BROKER_URL = DEAD_REDIS

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "failing",
        "checks": {"database": "ok", "broker": "failing", "sending": "ok"},
    }
    text = response.content.decode()
    assert "127.0.0.1" not in text and "hunter2" not in text and "Connection" not in text
    # The detail is in the log, one line, credentials masked.
    [record] = [r for r in caplog.records if r.name == "digest.ops.health"]
    assert "ConnectionError" in record.getMessage()
    assert "hunter2" not in record.getMessage()
    assert record.exc_info is None


def test_a_database_that_is_down_makes_it_503_saying_only_failing(client, monkeypatch, caplog):
    class DeadCursor:
        def __enter__(self) -> DeadCursor:
            raise OperationalError(
                'connection to server at "db.internal" (10.0.0.5), port 5432 failed: '
                "postgres://digest:s3cret-pw@db.internal:5432/digest password=s3cret-pw"
            )

        def __exit__(self, *exc: object) -> None:
            return None

    monkeypatch.setattr(health.connection, "cursor", lambda: DeadCursor())

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "failing",
        "checks": {"database": "failing", "broker": "ok"},
    }
    text = response.content.decode()
    assert "db.internal" not in text and "5432" not in text and "s3cret" not in text
    assert "db.internal" in caplog.text and "s3cret" not in caplog.text


def test_short_errors_keep_one_line_and_hide_credentials():
    error = RuntimeError("rediss://user:pa55@cache:6380/0 refused\nsecond line\n" + "x" * 500)

    text = errors.short_error(error)

    assert text.startswith("RuntimeError: rediss://***@cache:6380/0 refused")
    assert "pa55" not in text
    assert "second line" not in text
    assert len(text) <= errors.ERROR_MAX_CHARS


def test_an_error_without_a_message_shows_its_kind():
    assert errors.short_error(TimeoutError()) == "TimeoutError"

"""While the database is away (a restart, a failover) every page answers 503 with a short
page that says so, never a traceback; a bug answers a plain 500 page."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper

pytestmark = pytest.mark.django_db


@pytest.fixture
def visitor(client):
    client.raise_request_exception = False  # as a browser sees it
    return client


@pytest.fixture
def database_away(monkeypatch):
    def refused(self):
        raise OperationalError(
            'connection to server at "db.internal" (10.0.0.5), port 5432 failed: Connection refused'
        )

    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", refused)


@pytest.mark.parametrize("path", ["/", "/topics/video/", "/subscribe/", "/feed/"])
def test_every_page_answers_503_with_a_short_page_while_the_database_is_away(
    visitor, database_away, path
):
    response = visitor.get(path)

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    assert "<h1>Back in a moment</h1>" in body
    assert "db.internal" not in body and "Traceback" not in body and "5432" not in body


def test_a_signup_posted_while_the_database_is_away_answers_503_too(visitor, database_away):
    response = visitor.post("/subscribe/", {"email": "ria@example.com", "topics": ["video"]})

    assert response.status_code == 503


def test_a_bug_answers_a_plain_500_page(visitor, monkeypatch):
    from digest.papers import views

    def broken(*args, **kwargs):
        raise RuntimeError("a bug, not an outage")

    monkeypatch.setattr(views, "featured_days", broken, raising=False)
    monkeypatch.setattr(views, "render", broken)

    response = visitor.get("/")

    assert response.status_code == 500
    body = response.content.decode()
    assert "<h1>Something went wrong</h1>" in body
    assert "a bug" not in body and "Traceback" not in body

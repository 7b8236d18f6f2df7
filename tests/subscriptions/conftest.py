"""The people on the list: alice is active, bob pending, carol unsubscribed, dave bounced."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import cache

from subscriptions.models import Subscriber
from tests.subscriptions.helpers import Outbox, make_subscriber


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    """Rate-limit counters live in the cache, which outlives a test: start each from zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def outbox(settings) -> Outbox:
    """What people receive, read back from the .eml files as their mail client would.

    Django's test runner swaps in the in-memory backend; ours writes the real bytes, so
    headers and encodings are tested as sent.
    """
    settings.EMAIL_BACKEND = "digest.mailing.backends.OutboxBackend"
    return Outbox(Path(settings.OUTBOX_DIR))


@pytest.fixture
def alice(db) -> Subscriber:
    return make_subscriber("alice@example.com", "active")


@pytest.fixture
def bob(db) -> Subscriber:
    return make_subscriber("bob@example.com", "pending")


@pytest.fixture
def carol(db) -> Subscriber:
    return make_subscriber("carol@example.com", "unsubscribed")


@pytest.fixture
def dave(db) -> Subscriber:
    return make_subscriber("dave@example.com", "bounced")

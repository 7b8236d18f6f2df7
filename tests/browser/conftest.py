"""Fixtures shared by the browser tests."""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture
def site(live_server, settings) -> str:
    """The live server's address, with the emails it sends written to the outbox."""
    # Links in emails are built from SITE_URL: point them at the live server.
    settings.SITE_URL = live_server.url
    settings.CSRF_TRUSTED_ORIGINS = [live_server.url]
    # Django's test setup swaps in the in-memory backend; we want the real .eml files.
    settings.EMAIL_BACKEND = "digest.mailing.backends.OutboxBackend"
    cache.clear()  # rate-limit counters
    return live_server.url

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SEED = Path(__file__).parent.parent / "seeds" / "daily_papers_2025-11-20.txt"


@pytest.fixture(autouse=True)
def _outbox(settings, tmp_path):
    """Mail never leaves the test: the outbox is a temporary folder."""
    settings.OUTBOX_DIR = tmp_path / "outbox"
    settings.ARXIV_MIN_INTERVAL_SECONDS = 0


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def seed_path() -> Path:
    return SEED


@pytest.fixture(autouse=True)
def _fresh_paper_pools():
    """A process reuses its pool of papers for minutes; each test starts with none."""
    from digest.mailing.pool import forget_pools

    forget_pools()
    yield
    forget_pools()


@pytest.fixture(autouse=True)
def _no_send_pause():
    """A process remembers the provider's pause (and the failures in a row behind it) for
    the next batch; each test starts without."""
    from digest.mailing import dispatch, throttle
    from digest.ops import health

    throttle.reset()
    dispatch.provider_answered()
    health._sending = None  # and its last look at the backlog
    yield
    throttle.reset()
    dispatch.provider_answered()
    health._sending = None


@pytest.fixture(autouse=True)
def _commit_at_the_end_of_each_request(monkeypatch):
    """A request commits when it ends, and what it queued with on_commit (account emails,
    profile fits) runs then. A test runs in one transaction that never commits: run each
    test-client request's callbacks when it ends, as its commit would."""
    from django.test import Client, TestCase

    original = Client.request

    def request_and_commit(self, **request):
        with TestCase.captureOnCommitCallbacks(execute=True):
            return original(self, **request)

    monkeypatch.setattr(Client, "request", request_and_commit)

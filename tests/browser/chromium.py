"""Debian's Chromium, driven by Playwright: one way to start it for every browser test.

Playwright never downloads a browser here; it drives /usr/bin/chromium. Without it the
browser tests are skipped on a developer's machine and fail in CI, where .ci/run installs it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Headless as root in a closed network: no sandbox, no GPU, and no background calls home
# (refused connections would otherwise pile up at every start).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def require_chromium() -> None:
    if not CHROMIUM.exists():
        reason = f"Debian's chromium is missing at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; .ci/run installs it")
        pytest.skip(reason)


@contextmanager
def chromium(*, with_database: bool = False) -> Iterator[object]:
    """A headless Chromium for the duration of the block.

    with_database: the test also uses the ORM while the browser runs. Playwright's sync
    API keeps an asyncio event loop in this thread, and Django refuses ORM calls from a
    thread with a running loop (SynchronousOnlyOperation); our calls are plain synchronous
    test code, so the check is a false alarm, switched off for the block only. Django also
    hands this thread separate connections meanwhile: they are closed before the test
    database is flushed.
    """
    require_chromium()
    from django.db import connections
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    if with_database:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield browser
            finally:
                browser.close()
                if with_database:
                    connections.close_all()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous

"""Shared set-up for benchmarks: Django on a throwaway database, and a clock."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def throwaway_database() -> Iterator[str]:
    """Django set up on a fresh, migrated database that is dropped afterwards.

    SQLite (a temporary file) unless DATABASE_URL names another server, where a
    `test_…` database is created next to the configured one.
    """
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest.settings")
    # Measured as production runs: DEBUG on would keep every query's SQL in memory.
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "x" * 40)
    tmp = tempfile.TemporaryDirectory(prefix="bench-")
    os.environ.setdefault("VAR_DIR", tmp.name)
    import django
    from django.db import connection

    django.setup()
    if connection.vendor == "sqlite":
        connection.settings_dict["TEST"]["NAME"] = str(Path(tmp.name) / "bench.sqlite3")
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        yield f"{connection.vendor} ({name})"
    finally:
        connection.creation.destroy_test_db(name, verbosity=0)
        tmp.cleanup()


@contextmanager
def timer(into: dict[str, float], key: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        into[key] = time.perf_counter() - start

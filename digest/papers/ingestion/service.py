"""Ingestion as a service: what the `ingest` command and the `ingest_feeds` task call."""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

from django.utils import timezone

from digest.papers.ingestion import fetch
from digest.papers.ingestion.detect import parse_any
from digest.papers.ingestion.records import FeedError
from digest.papers.ingestion.store import IngestReport, store
from digest.papers.ingestion.text import normalize_title

_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")
MAX_FILE_BYTES = 200 * 1024 * 1024


def reference_date_for(name: str, explicit: date | None = None) -> date:
    """The page format's reference date: --date, else a YYYY-MM-DD in the name, else today."""
    if explicit:
        return explicit
    for match in _DATE_IN_NAME.finditer(Path(name).name):
        try:
            return date.fromisoformat(match.group(1))
        except ValueError:
            continue
    return timezone.localdate()


def ingest_bytes(
    data: bytes,
    *,
    label: str,
    fmt: str | None = None,
    reference_date: date | None = None,
    now: datetime | None = None,
) -> IngestReport:
    now = now or timezone.now()
    with _cycle_collector_paused():
        result = parse_any(data, fmt, reference_date_for(label, reference_date), now=now)
        return store(result, label=label, now=now)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Python's cycle collector paused for one ingest. The parsed records, the papers and
    their features stay alive to the end, so every full collection walks all of them
    again: a seventh of the time of ingesting 10,000 new items. Ingestion builds no
    reference cycles to wait for; the collector resumes (and catches up) afterwards."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def ingest_target(
    target: str, *, fmt: str | None = None, reference_date: date | None = None
) -> IngestReport:
    """Ingest a file path or an http(s) URL; raises FeedError when it cannot be read."""
    if target.startswith(("http://", "https://")):
        data = fetch.get(target)
    else:
        data = _read_file(Path(target))
    return ingest_bytes(data, label=target, fmt=fmt, reference_date=reference_date)


def _read_file(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise FeedError(f"{path} is larger than {MAX_FILE_BYTES // 2**20} MB")
        return path.read_bytes()
    except FileNotFoundError:
        raise FeedError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FeedError(f"{path} is a directory") from None
    except OSError as exc:
        raise FeedError(f"cannot read {path}: {exc.strerror or exc}") from None


def record_failure(source: str, label: str, error: FeedError) -> None:
    """A feed that could not be read at all, for the dashboard and /metrics."""
    from digest.models import IngestRun

    IngestRun.objects.create(source=source, label=label[:500], error=str(error)[:2000])


def paper_texts(paths: Sequence[Path]) -> list[tuple[str, str, str]]:
    """(arXiv id or normalized title, title, abstract) of the papers in feed files, and in
    the files of folders, in any known format, without storing them; a paper in two files
    counts once. Raises FeedError on a file that cannot be read or parsed."""
    files = sorted(f for p in paths for f in (sorted(p.iterdir()) if p.is_dir() else [p]))
    papers: dict[str, tuple[str, str, str]] = {}
    for path in files:
        if path.is_dir():
            continue
        result = parse_any(_read_file(path), None, reference_date_for(str(path)))
        for record in result.records:
            key = record.arxiv_id or normalize_title(record.title)
            papers.setdefault(key, (key, record.title, record.abstract or ""))
    return list(papers.values())


def ingest_hf_day(day: date) -> list[IngestReport]:
    """Every page of the day is downloaded and parsed before any is stored: a page that
    fails leaves nothing half-written."""
    now = timezone.now()
    parsed = [
        (d.url, parse_any(d.body, d.format, reference_date_for(d.url, day), now=now))
        for d in fetch.hf_daily_papers(day)
    ]
    return [store(result, label=url, now=now) for url, result in parsed]


def ingest_arxiv(categories: str | None = None) -> IngestReport:
    download = fetch.arxiv_rss(categories)
    return ingest_bytes(download.body, label=download.url, fmt=download.format)


def days_between(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)

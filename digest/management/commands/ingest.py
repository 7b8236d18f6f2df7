"""python manage.py ingest [--format F] [--date D] [--since D] [PATH_OR_URL ...]"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from functools import partial
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from digest.papers.ingestion import service
from digest.papers.ingestion.records import FORMATS, FeedError
from digest.papers.ingestion.store import IngestReport

Job = Callable[[], IngestReport | list[IngestReport]]


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {value!r}") from None


class Command(BaseCommand):
    help = (
        "Ingest papers from files or URLs; with none, fetch the live feeds "
        "(the HF Daily Papers API for --date, default today, and arXiv RSS)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("targets", nargs="*", metavar="PATH_OR_URL")
        parser.add_argument("--format", choices=FORMATS, help="skip format detection")
        parser.add_argument("--date", help="reference or featured date, YYYY-MM-DD")
        parser.add_argument("--since", help="backfill the HF API day by day from this date")
        parser.add_argument("--categories", help="arXiv categories, e.g. cs.LG+cs.CL")

    def handle(self, *args: Any, **options: Any) -> None:
        day = _date(options["date"]) if options["date"] else None
        failures = [error for job in self._jobs(options, day) if (error := self._run(job))]
        if failures:
            raise CommandError(f"{len(failures)} input(s) could not be ingested")

    def _jobs(self, options: dict, day: date | None) -> Iterable[Job]:
        if options["targets"]:
            for target in options["targets"]:
                yield partial(
                    service.ingest_target, target, fmt=options["format"], reference_date=day
                )
        elif options["since"]:
            first, last = _date(options["since"]), day or timezone.localdate()
            if first > last:
                raise CommandError("--since must not be after --date (or today)")
            days = list(service.days_between(first, last))
            for each in tqdm(days, desc="HF daily papers", unit="day", disable=None):
                yield partial(service.ingest_hf_day, each)
        else:
            yield partial(service.ingest_hf_day, day or timezone.localdate())
            yield partial(service.ingest_arxiv, options["categories"])

    def _run(self, job: Job) -> str | None:
        """Run one job and print its report; returns the error line when it failed."""
        try:
            reports = job()
        except FeedError as exc:
            self.stderr.write(f"error: {exc}")
            return str(exc)
        for report in reports if isinstance(reports, list) else [reports]:
            self.stdout.write(f"{report.source} {report.label}: {report.counts}")
            for rejection in report.rejections:
                self.stdout.write(f"  rejected {rejection}")
        return None

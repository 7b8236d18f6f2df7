"""python manage.py evaluate_topics PATH… [--labels FILE] [--topics SLUG,…]

Tags the papers of feed files (or folders of them) with the active topics, stores nothing,
and prints coverage, each topic's share and, with labels, precision and recall per topic.
The last line is `coverage=… max_share=… macro_precision=… macro_recall=…`; its averages
are over the topics the labels name, or over those of `--topics` (slugs or names) alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from digest.models import Topic
from digest.papers import topic_quality
from digest.papers.ingestion.records import FeedError
from digest.papers.ingestion.service import paper_texts
from digest.papers.topic_quality import LabelsError, Report, TopicRef
from digest.papers.topics import tagged_by_slug, topic_text


class Command(BaseCommand):
    help = "Measure topic tagging on feed files: coverage, shares, precision and recall."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help="feed files or folders")
        parser.add_argument("--labels", help="arXiv id -> topic slugs (JSON, JSON lines, CSV)")
        parser.add_argument(
            "--topics",
            help="score and average only these topics (comma-separated slugs or names)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            topics = list(Topic.objects.filter(active=True).order_by("name"))
        except DatabaseError:
            raise CommandError("no topics table: run `python manage.py migrate` first") from None
        if not topics:
            raise CommandError("there are no active topics to evaluate")
        try:
            papers = paper_texts([Path(p) for p in options["paths"]])
        except FeedError as exc:
            raise CommandError(str(exc)) from None
        if not papers:
            raise CommandError("no papers in the given files")
        refs = [TopicRef(t.slug, t.name, tuple(t.former_slug_list)) for t in topics]
        only = self._only(str(options["topics"]), refs) if options["topics"] else None
        labels = None
        if options["labels"]:
            labels = self._labels(Path(str(options["labels"])), refs)
        tagged = tagged_by_slug(papers, [topic_text(t) for t in topics])
        report = topic_quality.evaluate(tagged, labels, only)
        self._print(report, {t.slug: t.name for t in topics})

    def _labels(self, path: Path, refs: list[TopicRef]) -> dict[str, set[str]]:
        try:
            raw = topic_quality.parse_labels(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None
        except (LabelsError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path}: {exc}") from None
        labels, unknown = topic_quality.resolve(raw, refs)
        for name in unknown:
            self.stderr.write(f"warning: label {name!r} names no active topic (counted as missed)")
        return labels

    def _only(self, given: str, refs: list[TopicRef]) -> set[str]:
        names = [name.strip() for name in given.split(",") if name.strip()]
        if not names:
            raise CommandError("--topics: name at least one topic")
        # Resolved as a labels file's topics are: slugs, names and former slugs alike.
        resolved, unknown = topic_quality.resolve({"--topics": names}, refs)
        if unknown:
            raise CommandError(f"--topics: no active topic is called {', '.join(unknown)}")
        return resolved["--topics"]

    def _print(self, report: Report, names: dict[str, str]) -> None:
        out = self.stdout.write
        out(f"papers={report.papers} with a topic={report.tagged_papers}")
        out("share of papers per topic:")
        for slug, count in report.shares.most_common():
            out(f"  {count / report.papers:6.3f}  {count:5d}  {names.get(slug, slug)}")
        for slug in sorted(set(names) - set(report.shares)):
            out(f"  {0:6.3f}  {0:5d}  {names[slug]}")
        if report.scores:
            out(f"precision and recall against {report.labelled_papers} labelled papers:")
            out(f"  {'precision':>9} {'recall':>6} {'labelled':>8} {'tagged':>6}  topic")
            for s in report.scores:
                out(
                    f"  {s.precision:9.3f} {s.recall:6.3f} {s.labelled:8d} {s.tagged:6d}  "
                    f"{names.get(s.key, s.key)}"
                )
        out(report.summary())

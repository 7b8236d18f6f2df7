"""The short report `make demo` ends with: what is in the database and where to look."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Prefetch

from digest.models import Paper, PaperTopic
from digest.papers.trending import paper_trending

TOP = 10


class Command(BaseCommand):
    help = "Print counts per source, the top papers by trending score, and how to open admin."

    def handle(self, *args: Any, **options: Any) -> None:
        papers = list(
            Paper.objects.filter(hidden=False).prefetch_related(
                Prefetch("topic_links", queryset=PaperTopic.objects.select_related("topic")),
                "snapshots",
            )
        )
        if not papers:
            self.stdout.write("No papers yet: run `python manage.py ingest PATH_OR_URL`.")
            return
        per_source = Counter(source for paper in papers for source in paper.sources)
        self.stdout.write("")
        self.stdout.write(f"Papers: {len(papers)}")
        for source, count in sorted(per_source.items()):
            self.stdout.write(f"  {source:<11} {count}")

        latest = max(paper.featured_on for paper in papers)
        # Scored as of the end of the newest featured day, so an old seed still ranks
        # the way it did on its day.
        as_of = datetime.combine(latest + timedelta(days=1), time.min, tzinfo=UTC)
        ranked = sorted(papers, key=lambda p: paper_trending(p, as_of), reverse=True)[:TOP]
        self.stdout.write("")
        self.stdout.write(f"Top {len(ranked)} by trending score (as of {latest:%Y-%m-%d}):")
        for rank, paper in enumerate(ranked, 1):
            topics = ", ".join(
                link.topic.name for link in sorted(paper.topic_links.all(), key=lambda x: -x.score)
            )
            title = paper.title if len(paper.title) <= 70 else paper.title[:69] + "…"
            self.stdout.write(
                f"{rank:>3}. {title}\n"
                f"     {paper_trending(paper, as_of):6.2f}  {paper.upvotes} upvotes"
                f"  ·  {topics or 'no topic'}"
            )
        self.stdout.write("")
        self.stdout.write("Curate papers and topics in the admin:")
        self.stdout.write("  .venv/bin/python manage.py createsuperuser")
        self.stdout.write("  .venv/bin/python manage.py runserver")
        self.stdout.write(f"  then open {settings.SITE_URL}/admin/")

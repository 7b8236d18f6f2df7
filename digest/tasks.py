"""Celery tasks: thin wrappers that take ids and call one service function."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from digest import topics
from digest.ingestion import service
from digest.ingestion.records import FeedError

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def ingest_feeds() -> None:
    """Hourly (django-celery-beat): today's HF Daily Papers and the arXiv RSS feeds."""
    jobs = [
        lambda: service.ingest_hf_day(timezone.localdate()),
        lambda: [service.ingest_arxiv()],
    ]
    for job in jobs:
        # One feed being down must not keep the other from being read.
        try:
            for report in job():
                log.info("ingest %s %s: %s", report.source, report.label, report.counts)
        except FeedError as exc:
            log.warning("ingest failed: %s", exc)


@shared_task(ignore_result=True)
def retag_topics(topic_ids: list[int]) -> None:
    """Re-tag every paper for these topics after an editor changed them."""
    written = topics.retag_topics(topic_ids)
    log.info("retagged topics %s: %d automatic assignments", topic_ids, written)


@shared_task(ignore_result=True)
def retag_papers(paper_ids: list[int]) -> None:
    from digest.models import Paper

    topics.tag_papers(list(Paper.objects.filter(pk__in=paper_ids)))

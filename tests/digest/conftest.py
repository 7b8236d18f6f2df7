"""Digest fixtures: a few days of papers in known topics, and readers to send them to."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from digest.models import Paper, PaperTopic, Topic
from subscriptions.models import Subscriber

DAY = date(2026, 11, 26)


def make_paper(
    title: str,
    topic_slug: str | None,
    *,
    upvotes: int = 10,
    day: date = DAY,
    score: float = 0.7,
    **fields,
) -> Paper:
    paper = Paper.objects.create(
        title=title,
        title_key=title.lower(),
        abstract=fields.pop("abstract", f"An abstract about {title.lower()}."),
        featured_on=day,
        upvotes=upvotes,
        sources=fields.pop("sources", ["hf-json"]),
        arxiv_id=fields.pop("arxiv_id", None),
        **fields,
    )
    if topic_slug:
        PaperTopic.objects.create(
            paper=paper, topic=Topic.objects.get(slug=topic_slug), score=score, source="auto"
        )
    return paper


def make_reader(email: str, slugs: list[str], **fields) -> Subscriber:
    defaults = dict(
        status=Subscriber.Status.ACTIVE,
        confirmed_at=timezone.now() - timedelta(days=3),
        frequency="daily",
        send_hour=7,
        timezone="UTC",
        max_papers=10,
    )
    subscriber = Subscriber.objects.create(email=email, **(defaults | fields))
    subscriber.topics.set(Topic.objects.filter(slug__in=slugs))
    return subscriber


@pytest.fixture
def papers(db) -> list[Paper]:
    return [
        make_paper(
            "ZeroSearch: search without searching",
            "retrieval-and-rag",
            upvotes=41,
            arxiv_id="2505.04588",
        ),
        make_paper("Dense retrieval for long documents", "retrieval-and-rag", upvotes=12),
        make_paper("Zero-shot classifiers from captions", "zero-shot-learning", upvotes=30),
        make_paper("A vision paper nobody asked for", "vision-language-models", upvotes=99),
        make_paper(
            "Yesterday's retrieval paper",
            "retrieval-and-rag",
            upvotes=5,
            day=DAY - timedelta(days=1),
        ),
    ]


@pytest.fixture
def alice(db) -> Subscriber:
    return make_reader("alice@example.com", ["retrieval-and-rag", "zero-shot-learning"])

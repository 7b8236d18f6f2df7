"""Readers' feedback: recording ratings, fitting tastes from them, loading tastes to send.

- A rating (digest.Feedback) is written by the feedback page and removed from there or
  from the preferences page; either way the reader's ReaderProfile is marked changed.
- `fit_profiles` (a task, queued after each rating and run by beat as a safety net) fits
  again only the profiles changed since their last fit: the papers they rated, vectorized
  together with a background of recent papers so that term weights mean what they mean
  across the whole corpus, then features.learn().
- Sending loads the tastes of a whole batch in one query (`tastes_for`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from digest.bulk import bulk_update_rows
from digest.models import Feedback, Paper, ReaderProfile
from digest.taste.features import LikedPaper, Rating, Taste, document, learn, vectorizer

log = logging.getLogger(__name__)

FIT_CHUNK = 250  # profiles written per statement: about 20 KB of JSON each
BACKGROUND = 2_000  # recent papers the term weights are fitted on, besides the rated ones


# --- ratings ------------------------------------------------------------------------------
def rate(subscriber_id: int, paper_id: int, value: int, now: datetime | None = None) -> None:
    """Record a rating, replacing this reader's earlier one on the same paper."""
    now = now or timezone.now()
    with transaction.atomic():
        updated = Feedback.objects.filter(subscriber_id=subscriber_id, paper_id=paper_id).update(
            value=value, created_at=now
        )
        if not updated:
            try:
                with transaction.atomic():
                    Feedback.objects.create(
                        subscriber_id=subscriber_id, paper_id=paper_id, value=value, created_at=now
                    )
            except IntegrityError:
                # A double click raced us to the insert: this click's value wins all the same.
                Feedback.objects.filter(subscriber_id=subscriber_id, paper_id=paper_id).update(
                    value=value, created_at=now
                )
        _changed(subscriber_id, now)


def unrate(subscriber_id: int, paper_ids: Iterable[int] | None = None) -> int:
    """Remove some of a reader's ratings, or all of them; returns how many went."""
    now = timezone.now()
    with transaction.atomic():
        rows = Feedback.objects.filter(subscriber_id=subscriber_id)
        if paper_ids is not None:
            rows = rows.filter(paper_id__in=list(paper_ids))
        removed, _ = rows.delete()
        if removed:
            _changed(subscriber_id, now)
    return removed


def rating_of(subscriber_id: int, paper_id: int) -> int | None:
    return (
        Feedback.objects.filter(subscriber_id=subscriber_id, paper_id=paper_id)
        .values_list("value", flat=True)
        .first()
    )


def _changed(subscriber_id: int, now: datetime) -> None:
    ReaderProfile.objects.update_or_create(
        subscriber_id=subscriber_id, defaults={"changed_at": now}
    )


# --- fitting --------------------------------------------------------------------------------
def stale_profiles() -> Q:
    return Q(fitted_at__isnull=True) | Q(changed_at__gt=F("fitted_at"))


def fit_profiles(subscriber_ids: Sequence[int] | None = None) -> int:
    """Fit the profiles changed since their last fit (of these readers, or all); returns
    how many were fitted."""
    pending = ReaderProfile.objects.filter(stale_profiles())
    if subscriber_ids is not None:
        pending = pending.filter(subscriber_id__in=list(subscriber_ids))
    ids = list(pending.order_by("subscriber_id").values_list("subscriber_id", flat=True))
    if not ids:
        return 0
    # One vocabulary and one set of term weights for the whole backlog, fitted once: the
    # papers any of these readers rated, and recent papers as background.
    rated = Feedback.objects.filter(subscriber_id__in=ids).values("paper_id")
    corpus = _Corpus(
        Paper.objects.filter(pk__in=rated).values_list("pk", "title", "abstract"),
        Paper.objects.exclude(pk__in=rated)
        .order_by("-featured_on", "-pk")
        .values_list("title", "abstract")[:BACKGROUND],
    )
    for start in range(0, len(ids), FIT_CHUNK):
        _fit_chunk(ids[start : start + FIT_CHUNK], corpus)
    return len(ids)


class _Corpus:
    """TF-IDF rows of the rated papers, fitted together with a background of others."""

    def __init__(
        self, rated: Iterable[tuple[int, str, str]], background: Iterable[tuple[str, str]]
    ):
        texts = {pk: document(title, abstract) for pk, title, abstract in rated}
        self.rows = {pk: n for n, pk in enumerate(texts)}
        fitted = vectorizer()
        docs = [*texts.values(), *(document(t, a) for t, a in background)]
        self.matrix = fitted.fit_transform(docs).tocsr() if texts else None
        self.terms = list(fitted.get_feature_names_out()) if texts else []


def _fit_chunk(subscriber_ids: list[int], corpus: _Corpus) -> None:
    profiles = list(ReaderProfile.objects.filter(subscriber_id__in=subscriber_ids))
    # What each fit saw: a rating given while fitting moves changed_at past it, so the
    # profile stays stale and the next fit takes the new rating in.
    seen = {p.subscriber_id: p.changed_at for p in profiles}
    ratings: dict[int, list[Rating]] = defaultdict(list)
    for subscriber_id, paper_id, title, value in (
        Feedback.objects.filter(subscriber_id__in=subscriber_ids)
        .order_by("subscriber_id", "-created_at", "-pk")
        .values_list("subscriber_id", "paper_id", "paper__title", "value")
    ):
        ratings[subscriber_id].append(Rating(paper_id, title, value))
    for profile in profiles:
        own = ratings.get(profile.subscriber_id, [])
        taste = (
            learn(own, corpus.rows, corpus.matrix, corpus.terms)
            if own and corpus.matrix is not None
            else Taste({}, 0)
        )
        profile.terms = dict(taste.terms)
        profile.liked = [[p.paper_id, p.title, dict(p.terms)] for p in taste.liked]
        profile.ratings = taste.ratings
        profile.fitted_at = seen[profile.subscriber_id]
    bulk_update_rows(profiles, ["terms", "liked", "ratings", "fitted_at"])


# --- sending --------------------------------------------------------------------------------
def tastes_for(subscriber_ids: Iterable[int]) -> dict[int, Taste]:
    """The tastes of these readers, those who rated anything: one query."""
    rows = ReaderProfile.objects.filter(
        subscriber_id__in=list(subscriber_ids), ratings__gt=0
    ).values_list("subscriber_id", "terms", "liked", "ratings")
    return {
        subscriber_id: Taste(
            terms, ratings, tuple(LikedPaper(pid, title, t) for pid, title, t in liked)
        )
        for subscriber_id, terms, liked, ratings in rows
    }

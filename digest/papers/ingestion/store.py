"""Identity and upsert: turning parsed records into Paper rows, in bulk.

One paper is one row whatever the source and day: records are matched by arXiv base id
when known, else by normalized title, and a record that brings an arXiv id attaches it to
the row found by title. Records are written in chunks with a bounded number of queries per
chunk; when a chunk collides with a concurrent writer it is matched again, and as a last
resort every record is saved on its own, so one bad row never loses the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from digest.bulk import bulk_insert_rows, bulk_update_rows, insert_rows
from digest.models import IngestRun, Paper, PaperSnapshot
from digest.papers.ingestion.records import (
    ARXIV_ATOM,
    ARXIV_RSS,
    HF_SOURCES,
    PaperRecord,
    ParseResult,
    Rejection,
    shorten,
)
from digest.papers.ingestion.text import normalize_title
from digest.papers.topics import Tagger, active_topic_texts, tag_papers

CHUNK = 1_000
LOOKUP_BATCH = 5_000
ARXIV_SOURCES = frozenset({ARXIV_ATOM, ARXIV_RSS})

# Fields a later observation of the same paper may fill in or change.
_HF_DETAILS = (
    "organization",
    "num_comments",
    "github_repo",
    "github_stars",
    "project_page",
    "thumbnail",
)


@dataclass
class IngestReport:
    source: str
    label: str = ""
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejections)

    @property
    def counts(self) -> str:
        return (
            f"created={self.created} updated={self.updated} "
            f"unchanged={self.unchanged} rejected={self.rejected}"
        )


@dataclass
class _Outcome:
    paper: Paper
    created: bool
    changed: set[str]
    snapshot: tuple[datetime, int] | None = None

    @property
    def retag(self) -> bool:
        return self.created or bool({"title", "abstract"} & self.changed)


def store(result: ParseResult, *, label: str = "", now: datetime | None = None) -> IngestReport:
    """Save every record of a parse result; returns what happened to each."""
    now = now or timezone.now()
    report = IngestReport(source=result.source, label=label, rejections=list(result.rejections))
    records = result.records
    # The active topics' tagger, made when a first paper needs tagging and kept for the
    # rest of the ingest (an unchanged feed needs none).
    tagger = cache(lambda: Tagger(active_topic_texts()))
    for start in range(0, len(records), CHUNK):
        _store_chunk(records[start : start + CHUNK], report, now, tagger)
    IngestRun.objects.create(
        source=result.source,
        label=label[:500],
        at=now,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        rejected=report.rejected,
    )
    return report


def _store_chunk(
    records: Sequence[PaperRecord],
    report: IngestReport,
    now: datetime,
    tagger: Callable[[], Tagger],
) -> None:
    for attempt in range(2):
        try:
            with transaction.atomic():
                outcomes = _apply(records, now)
                _write(outcomes, now, tagger)
        except IntegrityError:
            # Another ingest created one of these papers since we looked: match again.
            if attempt == 0:
                continue
            break
        else:
            _count(outcomes, report)
            return
    for record in records:
        try:
            with transaction.atomic():
                outcomes = _apply([record], now)
                _write(outcomes, now, tagger)
        except DatabaseError as exc:
            reason = f"could not be saved: {str(exc).splitlines()[0] if str(exc) else exc!r}"
            report.rejections.append(Rejection(record.position, shorten(record.title, 60), reason))
        else:
            _count(outcomes, report)


def _count(outcomes: list[_Outcome], report: IngestReport) -> None:
    for outcome in outcomes:
        if outcome.created:
            report.created += 1
        elif outcome.changed:
            report.updated += 1
        else:
            report.unchanged += 1


def _apply(records: Sequence[PaperRecord], now: datetime) -> list[_Outcome]:
    """Match each record to a paper (existing or new) and merge it in memory."""
    by_arxiv, by_title = _load_existing(records)
    outcomes: list[_Outcome] = []
    touched: dict[int, _Outcome] = {}
    for record in records:
        key = normalize_title(record.title)
        paper = _match(record, key, by_arxiv, by_title)
        if paper is None:
            paper = _new_paper(record, key, now)
            outcome = _Outcome(paper, created=True, changed=set())
            if record.upvotes is not None:
                outcome.snapshot = (paper.upvotes_observed_at or now, paper.upvotes)
        else:
            previous = touched.get(id(paper))
            changed, snapshot = _merge(paper, record, key, now)
            outcome = _Outcome(paper, created=False, changed=changed, snapshot=snapshot)
            if previous is not None:
                # The same paper twice in one input: one write carries both.
                previous.changed |= changed
                previous.snapshot = snapshot or previous.snapshot
        touched.setdefault(id(paper), outcome)
        if paper.arxiv_id:
            by_arxiv[paper.arxiv_id] = paper
        by_title.setdefault(key, paper)
        outcomes.append(outcome)
    return outcomes


def _load_existing(records: Sequence[PaperRecord]) -> tuple[dict[str, Paper], dict[str, Paper]]:
    ids = sorted({r.arxiv_id for r in records if r.arxiv_id})
    keys = sorted({normalize_title(r.title) for r in records})
    by_arxiv: dict[str, Paper] = {}
    by_title: dict[str, Paper] = {}
    for start in range(0, len(ids), LOOKUP_BATCH):
        batch = Paper.objects.filter(arxiv_id__in=ids[start : start + LOOKUP_BATCH])
        by_arxiv.update((paper.arxiv_id, paper) for paper in batch if paper.arxiv_id)
    for start in range(0, len(keys), LOOKUP_BATCH):
        found = Paper.objects.filter(title_key__in=keys[start : start + LOOKUP_BATCH])
        for paper in found.order_by("pk"):
            paper = by_arxiv.get(paper.arxiv_id, paper) if paper.arxiv_id else paper
            by_title.setdefault(paper.title_key, paper)
    return by_arxiv, by_title


def _match(
    record: PaperRecord, key: str, by_arxiv: dict[str, Paper], by_title: dict[str, Paper]
) -> Paper | None:
    if record.arxiv_id:
        if record.arxiv_id in by_arxiv:
            return by_arxiv[record.arxiv_id]
        paper = by_title.get(key)
        # A title match only counts when that row has no arXiv id of its own yet.
        return paper if paper is not None and not paper.arxiv_id else None
    return by_title.get(key)


def _new_paper(record: PaperRecord, key: str, now: datetime) -> Paper:
    authors = record.authors or []
    return Paper(
        arxiv_id=record.arxiv_id,
        arxiv_version=record.arxiv_version,
        title=record.title,
        title_key=key,
        abstract=record.abstract,
        authors=authors,
        author_count=len(authors) if authors else record.author_count,
        organization=record.organization or "",
        published_on=record.published_on,
        featured_on=record.featured_on or timezone.localdate(now),
        upvotes=record.upvotes or 0,
        upvotes_observed_at=(record.observed_at or now) if record.upvotes is not None else None,
        num_comments=record.num_comments or 0,
        github_repo=record.github_repo or "",
        github_stars=record.github_stars,
        project_page=record.project_page or "",
        thumbnail=record.thumbnail or "",
        sources=[record.source],
        first_seen_at=now,
        updated_at=now,
    )


def _merge(
    paper: Paper, record: PaperRecord, key: str, now: datetime
) -> tuple[set[str], tuple[datetime, int] | None]:
    """Fold a newer observation into a paper; returns the changed fields and any snapshot."""
    changed: set[str] = set()

    def put(name: str, value: object) -> None:
        if getattr(paper, name) != value:
            setattr(paper, name, value)
            changed.add(name)

    from_arxiv = record.source in ARXIV_SOURCES
    # arXiv is the authority on a paper's text, and a newer version replaces an older one.
    authoritative = from_arxiv and (
        paper.arxiv_version is None
        or (record.arxiv_version is not None and record.arxiv_version >= paper.arxiv_version)
    )
    if record.arxiv_id and not paper.arxiv_id:
        put("arxiv_id", record.arxiv_id)
    if record.arxiv_version is not None and authoritative:
        put("arxiv_version", record.arxiv_version)
    if authoritative:
        put("title", record.title)
        put("title_key", key)
    if record.abstract and (authoritative or not paper.abstract):
        put("abstract", record.abstract)
    if record.authors and (authoritative or not paper.authors):
        put("authors", record.authors)
        put("author_count", len(record.authors))
    elif record.author_count is not None and paper.author_count is None:
        put("author_count", record.author_count)
    if record.published_on and (from_arxiv or paper.published_on is None):
        put("published_on", record.published_on)
    # Being featured again on HF is news; arXiv re-announcements (replacements) are not.
    if (
        record.source in HF_SOURCES
        and record.featured_on
        and record.featured_on > paper.featured_on
    ):
        put("featured_on", record.featured_on)
    for name in _HF_DETAILS:
        value = getattr(record, name)
        if value not in (None, ""):
            put(name, value)
    if record.source not in paper.sources:
        put("sources", sorted({*paper.sources, record.source}))

    snapshot = None
    observed_at = record.observed_at or now
    if (
        record.upvotes is not None
        and record.upvotes != paper.upvotes
        and (paper.upvotes_observed_at is None or observed_at >= paper.upvotes_observed_at)
    ):
        put("upvotes", record.upvotes)
        put("upvotes_observed_at", observed_at)
        snapshot = (observed_at, record.upvotes)
    return changed, snapshot


def _write(outcomes: list[_Outcome], now: datetime, tagger: Callable[[], Tagger]) -> None:
    papers: dict[int, _Outcome] = {}
    for outcome in outcomes:
        papers.setdefault(id(outcome.paper), outcome)
    new = [o.paper for o in papers.values() if o.created]
    bulk_insert_rows(new)
    changed = [o for o in papers.values() if not o.created and o.changed]
    if changed:
        fields = sorted(set().union(*(o.changed for o in changed)) | {"updated_at"})
        for outcome in changed:
            outcome.paper.updated_at = now
        bulk_update_rows([o.paper for o in changed], fields)
    insert_rows(
        PaperSnapshot,
        ("paper", "taken_at", "upvotes"),
        [(o.paper.pk, *o.snapshot) for o in papers.values() if o.snapshot],
    )
    retag = [o.paper for o in papers.values() if o.retag]
    if retag:
        tag_papers(retag, tagger=tagger())

"""What a parser hands to the store: plain records, validated, no queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from digest.models.papers import (  # noqa: F401 (the parsers name their source from here)
    ARXIV_ATOM,
    ARXIV_RSS,
    FORMATS,
    HF_JSON,
    HF_PAGE,
    HF_SOURCES,
)

MAX_TITLE_CHARS = 2_000
MAX_ABSTRACT_BYTES = 100 * 1024
MAX_AUTHORS = 5_000
MAX_URL_CHARS = 500


class FeedError(Exception):
    """The input as a whole cannot be read: unreadable, empty, or in no known format."""


@dataclass
class PaperRecord:
    """One entry as a feed states it. None means "this feed does not say"."""

    source: str
    title: str
    abstract: str = ""
    arxiv_id: str | None = None
    arxiv_version: int | None = None
    authors: list[str] | None = None
    author_count: int | None = None
    organization: str | None = None
    published_on: date | None = None
    featured_on: date | None = None
    upvotes: int | None = None
    num_comments: int | None = None
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    thumbnail: str | None = None
    # arXiv RSS "replace" announcements: a new version of a paper announced before.
    is_replacement: bool = False
    # When the feed observed the upvotes; the store keeps the newest observation.
    observed_at: datetime | None = None
    # Where the entry sits in its input, for rejection messages ("entry 12").
    position: int = 0
    extra: dict[str, object] = field(default_factory=dict)


@dataclass
class Rejection:
    position: int
    label: str
    reason: str

    def __str__(self) -> str:
        label = f" ({self.label})" if self.label else ""
        return f"entry {self.position}{label}: {self.reason}"


@dataclass
class ParseResult:
    source: str
    records: list[PaperRecord] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    def reject(self, position: int, label: str, reason: str) -> None:
        self.rejections.append(Rejection(position, shorten(label, 60), reason))


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def validation_error(record: PaperRecord) -> str | None:
    """Why a parsed record cannot be stored, or None when it can.

    Parsers call this on every entry so that one bad entry is rejected with its reason
    while the rest of the input is saved.
    """
    if not record.title:
        return "missing title"
    if len(record.title) > MAX_TITLE_CHARS:
        return f"title longer than {MAX_TITLE_CHARS:,} characters"
    if len(record.abstract.encode("utf-8")) > MAX_ABSTRACT_BYTES:
        return f"abstract over {MAX_ABSTRACT_BYTES // 1024} KB"
    if record.authors is not None and len(record.authors) > MAX_AUTHORS:
        return f"more than {MAX_AUTHORS:,} authors"
    for name in ("upvotes", "num_comments", "github_stars", "author_count", "arxiv_version"):
        value = getattr(record, name)
        if value is not None and (not isinstance(value, int) or value < 0):
            return f"{name.replace('_', ' ')} must be a whole number ≥ 0, not {value!r}"
    for name in ("github_repo", "project_page", "thumbnail"):
        value = getattr(record, name)
        if value and (len(value) > MAX_URL_CHARS or not value.startswith(("http://", "https://"))):
            return f"{name.replace('_', ' ')} is not an http(s) URL"
    if record.organization and len(record.organization) > 255:
        return "organization longer than 255 characters"
    return None

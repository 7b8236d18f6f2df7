"""The arXiv export API ("arxiv-atom"): ``export.arxiv.org/api/query`` answers Atom 1.0.

Each entry has ``id`` = ``http://arxiv.org/abs/<id>v<N>`` (base id and version come from it),
``published`` (the v1 date), ``updated`` (this version), a ``title`` that can span lines, a
``summary`` with hard line breaks, ``author/name``, and arXiv extras (``arxiv:primary_category``,
``category``, ``arxiv:comment``, ``arxiv:doi``, ``arxiv:journal_ref``) kept in ``extra``.
arXiv has no upvotes, and ``featured_on`` stays None: the store fills in the ingest date.

A malformed query still answers 200, with a single entry titled "Error" whose summary says what
was wrong: that fails the whole input. So does anything that is not a feed (throttling answers
a plain "Rate exceeded.") and a document cut off mid-way; an empty feed is simply no records.

Titles and summaries arrive as text the XML parser already decoded: arXiv declares them
``type="text"``, so decoding entities again would turn a literal "&lt;" into "<".
"""

from __future__ import annotations

import io
from typing import Any

import feedparser

from .records import (
    ARXIV_ATOM,
    ARXIV_RSS,
    MAX_ABSTRACT_BYTES,
    FeedError,
    PaperRecord,
    ParseResult,
    shorten,
    validation_error,
)
from .text import clean_text, clean_text_within, parse_arxiv_id, parse_iso_date

# What expat says when a document stops before its end.
_TRUNCATION_MESSAGES = ("no element found", "unclosed token")


def parse(data: bytes | str) -> ParseResult:
    """Records for the entries of one arXiv API answer."""
    feed = read_feed(data, ARXIV_ATOM)
    for entry in feed.entries:
        if _is_error_entry(entry):
            summary = clean_text(entry.get("summary", ""), decode_entities=False)
            raise FeedError(f"arXiv API error: {shorten(summary or 'no details', 200)}")
    result = ParseResult(ARXIV_ATOM)
    for position, entry in enumerate(feed.entries, start=1):
        title = clean_text(entry.get("title", ""), decode_entities=False)
        parsed = parse_arxiv_id(entry.get("id", ""))
        if parsed is None:
            result.reject(position, title, "no arXiv id")
            continue
        record = PaperRecord(
            source=ARXIV_ATOM,
            title=title,
            abstract=clean_text_within(
                entry.get("summary", ""), MAX_ABSTRACT_BYTES, decode_entities=False
            ),
            arxiv_id=parsed[0],
            arxiv_version=parsed[1],
            authors=author_names(entry),
            published_on=parse_iso_date(entry.get("published")),
            position=position,
            extra=_extra(entry),
        )
        record.author_count = len(record.authors or [])
        if reason := validation_error(record):
            result.reject(position, title, reason)
        else:
            result.records.append(record)
    return result


def read_feed(data: bytes | str, fmt: str) -> Any:
    """The feedparser result for an arXiv feed, or FeedError when data is not that feed.

    Shared with arxiv_rss: both formats fail the same ways (not XML, the other kind of feed,
    cut off mid-document).
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if not raw.strip():
        raise FeedError("empty input")
    # A stream, never bytes or str: feedparser fetches a str that looks like a URL and opens
    # bytes that name an existing file.
    feed = feedparser.parse(io.BytesIO(raw), sanitize_html=False, resolve_relative_uris=False)
    version = feed.get("version", "")
    if not feed.entries and not feed.feed.get("title") and (feed.bozo or not version):
        raise FeedError(f"not {fmt}: {_not_a_feed(raw, feed)}")
    wanted, other = ("atom", ARXIV_RSS) if fmt == ARXIV_ATOM else ("rss", ARXIV_ATOM)
    if version and not version.startswith(wanted):
        kind = "an Atom" if version.startswith("atom") else "an RSS"
        raise FeedError(f"not {fmt}: input is {kind} feed (try {other})")
    problem = str(feed.get("bozo_exception", ""))
    if feed.bozo and any(message in problem for message in _TRUNCATION_MESSAGES):
        raise FeedError(f"{fmt}: the document ends too early, truncated? ({problem})")
    return feed


def author_names(entry: Any) -> list[str]:
    names = (author.get("name") or "" for author in entry.get("authors", []))
    return [name for name in (clean_text(n, decode_entities=False) for n in names) if name]


def _not_a_feed(raw: bytes, feed: Any) -> str:
    start = raw[:300].decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if not start.startswith("<"):
        # Throttling and proxies answer short plain text; show it, it is the real reason.
        return f"input is not XML: {shorten(start, 60)!r}"
    if "<html" in start.lower():
        return "input is an HTML page, not a feed"
    reason = feed.get("bozo_exception")
    return f"input is not a feed ({reason})" if reason else "input is not a feed"


def _is_error_entry(entry: Any) -> bool:
    # The error entry's id is http://arxiv.org/api/errors#..., never a paper.
    title = entry.get("title", "").strip()
    return title == "Error" and parse_arxiv_id(entry.get("id", "")) is None


def _extra(entry: Any) -> dict[str, object]:
    extra: dict[str, object] = {}
    categories = [tag.get("term") for tag in entry.get("tags", []) if tag.get("term")]
    if categories:
        extra["categories"] = categories
    primary = entry.get("arxiv_primary_category")
    if primary and primary.get("term"):
        extra["primary_category"] = primary["term"]
    for key in ("comment", "doi", "journal_ref"):
        value = entry.get(f"arxiv_{key}")
        if value:
            extra[key] = clean_text(value, decode_entities=False)
    if entry.get("updated"):
        extra["updated"] = entry["updated"]
    return extra

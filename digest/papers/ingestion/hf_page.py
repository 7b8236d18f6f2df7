"""The Hugging Face "Daily Papers" page, pasted as text ("hf-page").

The page starts with its chrome (``new``, ``Get trending papers in your email inbox!``,
``Subscribe``, ``Daily Papers``, ``byAK and the research community``, the page date ``Nov 20``),
then one entry per paper::

    <title>
                                  (blank)
    <abstract, one long line>
                                  (blank)
      • 9 authors                 <- or an organization: "google Google" (avatar alt + name)
    ·
    May 7 8                       <- date (year optional), then upvotes (absent means 0)

Some entries have no metadata block at all: title and abstract, then the next title. Text has no
markers for "title" or "abstract", so the parser reads paragraphs (runs of non-blank lines) and
decides by shape: after a title comes its abstract, unless that paragraph looks like a title
itself (one line, at most 300 characters, no final period) and is followed by more text; once an
entry has an abstract, a title-like paragraph starts the next entry. A title paragraph of several
lines (a paste that lost its blank line) gives its first line to the title, the rest to the
abstract.

Dates without a year belong to the reference date's year, or to the year before when that would
put them after the reference date (the page lists papers published up to its own date).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from .records import (
    HF_PAGE,
    MAX_ABSTRACT_BYTES,
    MAX_TITLE_CHARS,
    FeedError,
    PaperRecord,
    ParseResult,
    validation_error,
)
from .text import clean_text_within

_CHROME = frozenset(
    {
        "new",
        "get trending papers in your email inbox!",
        "subscribe",
        "daily papers",
        "byak and the research community",
    }
)
# Lines that only this page has; "new" and "Subscribe" alone prove nothing.
_PAGE_MARKERS = _CHROME - {"new", "subscribe"}
_SEPARATORS = frozenset({"·", "⋅", "•"})
_AUTHORS_RE = re.compile(r"^(?:[•·*-]\s*)?(\d+)\s+authors?$", re.IGNORECASE)
_DATE_RE = re.compile(
    r"^(?P<month>[A-Za-z]{3,9})\.?\s+(?P<day>\d{1,2})(?:,\s*(?P<year>\d{4}))?(?:\s+(?P<upvotes>\d+))?$"
)
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            "jan january",
            "feb february",
            "mar march",
            "apr april",
            "may",
            "jun june",
            "jul july",
            "aug august",
            "sep sept september",
            "oct october",
            "nov november",
            "dec december",
        ),
        start=1,
    )
    for name in names.split()
}
_NOT_ALNUM_RE = re.compile(r"[\W_]+")
_TITLE_MAX_CHARS = 300
_ORGANIZATION_MAX_CHARS = 120


@dataclass
class _Meta:
    """The block under an abstract: who (author count or organization), then "·", then the date."""

    who: str | None
    date_line: str | None


@dataclass
class _RawEntry:
    title: str
    abstract: str
    meta: _Meta | None


def parse(text: str, reference_date: date, *, now: datetime | None = None) -> ParseResult:
    """Records for the papers on a Daily Papers page shown on reference_date."""
    if not text or text.isspace():
        raise FeedError("empty input")
    if not looks_like_page(text):
        raise FeedError(f"not hf-page: {_describe(text)}")
    entries = _entries(_blocks(_content_lines(text)))
    if not entries:
        raise FeedError("hf-page: no paper entries found on the page")
    end_of_day = datetime.combine(reference_date, time.max, tzinfo=UTC)
    observed_at = min(end_of_day, now or datetime.now(UTC))
    result = ParseResult(HF_PAGE)
    for position, entry in enumerate(entries, start=1):
        title = clean_text_within(entry.title, MAX_TITLE_CHARS)
        try:
            record = _record(entry, title, reference_date)
        except ValueError as exc:
            result.reject(position, title, str(exc))
            continue
        record.position = position
        record.observed_at = observed_at
        if reason := validation_error(record):
            result.reject(position, title, reason)
        else:
            result.records.append(record)
    return result


def looks_like_page(text: str) -> bool:
    """Whether text has the page's shape: its header lines, or a "·" line above a date."""
    lines = [line.strip() for line in text.splitlines()]
    if any(line.casefold() in _PAGE_MARKERS for line in lines[:40]):
        return True
    return any(
        line in _SEPARATORS and _DATE_RE.match(following)
        for line, following in itertools.pairwise(lines)
    )


def _describe(text: str) -> str:
    start = text.lstrip("\ufeff \t\r\n")[:1]
    if start in ("[", "{"):
        return "input looks like JSON (try hf-json)"
    if start == "<":
        return "input looks like XML or HTML (try arxiv-atom or arxiv-rss)"
    return "no Daily Papers header and no '·' date lines found"


def _content_lines(text: str) -> list[str]:
    """Stripped lines after the page chrome (splitlines copes with CRLF, tabs go with strip)."""
    # str.strip() keeps a byte order mark: it is no whitespace to Python.
    lines = [line.strip() for line in text.lstrip("\ufeff").splitlines()]
    start = 0
    while start < len(lines) and (
        not lines[start] or lines[start].casefold() in _CHROME or _DATE_RE.match(lines[start])
    ):
        start += 1
    return lines[start:]


def _blocks(lines: list[str]) -> list[list[str] | _Meta]:
    """Paragraphs of text, with each metadata block split out as a _Meta."""
    blocks: list[list[str] | _Meta] = []
    for paragraph in _paragraphs(lines):
        rest = paragraph
        while rest:
            dot = next((k for k, line in enumerate(rest) if line in _SEPARATORS), None)
            if dot is None:
                blocks.append(rest)
                break
            who = rest[dot - 1] if dot >= 1 and _is_who_line(rest[dot - 1]) else None
            content = rest[: dot - 1] if who is not None else rest[:dot]
            if content:
                blocks.append(content)
            blocks.append(_Meta(who, rest[dot + 1] if dot + 1 < len(rest) else None))
            rest = rest[dot + 2 :]
    return blocks


def _paragraphs(lines: list[str]) -> list[list[str]]:
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line:
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


def _is_who_line(line: str) -> bool:
    # An abstract glued to the "·" line must not pass for an organization.
    return bool(_AUTHORS_RE.match(line)) or len(line) <= _ORGANIZATION_MAX_CHARS


def _entries(blocks: list[list[str] | _Meta]) -> list[_RawEntry]:
    entries: list[_RawEntry] = []
    k = 0
    while k < len(blocks):
        block = blocks[k]
        k += 1
        if isinstance(block, _Meta):
            # A date block with no title above it: kept so it is reported, not silently lost.
            entries.append(_RawEntry("", "", block))
            continue
        abstract = block[1:]
        meta = None
        while k < len(blocks):
            candidate = blocks[k]
            if isinstance(candidate, _Meta):
                meta = candidate
                k += 1
                break
            following = blocks[k + 1] if k + 1 < len(blocks) else None
            if _starts_next_entry(candidate, following, abstract):
                break
            abstract.extend(candidate)
            k += 1
        entries.append(_RawEntry(block[0], " ".join(abstract), meta))
    return entries


def _starts_next_entry(
    paragraph: list[str], following: list[str] | _Meta | None, abstract: list[str]
) -> bool:
    if not _looks_like_title(paragraph):
        return False
    if abstract:
        return True
    # Right after a title, a short paragraph is its abstract unless more text follows it
    # (then it is the next title and this entry has no abstract).
    return following is not None and not isinstance(following, _Meta)


def _looks_like_title(paragraph: list[str]) -> bool:
    line = paragraph[0]
    return len(paragraph) == 1 and len(line) <= _TITLE_MAX_CHARS and not line.endswith(".")


def _record(entry: _RawEntry, title: str, reference_date: date) -> PaperRecord:
    record = PaperRecord(
        source=HF_PAGE,
        title=title,
        abstract=clean_text_within(entry.abstract, MAX_ABSTRACT_BYTES),
        featured_on=reference_date,
        upvotes=0,
    )
    if entry.meta is None:
        return record
    who = entry.meta.who
    if who and (authors := _AUTHORS_RE.match(who)):
        record.author_count = int(authors.group(1))
    elif who:
        record.organization = _organization(who)
    if entry.meta.date_line is None:
        raise ValueError("no date line under '·'")
    record.published_on, record.upvotes = _parse_date_line(entry.meta.date_line, reference_date)
    return record


def _organization(line: str) -> str:
    """The organization in a line like "google Google": avatar alt text, then the name."""
    words = line.lstrip("•· ").split()
    for split in range(1, len(words)):
        alt, name = " ".join(words[:split]), " ".join(words[split:])
        # "meta-llama Meta Llama" counts too: compare letters and digits only.
        if _NOT_ALNUM_RE.sub("", alt).casefold() == _NOT_ALNUM_RE.sub("", name).casefold():
            return name
    return " ".join(words)


def _parse_date_line(line: str, reference_date: date) -> tuple[date, int]:
    match = _DATE_RE.match(line)
    month = _MONTHS.get(match["month"].casefold()) if match else None
    if not match or month is None:
        raise ValueError(f"unparseable date {line!r}")
    day = int(match["day"])
    upvotes = int(match["upvotes"]) if match["upvotes"] else 0
    if match["year"]:
        candidates = [int(match["year"])]
    else:
        candidates = [reference_date.year, reference_date.year - 1]
    for year in candidates:
        try:
            published = date(year, month, day)
        except ValueError:
            continue  # Feb 29 in a year that has none: try the year before
        if match["year"] or published <= reference_date:
            return published, upvotes
    raise ValueError(f"unparseable date {line!r}")

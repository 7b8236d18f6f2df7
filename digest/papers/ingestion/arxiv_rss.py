"""arXiv's daily announcement RSS ("arxiv-rss"): ``rss.arxiv.org/rss/<categories>``, RSS 2.0.

Each item: ``title``, ``link`` (abs page, no version), ``guid`` = ``oai:arXiv.org:<id>v<N>``,
``description`` = ``arXiv:<id>v<N> Announce Type: <type> \\nAbstract: <abstract>``, one
``category`` per category, ``arxiv:announce_type``, ``dc:creator`` (every author in one
comma-separated string, TeX accents included), ``dc:rights`` and ``pubDate``.

Announce types are ``new``, ``cross`` (cross-list), ``replace`` and ``replace-cross``; the last two
are new versions of papers announced before, flagged ``is_replacement`` so the store updates the
paper instead of announcing it again. ``featured_on`` is the announcement day, the date of
``pubDate`` as arXiv wrote it (US Eastern), not converted to UTC.

The feed is rebuilt daily and is empty on weekends and holidays: no items is a valid answer.
The description is plain text escaped once for XML (``&lt;`` for "<"), so the XML parser's
decoding is the only one.
"""

from __future__ import annotations

import re
from datetime import date
from email.utils import parsedate_to_datetime
from typing import Any

from .arxiv_atom import author_names, read_feed
from .records import ARXIV_RSS, MAX_ABSTRACT_BYTES, PaperRecord, ParseResult, validation_error
from .text import clean_text, clean_text_within, parse_arxiv_id

_DESCRIPTION_RE = re.compile(
    r"^\s*arXiv:(?P<id>\S+)\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:)?(?P<abstract>.*)$",
    re.DOTALL,
)
_REPLACEMENTS = frozenset({"replace", "replace-cross"})


def parse(data: bytes | str) -> ParseResult:
    """Records for the items of one arXiv RSS feed."""
    feed = read_feed(data, ARXIV_RSS)
    result = ParseResult(ARXIV_RSS)
    for position, entry in enumerate(feed.entries, start=1):
        title = clean_text(entry.get("title", ""), decode_entities=False)
        description = _DESCRIPTION_RE.match(entry.get("summary", ""))
        parsed = _arxiv_id(entry, description)
        if parsed is None:
            result.reject(position, title, "no arXiv id")
            continue
        announce_type = (
            (entry.get("arxiv_announce_type") or (description["type"] if description else ""))
            .strip()
            .lower()
        )
        abstract = description["abstract"] if description else entry.get("summary", "")
        authors = _authors(entry)
        record = PaperRecord(
            source=ARXIV_RSS,
            title=title,
            abstract=clean_text_within(abstract, MAX_ABSTRACT_BYTES, decode_entities=False),
            arxiv_id=parsed[0],
            arxiv_version=parsed[1],
            authors=authors,
            author_count=len(authors),
            featured_on=_announced_on(entry.get("published")),
            is_replacement=announce_type in _REPLACEMENTS,
            position=position,
            extra=_extra(entry, announce_type),
        )
        if reason := validation_error(record):
            result.reject(position, title, reason)
        else:
            result.records.append(record)
    return result


def _arxiv_id(entry: Any, description: re.Match[str] | None) -> tuple[str, int | None] | None:
    # The guid and the description carry the version; the link has none, so it comes last.
    candidates = (entry.get("id"), description["id"] if description else None, entry.get("link"))
    for candidate in candidates:
        if candidate and (parsed := parse_arxiv_id(candidate)):
            return parsed
    return None


def _authors(entry: Any) -> list[str]:
    # arXiv lists all authors in one dc:creator, separated by commas only; splitting on "and"
    # too would cut collaboration names ("ATLAS and CMS Collaborations") in two.
    names = (name.strip() for creator in author_names(entry) for name in creator.split(","))
    return [name.removeprefix("and ").strip() for name in names if name]


def _announced_on(pub_date: str | None) -> date | None:
    if not pub_date:
        return None
    try:
        return parsedate_to_datetime(pub_date).date()
    except (TypeError, ValueError, IndexError):
        return None


def _extra(entry: Any, announce_type: str) -> dict[str, object]:
    extra: dict[str, object] = {}
    if announce_type:
        extra["announce_type"] = announce_type
    categories = [tag.get("term") for tag in entry.get("tags", []) if tag.get("term")]
    if categories:
        extra["categories"] = categories
    if entry.get("rights"):
        extra["rights"] = entry["rights"]
    return extra

"""The Hugging Face Daily Papers API ("hf-json"): ``GET /api/daily_papers`` answers a JSON list.

Each item wraps a ``paper`` object (arXiv id, authors, upvotes, links, organization) with a few
top-level copies (``title``, ``summary``, ``publishedAt``) and item-only fields (``thumbnail``,
``numComments``). We read from ``paper`` first and fall back to the top level, except for
upvotes: they exist only as ``paper.upvotes`` (a top-level count would be something else).

``featured_on`` is the day HF listed the paper (``paper.submittedOnDailyAt``); when the item does
not say, the day the input is for (the API request's ``date``, ``--date``, or a date in the file
name, as for the page format), else the store fills in the ingest date. The item's top-level
``publishedAt`` is not it: the live API puts the arXiv date there.

The API's error answer is a JSON object with ``error``: that, or anything that is not a list,
fails the whole input; a bad item is rejected with its reason and the rest are kept.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from .records import (
    HF_JSON,
    MAX_ABSTRACT_BYTES,
    MAX_URL_CHARS,
    FeedError,
    PaperRecord,
    ParseResult,
    shorten,
    validation_error,
)
from .text import clean_text, clean_text_within, parse_arxiv_id, parse_iso_date


class _BadItem(Exception):
    """One item cannot be used; the message is the rejection reason."""


def parse(
    data: bytes | str, *, now: datetime | None = None, featured_on: date | None = None
) -> ParseResult:
    """Records for the items of one /api/daily_papers answer, observed at now; `featured_on`
    for items that do not say when HF featured them."""
    items = _load(data)
    observed_at = now or datetime.now(UTC)
    result = ParseResult(HF_JSON)
    for position, item in enumerate(items, start=1):
        try:
            record = _record(item)
        except _BadItem as exc:
            result.reject(position, _label(item), str(exc))
            continue
        record.position = position
        record.observed_at = observed_at
        record.featured_on = record.featured_on or featured_on
        if reason := validation_error(record):
            result.reject(position, record.title, reason)
        else:
            result.records.append(record)
    return result


def _load(data: bytes | str) -> list[Any]:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FeedError(f"not hf-json: input is not UTF-8 (byte {exc.start})") from None
    if not data or data.isspace():  # isspace stops at the first character; strip would copy
        raise FeedError("empty input")
    try:
        loaded = json.loads(data)
    except json.JSONDecodeError as exc:
        raise FeedError(_json_error(data, exc)) from None
    except RecursionError:
        # Python's parser recurses per level: 100,000 nested "[" exhaust the stack.
        raise FeedError("not hf-json: the JSON is nested too deeply") from None
    if isinstance(loaded, dict) and "error" in loaded:
        raise FeedError(f"hf-json: the API answered an error: {shorten(str(loaded['error']), 200)}")
    if not isinstance(loaded, list):
        raise FeedError(f"not hf-json: expected a JSON list of papers, got {_json_type(loaded)}")
    return loaded


def _json_error(data: str, exc: json.JSONDecodeError) -> str:
    where = f"line {exc.lineno}, column {exc.colno}"
    if exc.pos >= len(data.rstrip()) and data.lstrip()[:1] in "[{":
        return f"hf-json: the JSON ends too early, truncated? ({where})"
    return f"not hf-json: input is not valid JSON ({exc.msg}, {where})"


def _json_type(value: object) -> str:
    names = {dict: "an object", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _label(item: object) -> str:
    if not isinstance(item, dict):
        return ""
    paper = item.get("paper")
    if not isinstance(paper, dict):
        paper = {}
    for value in (paper.get("title"), item.get("title"), paper.get("id")):
        if isinstance(value, str) and value.strip():
            return value
    return ""


def _record(item: object) -> PaperRecord:
    if not isinstance(item, dict):
        raise _BadItem(f"item is {_json_type(item)}, not an object")
    paper = item.get("paper")
    if not isinstance(paper, dict):
        raise _BadItem("no paper object")
    if paper.get("withdrawnAt"):
        raise _BadItem("withdrawn")
    title = _text(paper, item, "title")
    if not title:
        raise _BadItem("missing title")
    arxiv_id, version = _arxiv_id(paper.get("id"))
    authors = _authors(paper.get("authors"))
    featured = paper.get("submittedOnDailyAt")
    return PaperRecord(
        source=HF_JSON,
        title=title,
        abstract=_text(paper, item, "summary"),
        arxiv_id=arxiv_id,
        arxiv_version=version,
        authors=authors,
        author_count=len(authors) if authors is not None else None,
        organization=_organization(item, paper),
        published_on=parse_iso_date(paper.get("publishedAt") or item.get("publishedAt")),
        featured_on=parse_iso_date(featured) if featured else None,
        upvotes=_count(paper, "upvotes"),
        num_comments=_count(item, "numComments"),
        github_repo=_link(paper.get("githubRepo")),
        github_stars=_count(paper, "githubStars"),
        project_page=_link(paper.get("projectPage")),
        thumbnail=_link(item.get("thumbnail")),
        extra=_extra(paper),
    )


def _text(paper: dict[str, Any], item: dict[str, Any], key: str) -> str:
    for value in (paper.get(key), item.get(key)):
        if isinstance(value, str) and value.strip():
            return clean_text_within(value, MAX_ABSTRACT_BYTES)
    return ""


def _arxiv_id(value: object) -> tuple[str | None, int | None]:
    if value is None or value == "":
        return None, None
    parsed = parse_arxiv_id(value) if isinstance(value, str) else None
    if parsed is None:
        raise _BadItem(f"paper id {shorten(repr(value), 40)} is not an arXiv id")
    return parsed


def _authors(value: object) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise _BadItem("paper authors is not a list")
    names = (author.get("name") for author in value if isinstance(author, dict))
    return [clean_text(name) for name in names if isinstance(name, str) and name.strip()]


def _organization(item: dict[str, Any], paper: dict[str, Any]) -> str:
    for owner in (item.get("organization"), paper.get("organization")):
        if isinstance(owner, dict):
            name = owner.get("fullname") or owner.get("name")
            if isinstance(name, str) and name.strip():
                return clean_text(name)
    # The API does say: no organization (as opposed to None, "the feed does not say").
    return ""


def _count(source: dict[str, Any], key: str) -> int | None:
    value = source.get(key)
    if value is None:
        return None
    # bool is an int to Python; True upvotes is a broken item, not 1 upvote.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _BadItem(f"{key} must be a whole number, not {shorten(repr(value), 40)}")
    if value < 0:
        raise _BadItem(f"{key} must be ≥ 0, not {value}")
    return value


def _link(value: object) -> str | None:
    # A broken link is dropped, not the paper: the paper is what the reader came for.
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value.startswith(("http://", "https://")) or len(value) > MAX_URL_CHARS:
        return None
    return value


def _extra(paper: dict[str, Any]) -> dict[str, object]:
    extra: dict[str, object] = {}
    if isinstance(paper.get("ai_summary"), str):
        extra["ai_summary"] = paper["ai_summary"]
    keywords = paper.get("ai_keywords")
    if isinstance(keywords, list):
        extra["ai_keywords"] = [k for k in keywords if isinstance(k, str)]
    return extra

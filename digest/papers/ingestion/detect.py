"""Which of the four feed formats some input is, and one entry point that parses any of them.

Sniffing looks at the content only, never at a file name: the JSON API answers a list (or an
``{"error": ...}`` object), the arXiv API answers Atom (``<feed``), arXiv's announcements come as
RSS (``<rss``; ``<rdf:RDF`` for the old RSS 1.0 feeds), and the pasted Daily Papers page is text
with the page's header lines or "·" lines above dates. Anything else is refused with the list of
formats we do know, so a wrong file fails loudly instead of ingesting nothing.
"""

from __future__ import annotations

import codecs
import re
from datetime import date, datetime

from . import arxiv_atom, arxiv_rss, hf_json, hf_page
from .records import ARXIV_ATOM, ARXIV_RSS, FORMATS, HF_JSON, HF_PAGE, FeedError, ParseResult

UNKNOWN_FORMAT = "not a known feed format (expected hf-page, hf-json, arxiv-atom or arxiv-rss)"
# Enough to get past an XML declaration, comments and a stylesheet line to the root element.
_SNIFF_BYTES = 4096
# The first element's name, past "<?xml ...?>" and "<!-- -->"; a prefix ("rdf:RDF") is allowed.
_ROOT_RE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def detect_format(data: bytes) -> str:
    """One of the format names in records.FORMATS, or FeedError when none fits."""
    head = _strip_bom(data)[:_SNIFF_BYTES].lstrip()
    if not head:
        raise FeedError("empty input")
    if head[:1] in (b"[", b"{"):
        return HF_JSON
    if head[:1] == b"<":
        root = _ROOT_RE.search(head)
        name = root.group(1) if root else b""
        if name == b"feed":
            return ARXIV_ATOM
        if name in (b"rss", b"RDF"):
            return ARXIV_RSS
        # An HTML error page or some other XML: say which formats we know.
        raise FeedError(UNKNOWN_FORMAT)
    if hf_page.looks_like_page(_decode(data)):
        return HF_PAGE
    raise FeedError(UNKNOWN_FORMAT)


def parse_any(
    data: bytes | str,
    fmt: str | None,
    reference_date: date,
    now: datetime | None = None,
) -> ParseResult:
    """Parse data as fmt, or as whatever detect_format finds when fmt is None.

    reference_date is the day a pasted page was shown; now is when the upvotes were observed.
    """
    text = data if isinstance(data, str) else _decode(data)
    if not text or text.isspace():
        raise FeedError("empty input")
    if fmt is None:
        # Sniff the bytes as given; only UTF-16 (or a str) needs re-encoding first.
        utf8 = isinstance(data, bytes) and not data.startswith(_UTF16_BOMS)
        fmt = detect_format(data if isinstance(data, bytes) and utf8 else text.encode("utf-8"))
    if fmt not in FORMATS:
        raise FeedError(f"unknown format {fmt!r} (expected {', '.join(FORMATS)})")
    if fmt == HF_PAGE:
        return hf_page.parse(text, reference_date, now=now)
    if fmt == HF_JSON:
        return hf_json.parse(text, now=now, featured_on=reference_date)
    if fmt == ARXIV_ATOM:
        return arxiv_atom.parse(text)
    return arxiv_rss.parse(text)


def _strip_bom(data: bytes) -> bytes:
    return data.removeprefix(codecs.BOM_UTF8)


def _decode(data: bytes) -> str:
    """UTF-8 text (a UTF-8 or UTF-16 byte order mark is honoured), or FeedError."""
    try:
        if data.startswith(_UTF16_BOMS):
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedError(f"input is not UTF-8 text (bad byte at offset {exc.start})") from None

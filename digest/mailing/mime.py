"""A message's bytes for SMTP and the outbox, assembled directly instead of by
`email.generator`.

Django builds an `email.message` tree and flattens it: for a 36 KB digest that is 1.3 ms,
mostly RFC 2047 encoding of the same subject again and again and the generator splitting
and re-joining every line of both bodies. Our emails all have one shape (a plain-text body
and one HTML alternative, both UTF-8), so `message_bytes` writes that shape itself: the
same headers in the same order, folded by the same policy (`HeaderFolding`), the same
parts with the same part headers, bodies with their line endings made `linesep`. Headers
that are the same for every reader (Subject, From, List-Id) are encoded once per process.

Anything else (attachments, Cc, a line over 998 bytes that Django would send as
quoted-printable, a message that is not our `Email`) goes through Django's own
`message().as_bytes()`. API backends (anymail) never come here: they read the message's
fields, not its bytes. tests/digest/test_message_bytes.py holds it to Django's output.
"""

from __future__ import annotations

import email.base64mime
import email.quoprimime
import random
import re
import sys
from collections.abc import Iterator
from email.charset import RFC2047_CHROME_LEN, Charset
from email.header import Header
from email.utils import formatdate, make_msgid
from functools import lru_cache, partial

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.message import (
    ADDRESS_HEADERS,
    RFC5322_EMAIL_LINE_LENGTH_LIMIT,
    forbid_multi_line_headers,
)
from django.core.mail.utils import DNS_NAME

from digest.mailing.messages import HEADER_FOLDING, Email, HeaderFolding

_NEWLINE = re.compile(r"\r\n|\r|\n")  # what email.generator splits lines at
_BOUNDARY_WIDTH = len(repr(sys.maxsize - 1))
# Headers whose values repeat from reader to reader: folded and encoded once per value.
_SHARED = frozenset({"subject", "from", "list-id", "list-unsubscribe-post"})
# Headers Django takes from the message's fields; set in extra_headers, they change how
# Django writes the message: leave those messages to it.
_FIELDS = frozenset({"from", "to", "cc", "reply-to"})
# A UTF-8 character takes at most 4 bytes: a line this short is never too long.
_SURELY_SHORT = RFC5322_EMAIL_LINE_LENGTH_LIMIT // 4


def message_bytes(message: EmailMessage, linesep: str = "\r\n") -> bytes:
    """What `message.message().as_bytes(linesep=linesep)` gives, without its cost for the
    messages we send; any other message is left to Django."""
    fast = _assembled(message, linesep)
    return fast if fast is not None else message.message().as_bytes(linesep=linesep)


def _assembled(message: EmailMessage, linesep: str) -> bytes | None:
    if not _has_our_shape(message):
        return None
    html, _ = message.alternatives[0]  # type: ignore[attr-defined]
    text_part = _text_part("plain", str(message.body), linesep)
    html_part = _text_part("html", html, linesep)
    if text_part is None or html_part is None:
        return None  # a line too long for 8bit: Django sends that part quoted-printable
    boundary = _boundary([text_part, html_part])
    headers = [
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
        ("MIME-Version", "1.0"),
        ("Subject", message.subject),
        ("From", message.from_email),
        ("To", ", ".join(str(address) for address in message.to)),
    ]
    names = {name.lower() for name in message.extra_headers}
    if "date" not in names:
        headers.append(("Date", formatdate(localtime=settings.EMAIL_USE_LOCALTIME)))
    if "message-id" not in names:
        headers.append(("Message-ID", make_msgid(domain=DNS_NAME)))
    headers.extend(message.extra_headers.items())
    nl = linesep.encode()
    delimiter = b"--" + boundary.encode()
    return b"".join(
        [
            *(_header(name, str(value), linesep) for name, value in headers),
            nl,
            delimiter + nl,
            text_part,
            nl + delimiter + nl,
            html_part,
            nl + delimiter + b"--" + nl,
        ]
    )


def _has_our_shape(message: EmailMessage) -> bool:
    """A plain-text body and one HTML alternative in UTF-8, to people in To only, with
    headers folded by HeaderFolding: the shape of every email build_message makes."""
    alternatives = getattr(message, "alternatives", None)
    return (
        isinstance(message, Email)
        and (message.encoding or settings.DEFAULT_CHARSET).lower() == "utf-8"
        and message.content_subtype == "plain"
        and message.alternative_subtype == "alternative"
        and bool(message.body)
        and bool(message.to)
        and not message.cc
        and not message.reply_to
        and not message.attachments
        and alternatives is not None
        and len(alternatives) == 1
        and alternatives[0][1] == "text/html"
        and isinstance(alternatives[0][0], str)
        and not _FIELDS & {name.lower() for name in message.extra_headers}
    )


def _text_part(subtype: str, text: str, linesep: str) -> bytes | None:
    """A text part as the generator writes it: Django's part headers, then the body with
    its line endings made `linesep`; None when Django would encode it quoted-printable."""
    lines = text.splitlines()  # how Django looks for long lines, to choose the encoding
    if max(map(len, lines), default=0) > _SURELY_SHORT and any(
        len(line.encode(errors="surrogateescape")) > RFC5322_EMAIL_LINE_LENGTH_LIMIT
        for line in lines
        if len(line) > _SURELY_SHORT
    ):
        return None
    # Templates write "\n" only: a plain replace is ten times the regular expression's speed.
    lines_made = text.replace("\n", linesep) if "\r" not in text else _NEWLINE.sub(linesep, text)
    body = lines_made.encode()
    encoding = "7bit" if body.isascii() else "8bit"
    return _part_headers(subtype, encoding, linesep) + body


@lru_cache(maxsize=16)
def _part_headers(subtype: str, encoding: str, linesep: str) -> bytes:
    return linesep.join(
        [
            f'Content-Type: text/{subtype}; charset="utf-8"',
            "MIME-Version: 1.0",
            f"Content-Transfer-Encoding: {encoding}",
            "",
            "",
        ]
    ).encode()


def _boundary(parts: list[bytes]) -> str:
    """email.generator's boundary: 15 '=', a random number, '=='; and, as it does, one that
    no line of the parts begins with."""
    while True:
        token = random.randrange(sys.maxsize)
        boundary = f"{'=' * 15}{token:0{_BOUNDARY_WIDTH}d}=="
        if not any(b"--" + boundary.encode() in part for part in parts):
            return boundary


def _header(name: str, value: str, linesep: str) -> bytes:
    if name.lower() in _SHARED:
        return _shared_header(name, value, linesep)
    return _fold(name, value, linesep)


# Subjects differ by topics, count and date: some thousands a day at 100,000 readers.
@lru_cache(maxsize=16_384)
def _shared_header(name: str, value: str, linesep: str) -> bytes:
    return _fold(name, value, linesep)


def _fold(name: str, value: str, linesep: str) -> bytes:
    # Django's checks and encoding (no line breaks; RFC 2047 for non-ASCII, addresses
    # sanitised), then HeaderFolding, as Email.message() and the generator do.
    if name.lower() in ADDRESS_HEADERS or value.isascii() or "\n" in value or "\r" in value:
        name, encoded = forbid_multi_line_headers(name, value, "utf-8")
    else:
        # What forbid_multi_line_headers does for these, with a faster charset.
        encoded = Header(value, _UTF8).encode()
    return _policy(linesep).fold_binary(name, encoded)


class _Utf8(Charset):
    """UTF-8 as email.charset encodes headers, splitting encoded words at the same places,
    but keeping each line's encoded length as a running sum: the standard library encodes
    the whole line again for every character it adds, 2 ms for a digest's subject."""

    def __init__(self) -> None:
        super().__init__("utf-8")

    def header_encode_lines(self, string: str, maxlengths: Iterator[int]) -> list[str | None]:
        codec = "utf-8"
        whole = string.encode(codec)
        # The charset's SHORTEST rule: base64 only when strictly shorter for the whole value.
        quoted = not -(-len(whole) // 3) * 4 < sum(_QP_LENGTH[octet] for octet in whole)
        module = email.quoprimime if quoted else email.base64mime
        encode = partial(module.header_encode, charset=codec)
        extra = len(codec) + RFC2047_CHROME_LEN
        lines: list[str | None] = []
        current: list[str] = []
        # The encoded length of `current`: quoted-printable counts each byte as 1 or 3,
        # base64 four characters per three bytes or part of three.
        qp_length = octets = 0
        maxlen = next(maxlengths) - extra
        for character in string:
            encoded = character.encode(codec)
            grown_qp = qp_length + sum(_QP_LENGTH[octet] for octet in encoded)
            grown_octets = octets + len(encoded)
            length = grown_qp if quoted else -(-grown_octets // 3) * 4
            if length > maxlen:
                if not lines and not current:
                    lines.append(None)  # nothing fits on the first line
                else:
                    lines.append(encode("".join(current).encode(codec)))
                current = [character]
                qp_length = sum(_QP_LENGTH[octet] for octet in encoded)
                octets = len(encoded)
                maxlen = next(maxlengths) - extra
            else:
                current.append(character)
                qp_length, octets = grown_qp, grown_octets
        lines.append(encode("".join(current).encode(codec)))
        return lines


_QP_LENGTH = [email.quoprimime.header_length(bytes([octet])) for octet in range(256)]
_UTF8 = _Utf8()


@lru_cache(maxsize=4)
def _policy(linesep: str) -> HeaderFolding:
    return HEADER_FOLDING.clone(linesep=linesep)

"""Building messages: one function for every email the service sends."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from email.message import Message
from email.policy import Compat32

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from digest.rendering import render_email

# RFC 5322 2.1.1: a line MUST be at most 998 characters, SHOULD be at most 78.
MAX_LINE = 998
_WORD = re.compile(r"[ \t]*[^ \t]+")


class UnsafeAddress(ValueError):
    """An address that could smuggle headers (CR or LF) into the message."""


class HeaderTooLong(ValueError):
    """A header word that no folding can bring under RFC 5322's 998 characters a line."""


class HeaderFolding(Compat32):
    """Django's policy (compat32), except how a header is folded on the way out.

    compat32 folds a value whose first word does not fit after the name onto the next
    line, so `Subject:` and `List-Unsubscribe:` went out empty, their value on a
    continuation line; a strict parser (`email.policy.default`) then reads a leading
    space. Here a header starts with its first word and is folded only at whitespace
    already in it, only past 78 characters: a long URL stays whole on the first line
    (up to 998). `email.policy.SMTP` would not do: it wraps a long URL in RFC 2047
    encoded words, which no mail client reads as a List-Unsubscribe link.

    Django has already encoded non-ASCII values (RFC 2047 encoded words, separated by
    whitespace), so ASCII is all that reaches us from it; anything else is compat32's.
    """

    def fold(self, name: str, value: object) -> str:
        if isinstance(value, str) and value.isascii():
            return self._fold_at_whitespace(name, value)
        return super().fold(name, value)  # type: ignore[arg-type]

    def fold_binary(self, name: str, value: object) -> bytes:
        if isinstance(value, str) and value.isascii():
            return self._fold_at_whitespace(name, value).encode("ascii")
        return super().fold_binary(name, value)  # type: ignore[arg-type]

    def _fold_at_whitespace(self, name: str, value: str) -> str:
        limit = self.max_line_length or sys.maxsize
        # Unfold first (RFC 5322 3.2.2: drop the line breaks, keep the whitespace after).
        words = _WORD.findall("".join(value.splitlines()).strip())
        lines = [f"{name}:"]
        for i, word in enumerate(words):
            if i == 0:
                lines[-1] += " " + word
            elif len(lines[-1]) + len(word) > limit:
                lines.append(word)  # starts with whitespace: a legal continuation line
            else:
                lines[-1] += word
        if any(len(line) > MAX_LINE for line in lines):
            raise HeaderTooLong(f"{name}: a word longer than {MAX_LINE} characters")
        return self.linesep.join(lines) + self.linesep


HEADER_FOLDING = HeaderFolding()


class Email(EmailMultiAlternatives):
    """EmailMultiAlternatives whose MIME message folds headers with HeaderFolding.

    Only the serialised bytes change (SMTP, the outbox, SES's raw MIME): API backends read
    the subject and headers from this object as before.
    """

    def message(self, *args: object, **kwargs: object) -> Message:
        message = super().message(*args, **kwargs)
        # Generators fold every part's headers with the outermost message's policy.
        message.policy = HEADER_FOLDING
        return message


def base_context() -> dict[str, object]:
    """What every template may use: where the site is and who sends (CAN-SPAM footer)."""
    return {"site_url": settings.SITE_URL, "sender_address": settings.SENDER_ADDRESS}


def build_message(
    name: str,
    to: str,
    context: Mapping[str, object],
    *,
    headers: Mapping[str, str] | None = None,
    tags: Iterable[str] | None = None,
    metadata: Mapping[str, object] | None = None,
) -> Email:
    """One message to one person: a plain-text body and an HTML alternative.

    `tags` and `metadata` are anymail's: ESPs that support them record them and echo them
    in tracking webhooks; the other backends ignore them.
    """
    for value in (to, *(headers or {}).values()):
        if "\r" in value or "\n" in value:
            raise UnsafeAddress(f"line break in a header value: {value!r}")
    rendered = render_email(name, {**base_context(), **context})
    message = Email(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=dict(headers or {}),
    )
    message.attach_alternative(rendered.html, "text/html")
    if tags:
        message.tags = list(tags)  # type: ignore[attr-defined]
    if metadata:
        message.metadata = dict(metadata)  # type: ignore[attr-defined]
    return message

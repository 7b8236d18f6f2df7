"""Building messages: one function for every email the service sends, and the digest's.

`build_message` renders `emails/<name>.subject.txt`, `.txt` and `.html` into one message;
account emails and digests both go through it. A digest's message adds its reader's links
(view in browser, more / less like this, preferences, unsubscribe), the one-click
unsubscribe headers, a Message-ID and an idempotency key that stay the same on every
attempt, and anymail's tags and metadata.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from email.message import Message
from email.policy import Compat32
from email.utils import make_msgid
from urllib.parse import urlsplit

from anymail.message import AnymailMessage
from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from digest.mailing.periods import Period
from digest.mailing.pool import Item, items_from_papers, reader_for
from digest.mailing.rendering import render_email
from digest.mailing.selection import Reader
from digest.models import Delivery, DeliveryPaper
from subscriptions import tokens
from subscriptions.models import Subscriber, UrlPlace, path_pieces, token_path, url_place
from subscriptions.tokens import make_feedback_tokens, make_view_token

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


class Email(AnymailMessage):
    """anymail's EmailMultiAlternatives (tags, metadata) whose MIME message folds headers
    with HeaderFolding.

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
        message.tags = list(tags)
    if metadata:
        message.metadata = dict(metadata)
    return message


# --- the digest ---------------------------------------------------------------------------
def view_token(delivery_id: int, email: str) -> str:
    """The "view in browser" token: this digest, for this address, for 90 days."""
    return make_view_token(delivery_id, email)


def view_url(delivery_id: int, email: str, place: UrlPlace | None = None) -> str:
    return settings.SITE_URL + token_path("digest:view", view_token(delivery_id, email), place)


def feedback_links(
    subscriber: Subscriber, paper_ids: Sequence[int], place: UrlPlace | None = None
) -> dict[int, dict[str, str]]:
    """The "More like this" and "Less like this" links of each paper, for this reader."""
    if subscriber.pk is None:
        return {}  # a preview for a topic, with nobody to learn from
    signed = make_feedback_tokens(subscriber.pk, subscriber.email, paper_ids)
    head, middle, tail = path_pieces("digest:feedback", 2, place)
    head = settings.SITE_URL + head
    return {
        paper_id: {
            "more": f"{head}{token}{middle}more{tail}",
            "less": f"{head}{token}{middle}less{tail}",
        }
        for paper_id, token in signed.items()
    }


def digest_context(
    subscriber: Subscriber,
    reader: Reader,
    period: Period,
    items: Sequence[Item],
    delivery_id: int | None,
) -> dict[str, object]:
    topic_names = list(reader.topics.values())
    place = url_place()  # once for the digest's links
    links = feedback_links(subscriber, [item.paper_id for item in items], place)
    papers = [
        {**item.card, "reason": item.reason, "feedback": links.get(item.paper_id)} for item in items
    ]
    first = papers[0]["title"] if papers else ""
    more = len(papers) - 1
    preheader = f"{first} and {more} more trending papers" if more > 0 else str(first)
    return {
        "frequency": period.frequency,
        "period_label": period.label,
        "date_label": period.date_label,
        "topic_names": topic_names,
        "keywords": list(reader.keywords),
        "follows": list(reader.follows),
        "preheader": preheader[:140],
        "papers": papers,
        "view_url": view_url(delivery_id, subscriber.email, place)
        if delivery_id
        else settings.SITE_URL + "/",
        "preferences_url": subscriber.preferences_url(place),
        "unsubscribe_url": subscriber.unsubscribe_url(place),
        "subscriber_email": subscriber.email,
    }


def _site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def message_id_for(delivery_id: int | None, host: str) -> str:
    """The same Message-ID on every attempt of one delivery.

    If a provider accepted a message but we never heard back (a timeout, a crash), the
    retry carries the same id, and mail systems that see an id twice (Gmail does) show one
    message. The signature keeps ids unguessable; previews get a fresh random one.
    """
    if delivery_id is None:
        return make_msgid(idstring="digest.preview", domain=host)
    signature = tokens.signature("digest.message-id", str(delivery_id))[:16]
    return f"<digest.{delivery_id}.{signature}@{host}>"


def digest_headers(unsubscribe_url: str, delivery_id: int | None) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe, the list's id, and a stable Message-ID."""
    host = _site_host()
    return {
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"Daily Papers digest <digest.{host}>",
        "Message-ID": message_id_for(delivery_id, host),
    }


def digest_message(
    subscriber: Subscriber,
    period: Period,
    items: Sequence[Item],
    *,
    delivery_id: int | None = None,
    to: str | None = None,
    reader: Reader | None = None,
) -> EmailMultiAlternatives:
    """The digest email: both parts, the one-click unsubscribe headers, anymail tags."""
    reader = reader or reader_for(subscriber)
    context = digest_context(subscriber, reader, period, items, delivery_id)
    message = build_message(
        "digest",
        to or subscriber.email,
        context,
        headers=digest_headers(str(context["unsubscribe_url"]), delivery_id),
        tags=["digest", period.frequency],
        metadata={"subscriber_id": subscriber.pk, "delivery_id": delivery_id},
    )
    if delivery_id is not None:
        # The same on every attempt, as the Message-ID: where the provider honours it, a
        # second hand-over of this digest is not delivered again.
        key = message.extra_headers["Message-ID"].strip("<>")
        message.idempotency_key = key
    return message


def delivery_period(delivery: Delivery) -> Period:
    frequency, _, _ = delivery.period.partition(":")
    return Period(
        delivery.period,
        frequency,
        delivery.window_end,
        (delivery.window_start, delivery.window_end),
    )


def delivery_items(delivery: Delivery) -> list[Item]:
    """The stored papers of a delivery, in order, with everything the email shows."""
    rows = DeliveryPaper.objects.filter(delivery=delivery).order_by("position")
    return items_from_papers(list(rows.values_list("paper_id", "reason")))


def delivery_message(delivery: Delivery) -> EmailMultiAlternatives:
    """Build a delivery's email again from its row: the same papers and reasons."""
    return digest_message(
        delivery.subscriber,
        delivery_period(delivery),
        delivery_items(delivery),
        delivery_id=delivery.pk,
    )

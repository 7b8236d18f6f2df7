"""Every kind of email the service sends, built the way it builds them, for the checks that
read whole messages: SpamAssassin's score, the strict header parser, axe in a browser.

The digest goes through `digests.digest_message` (so through `build_message`, with the
real preheader, headers and feedback links); the account emails through the services that
send them. Links and the From address are a production site's, not localhost.
"""

from __future__ import annotations

from datetime import date

from django.core import mail
from django.core.mail import EmailMessage

from digest.mailing.messages import digest_message
from digest.mailing.periods import Period
from digest.mailing.pool import Item
from digest.mailing.selection import Reader
from subscriptions import services
from subscriptions.models import Subscriber
from tests.digest.mailing.test_digest_email import SAMPLES
from tests.subscriptions.helpers import make_subscriber

SITE = "https://papers.example.org"
FROM = "Daily Papers <digest@papers.example.org>"
ADDRESS = "Daily Papers Digest, 1 Example Street, Springfield, IL 62701, USA"
DIGEST_SIZES = (5, 10, 30)
ACCOUNT_EMAILS = ("confirm", "preferences_link", "email_change")


def as_production(settings) -> None:
    """Settings as a deployed site has them (the `settings` fixture undoes them)."""
    settings.SITE_URL = SITE
    settings.DEFAULT_FROM_EMAIL = FROM
    settings.SENDER_ADDRESS = ADDRESS


def paper_card(i: int) -> dict[str, object]:
    """A card as `digests.paper_card` makes it, from the digest tests' realistic samples."""
    title, byline, upvotes, topics, _, abstract = SAMPLES[i % len(SAMPLES)]
    return {
        "title": title,
        "url": f"https://huggingface.co/papers/2511.{17000 + i:05d}",
        "byline": byline,
        "date_label": "Nov 24, 2026" if i % 4 else "",
        "upvotes": upvotes,
        "topics": topics,
        "abstract": abstract,
        "editor_note": "Worth reading for the curriculum trick in section 3." if i == 1 else "",
    }


def digest_email(count: int) -> EmailMessage:
    """A daily digest of `count` papers for a reader of two topics and a keyword."""
    alice = Subscriber(pk=482113, email="alice@example.com", frequency="daily")
    reader = Reader({7: "Retrieval and RAG", 12: "Zero-shot learning"}, ("retrieval",), count)
    day = date(2026, 11, 26)
    period = Period("daily:2026-11-26", "daily", day, (date(2026, 11, 25), day))
    items = [
        Item(paper_id=1000 + i, card=paper_card(i), reason=SAMPLES[i % len(SAMPLES)][4])
        for i in range(count)
    ]
    return digest_message(alice, period, items, delivery_id=90210 + count, reader=reader)


def account_emails() -> dict[str, EmailMessage]:
    """The confirmation, preferences-link and email-change emails, sent by their services
    to Django's in-memory outbox (needs the database)."""
    bob = make_subscriber("bob@example.com", "pending")
    alice = make_subscriber("alice@example.com", "active")
    sent: dict[str, EmailMessage] = {}
    for name, send in [
        ("confirm", lambda: services.send_confirmation(bob)),
        ("preferences_link", lambda: services.send_preferences_link(alice)),
        ("email_change", lambda: services.send_email_change(alice, "alice@new.example.com")),
    ]:
        before = len(mail.outbox)
        send()
        [sent[name]] = mail.outbox[before:]
    return sent


def html_of(message: EmailMessage) -> str:
    return next(content for content, mimetype in message.alternatives if mimetype == "text/html")  # type: ignore[attr-defined]


def as_sent(message: EmailMessage) -> bytes:
    """The bytes an SMTP server receives (Django's SMTP backend serialises this way)."""
    return message.message().as_bytes(linesep="\r\n")

"""A reader gets the same digest whether each paper's card was rendered for them or for
the reader before them, and whether Django's email package or our own assembly made its
bytes: subject, headers, text part and HTML part, compared part by part with the way
every message was built before (every card rendered for each reader, Django's
`message().as_bytes()`).
"""

from __future__ import annotations

import re
import socket
from datetime import UTC, date, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
import time_machine
from django.core.mail import EmailMessage as DjangoEmailMessage
from django.core.mail import EmailMultiAlternatives

from digest.mailing import dispatch, messages, mime, planning
from digest.mailing.mime import message_bytes
from digest.mailing.periods import Period
from digest.mailing.pool import Item, forget_pools
from digest.mailing.selection import Reader
from digest.models import Delivery
from subscriptions.models import Subscriber
from tests.digest.conftest import make_paper, make_reader
from tests.support import sample_emails

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
DAY = date(2026, 11, 26)
PERIOD = Period("daily:2026-11-26", "daily", DAY, (date(2026, 11, 25), DAY))
BOUNDARY = re.compile(rb'boundary="([^"]+)"')


@pytest.fixture(autouse=True)
def production(settings) -> None:
    sample_emails.as_production(settings)


@pytest.fixture(autouse=True)
def frozen():
    # Tokens carry a timestamp: the old and the new message must be signed at one moment.
    with time_machine.travel(NOW, tick=False):
        yield


def strictly_parsed(raw: bytes) -> EmailMessage:
    return BytesParser(policy=policy.strict).parsebytes(raw)


def assert_same_message(before: bytes, after: bytes) -> None:
    """Part by part, then byte for byte once the random boundary is the same."""
    old, new = strictly_parsed(before), strictly_parsed(after)
    assert new["Subject"] == old["Subject"]
    assert [(name, value) for name, value in new.items() if name != "Content-Type"] == [
        (name, value) for name, value in old.items() if name != "Content-Type"
    ]
    assert new.get_content_type() == old.get_content_type() == "multipart/alternative"
    old_parts, new_parts = list(old.iter_parts()), list(new.iter_parts())
    assert [p.get_content_type() for p in new_parts] == ["text/plain", "text/html"]
    for old_part, new_part in zip(old_parts, new_parts, strict=True):
        assert list(new_part.items()) == list(old_part.items())
        assert new_part.get_content() == old_part.get_content()
    old_boundary = BOUNDARY.search(before).group(1)  # type: ignore[union-attr]
    new_boundary = BOUNDARY.search(after).group(1)  # type: ignore[union-attr]
    assert after.replace(new_boundary, old_boundary) == before


def as_before(message: DjangoEmailMessage, linesep: str = "\r\n") -> bytes:
    return message.message().as_bytes(linesep=linesep)


def card(i: int, shared: bool) -> dict[str, object]:
    made = sample_emails.paper_card(i)
    if shared:
        made["rendered"] = SHARED_RENDERINGS.setdefault(i, {})
    return made


SHARED_RENDERINGS: dict[int, dict] = {}


def digest_for(subscriber: Subscriber, order: list[int], *, shared: bool) -> EmailMultiAlternatives:
    reader = Reader({7: "Retrieval and RAG", 12: "Zero-shot learning"}, ("retrieval",), 30)
    items = [
        Item(1000 + i, card(i, shared), f"Reason {n} for {subscriber.email}")
        for n, i in enumerate(order)
    ]
    return messages.digest_message(
        subscriber, PERIOD, items, delivery_id=7000 + subscriber.pk, reader=reader
    )


READERS = {
    # Overlapping papers at other positions, so that each reuses what another rendered.
    "alice": (Subscriber(pk=1, email="alice@example.com"), list(range(12))),
    "bob": (Subscriber(pk=2, email="bob@example.com"), list(range(11, -1, -1))),
    "erin": (Subscriber(pk=3, email="erin@example.com"), [3, 1, 4, 1, 5, 9]),
    "frank": (Subscriber(pk=4, email="frank@example.com"), [9]),
}


@pytest.mark.parametrize("name", READERS)
def test_a_reader_gets_the_same_message_when_cards_were_rendered_for_others(name):
    SHARED_RENDERINGS.clear()
    for subscriber, order in READERS.values():
        digest_for(subscriber, order, shared=True)  # every card is rendered once here
    subscriber, order = READERS[name]

    after = message_bytes(digest_for(subscriber, order, shared=True))
    before = as_before(digest_for(subscriber, order, shared=False))

    assert_same_message(before, after)
    assert SHARED_RENDERINGS[order[0]], "the cards were not reused"


def test_the_outbox_writes_the_bytes_django_would_with_newlines():
    subscriber, order = READERS["alice"]
    message = digest_for(subscriber, order, shared=False)

    before = as_before(message, "\n")
    after = message_bytes(message, linesep="\n")

    assert b"\r" not in after
    assert after.replace(BOUNDARY.search(after).group(1), BOUNDARY.search(before).group(1)) == (  # type: ignore[union-attr]
        before
    )


@pytest.mark.django_db
def test_the_account_emails_get_the_bytes_django_would(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for message in sample_emails.account_emails().values():
        message.extra_headers["Date"] = "Thu, 26 Nov 2026 08:00:00 -0000"
        message.extra_headers["Message-ID"] = "<fixed@papers.example.org>"

        assert_same_message(as_before(message), message_bytes(message))


def test_a_line_too_long_for_8bit_is_left_to_django_as_quoted_printable():
    subscriber, _ = READERS["frank"]
    message = digest_for(subscriber, [0], shared=False)
    message.body += "x" * 1200 + "\n"

    raw = message_bytes(message)

    text = strictly_parsed(raw).get_body(("plain",))
    assert text is not None
    assert text["Content-Transfer-Encoding"] == "quoted-printable"
    assert text.get_content().endswith("x" * 1200 + "\r\n")  # QP keeps the CRLF it was given


def test_a_message_with_an_attachment_is_left_to_django():
    subscriber, _ = READERS["frank"]
    message = digest_for(subscriber, [0], shared=False)
    message.attach("note.txt", "hello", "text/plain")

    parsed = strictly_parsed(message_bytes(message))

    assert parsed.get_content_type() == "multipart/mixed"
    assert [p.get_filename() for p in parsed.iter_attachments()] == ["note.txt"]


@pytest.mark.django_db
def test_digests_sent_in_one_batch_are_what_each_reader_would_have_got_alone(settings):
    """The sending path end to end: one pool, cards rendered once for three readers, bytes
    by the outbox; against each delivery built again on its own, the way it used to be."""
    settings.EMAIL_BACKEND = "digest.mailing.backends.OutboxBackend"
    forget_pools()
    for n, title in enumerate(["Dense retrieval at scale", "Retrieval for code", "RAG evals"]):
        make_paper(title, "retrieval-and-rag", upvotes=40 - n, editor_note="Read it." * n)
    for name in ("alice", "bob", "erin"):
        make_reader(f"{name}@example.com", ["retrieval-and-rag"], max_papers=5)

    dispatch.send_deliveries(planning.plan(NOW).created, NOW)

    files = sorted(Path(settings.OUTBOX_DIR).glob("*.eml"))
    assert len(files) == 3
    for delivery in Delivery.objects.filter(status=Delivery.Status.SENT):
        [sent] = [f for f in files if f"digest.{delivery.pk}." in f.name]
        again = messages.delivery_message(delivery)
        assert_same_message(as_before(again, "\n"), sent.read_bytes())


class Inbox:
    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received.append(envelope.original_content)
        return "250 Message accepted for delivery"


def test_a_real_smtp_server_receives_what_django_would_have_sent():
    from aiosmtpd.controller import Controller

    from digest.mailing.backends import SMTPBackend

    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        subscriber, order = READERS["bob"]
        message = digest_for(subscriber, order, shared=False)
        backend = SMTPBackend(host="127.0.0.1", port=port, use_tls=False, timeout=10)

        assert backend.send_messages([message]) == 1
    finally:
        controller.stop()

    [received] = inbox.received
    assert_same_message(as_before(message), received)
    assert strictly_parsed(received)["To"] == "bob@example.com"


SUBJECTS = [
    "12 trending papers in Agents, Retrieval and RAG — Nov 26",
    "1 trending paper by «Núñez» — Nov 26",
    "20 trending papers matching “diffusion”, “agents” +3 more — week of Nov 23",
    "Ελληνικά και 日本語のタイトル " * 4,
    "emoji 🧪🔬 at the end of a long line of words that needs folding 🧪🔬🧪",
    "ü" * 200,
    "a" * 70 + "é",
    "—",
]


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("linesep", ["\r\n", "\n"])
def test_a_non_ascii_subject_is_encoded_and_folded_as_django_would(subject, linesep):
    message = messages.Email(subject, "Body", "from@example.com", ["to@example.com"])
    # Django's own bytes for the same header, through the same policy.
    expected = as_before(message, linesep).split(linesep.encode() + b"From: ")[0]
    expected = expected[expected.index(b"Subject: ") :] + linesep.encode()

    assert mime._fold("Subject", subject, linesep) == expected

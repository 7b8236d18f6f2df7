"""Headers as a strict mail parser reads them: every header of every email starts with its
value on its own line, and a long one folds only at whitespace, in lines of at most 998
characters (78 where there is whitespace to fold at).
"""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from digest.mailing.messages import MAX_LINE, Email, HeaderTooLong
from tests.support import sample_emails

FIELD = re.compile(rb"^[!-9;-~]+: \S")  # a name, a colon, one space, then the value's text


def header_lines(raw: bytes) -> list[bytes]:
    head, _, _ = raw.partition(b"\r\n\r\n")
    return head.split(b"\r\n")


def strictly_parsed(raw: bytes) -> EmailMessage:
    """The message as `email.policy.strict` reads it: any defect raises."""
    return BytesParser(policy=policy.strict).parsebytes(raw)


def assert_headers_are_clean(raw: bytes) -> EmailMessage:
    for line in header_lines(raw):
        assert len(line) <= MAX_LINE, line
        assert line[:1] in (b" ", b"\t") or FIELD.match(line), f"header without text: {line!r}"
    message = strictly_parsed(raw)
    for part in message.walk():
        for name, value in part.raw_items():
            assert value == value.lstrip(), f"{name} starts with whitespace: {value!r}"
            assert str(part[name]) == str(part[name]).strip(), f"{name}: {part[name]!r}"
        assert not part.defects, part.defects
    return message


@pytest.fixture
def production(settings) -> None:
    sample_emails.as_production(settings)


@pytest.mark.parametrize("count", sample_emails.DIGEST_SIZES)
def test_every_header_of_the_digest_starts_on_its_own_line(count, production):
    message = sample_emails.digest_email(count)

    parsed = assert_headers_are_clean(sample_emails.as_sent(message))

    assert parsed["Subject"] == message.subject
    assert "—" in parsed["Subject"]  # non-ASCII: RFC 2047 encoded words, decoded back
    assert parsed["List-Unsubscribe"] == message.extra_headers["List-Unsubscribe"]
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["Message-ID"] == message.extra_headers["Message-ID"]


def test_a_long_list_unsubscribe_stays_whole_on_its_first_line(production):
    message = sample_emails.digest_email(5)
    url = message.extra_headers["List-Unsubscribe"]
    assert len(f"List-Unsubscribe: {url}") > 78  # too long to sit within 78, no space in it

    raw = sample_emails.as_sent(message)

    assert f"List-Unsubscribe: {url}\r\n".encode() in raw


@pytest.mark.django_db
def test_every_header_of_the_account_emails_starts_on_its_own_line(production, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    for message in sample_emails.account_emails().values():
        parsed = assert_headers_are_clean(sample_emails.as_sent(message))
        assert parsed["Subject"] == message.subject
        assert parsed["To"] == message.to[0]


def test_a_long_header_folds_at_whitespace_within_78_characters():
    words = " ".join(f"word{i}" for i in range(60))
    subject = "Ärger " + " ".join(f"word{i}" for i in range(30))  # encoded words
    message = Email(subject=subject, body="b", to=["erin@example.com"], headers={"X-Words": words})

    raw = sample_emails.as_sent(message)

    lines = header_lines(raw)
    assert all(len(line) <= 78 for line in lines if not line.startswith(b"Subject:")), lines
    assert sum(line[:1] == b" " for line in lines) >= 4  # folded, on continuation lines
    parsed = assert_headers_are_clean(raw)
    assert parsed["X-Words"] == words and parsed["Subject"] == subject


def test_a_word_no_line_can_hold_is_refused_rather_than_sent_broken():
    message = Email(body="b", to=["erin@example.com"], headers={"X-Long": "x" * MAX_LINE})

    with pytest.raises(HeaderTooLong):
        message.message().as_bytes()


def test_the_outbox_writes_the_same_folding(production, settings, tmp_path):
    settings.EMAIL_BACKEND = "digest.mailing.backends.OutboxBackend"
    settings.OUTBOX_DIR = tmp_path

    sample_emails.digest_email(10).send()

    [written] = tmp_path.glob("*.eml")
    assert_headers_are_clean(written.read_bytes().replace(b"\n", b"\r\n"))

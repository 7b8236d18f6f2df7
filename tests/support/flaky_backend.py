"""Email backends that fail the way providers do, for fault tests.

FlakyBackend fails a share of sends with a transient provider error (HTTP 503); set
FLAKY_FAILURE_RATE. Each handover is a fresh draw from a hash of the Message-ID, the process
and how often this process has handed that message over, so every try of a digest fails
independently, whichever worker process it lands in. FlakySMTPBackend does the same in
front of a real SMTP server, with 451.
RefusingBackend refuses every recipient, as a provider does for an invalid address.
"""

from __future__ import annotations

import hashlib
import os
import smtplib
from collections import Counter

from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused

from digest.mailing.backends import OutboxBackend, SMTPBackend

_attempts: Counter[str] = Counter()


def _fails(message) -> bool:
    # Without the process id, a retry landing in another pool process would repeat that
    # process's first draw: one unlucky digest would fail try after try.
    key = f"{message.extra_headers.get('Message-ID', message.subject)}:{os.getpid()}"
    _attempts[key] += 1
    digest = hashlib.sha256(f"{key}:{_attempts[key]}".encode()).digest()
    return digest[0] / 256 < float(os.environ.get("FLAKY_FAILURE_RATE", "0.3"))


class TransientProviderError(AnymailAPIError):
    """What anymail raises when the ESP answers 503."""

    def __init__(self) -> None:
        super().__init__("503 Service Unavailable (simulated)")
        self.status_code = 503

    def describe_response(self) -> None:
        return None  # there is no HTTP response object to describe


class FlakyBackend(OutboxBackend):
    def send_messages(self, email_messages):
        for message in email_messages:
            if _fails(message):
                raise TransientProviderError()
        return super().send_messages(email_messages)


class RefusingBackend(OutboxBackend):
    def send_messages(self, email_messages):
        raise AnymailRecipientsRefused("Recipient address rejected (simulated)")


class FlakySMTPBackend(SMTPBackend):
    """An SMTP server that answers a share of messages with 451 "try again later" before
    taking them, chosen like FlakyBackend's failures."""

    def send_messages(self, email_messages):
        for message in email_messages:
            if _fails(message):
                raise smtplib.SMTPDataError(451, b"4.3.0 Try again later (simulated)")
        return super().send_messages(email_messages)

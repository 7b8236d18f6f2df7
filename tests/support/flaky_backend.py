"""Email backends that fail the way providers do, for fault tests.

FlakyBackend fails a share of sends with a transient provider error (HTTP 503), chosen by
a hash of the Message-ID and the attempt, so runs are repeatable; set FLAKY_FAILURE_RATE.
FlakySMTPBackend does the same in front of a real SMTP server, with 451.
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


class TransientProviderError(AnymailAPIError):
    """What anymail raises when the ESP answers 503."""

    def __init__(self) -> None:
        super().__init__("503 Service Unavailable (simulated)")
        self.status_code = 503

    def describe_response(self) -> None:
        return None  # there is no HTTP response object to describe


class FlakyBackend(OutboxBackend):
    def send_messages(self, email_messages):
        rate = float(os.environ.get("FLAKY_FAILURE_RATE", "0.3"))
        for message in email_messages:
            key = message.extra_headers.get("Message-ID", message.subject)
            _attempts[key] += 1
            digest = hashlib.sha256(f"{key}:{_attempts[key]}".encode()).digest()
            if digest[0] / 256 < rate:
                raise TransientProviderError()
        return super().send_messages(email_messages)


class RefusingBackend(OutboxBackend):
    def send_messages(self, email_messages):
        raise AnymailRecipientsRefused("Recipient address rejected (simulated)")


class FlakySMTPBackend(SMTPBackend):
    """An SMTP server that answers a share of messages with 451 "try again later" before
    taking them, chosen like FlakyBackend's failures."""

    def send_messages(self, email_messages):
        rate = float(os.environ.get("FLAKY_FAILURE_RATE", "0.3"))
        for message in email_messages:
            key = message.extra_headers.get("Message-ID", message.subject)
            _attempts[key] += 1
            digest = hashlib.sha256(f"{key}:{_attempts[key]}".encode()).digest()
            if digest[0] / 256 < rate:
                raise smtplib.SMTPDataError(451, b"4.3.0 Try again later (simulated)")
        return super().send_messages(email_messages)

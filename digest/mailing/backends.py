"""Our email backends: the embedded outbox (one .eml file per message handed over, under
OUTBOX_DIR), SMTP, and Resend with its idempotency key. The outbox and SMTP write a
message's bytes with `mime.message_bytes`, the same bytes as Django's, at a quarter of
the cost."""

from __future__ import annotations

import os
import re
import smtplib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from anymail.backends.resend import EmailBackend as ResendEmailBackend
from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as DjangoSMTPBackend
from django.core.mail.message import sanitize_address

from digest.mailing.mime import message_bytes


def _file_stem(message: EmailMessage) -> str:
    """Named by Message-ID when the message has one, so a person can find a delivery's
    message; otherwise by time."""
    message_id = message.extra_headers.get("Message-ID", "")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", message_id.strip("<>"))[:150]
    if safe:
        return safe
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    return f"{stamp}-{uuid.uuid4().hex[:8]}"


class OutboxBackend(BaseEmailBackend):
    """Writes each message handed over as its own .eml file, ready to open in any mail client.

    Every hand-over is a file, as every request to a provider is a message delivered: the
    same Message-ID handed over twice leaves `<id>.eml` and `<id>.2.eml`, so a test that
    counts files counts what a reader would have received (providers do not deduplicate by
    Message-ID). Django's file backend appends a whole session to one log file instead.
    """

    def __init__(self, *args: object, outbox_dir: str | Path | None = None, **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.outbox_dir = Path(outbox_dir or settings.OUTBOX_DIR)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        if not email_messages:
            return 0
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            stem = _file_stem(message)
            tmp = self.outbox_dir / f"{stem}.{uuid.uuid4().hex[:8]}.tmp"
            tmp.write_bytes(message_bytes(message, linesep="\n"))
            self._publish(tmp, stem)
            sent += 1
        return sent

    def _publish(self, tmp: Path, stem: str) -> None:
        """Give the file its first free name. A hard link fails if the name is taken, so two
        processes handing over the same message at once still leave two files, and a
        reader never sees half a message."""
        try:
            for n in range(1, 10_000):
                name = f"{stem}.eml" if n == 1 else f"{stem}.{n}.eml"
                try:
                    os.link(tmp, self.outbox_dir / name)
                    return
                except FileExistsError:
                    continue
            raise OSError(f"too many copies of {stem} in {self.outbox_dir}")
        finally:
            tmp.unlink(missing_ok=True)


class SMTPBackend(DjangoSMTPBackend):
    """Django's SMTP backend, with the message's bytes from `message_bytes`, and a new
    connection for the next message when the server closed the last one (a 421, a dropped
    line): Django's would fail every message after it in the batch."""

    def _send(self, email_message: EmailMessage) -> bool:
        # Django's _send, but for how the bytes are made, and for reconnecting.
        if not email_message.recipients():
            return False
        encoding = email_message.encoding or settings.DEFAULT_CHARSET
        from_email = sanitize_address(email_message.from_email, encoding)
        recipients = [sanitize_address(addr, encoding) for addr in email_message.recipients()]
        if self.connection is not None and getattr(self.connection, "sock", None) is None:
            # smtplib drops its socket when the server closes: open a new connection.
            self.connection = None
            self.open()
        if self.connection is None:  # send_messages opens it first, or returns
            return False
        try:
            self.connection.sendmail(from_email, recipients, message_bytes(email_message))
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True


class ResendBackend(ResendEmailBackend):
    """Resend, sending each digest's idempotency key as the `Idempotency-Key` HTTP header:
    Resend delivers a second request with the same key (within 24 hours) only once, so
    even the message a crashed worker had in flight is not delivered twice."""

    def build_message_payload(self, message, defaults):
        payload = super().build_message_payload(message, defaults)
        key = getattr(message, "idempotency_key", None)
        if key:
            payload.headers["Idempotency-Key"] = key
        return payload

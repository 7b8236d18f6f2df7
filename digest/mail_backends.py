"""The embedded email backend: one .eml file per message under OUTBOX_DIR."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend


def _file_name(message: EmailMessage) -> str:
    """Named by Message-ID when the message has one, so that the same message handed over
    twice (a retry after a crash) is one file, as a mail provider that dedupes by
    Message-ID would keep one copy; otherwise by time."""
    message_id = message.extra_headers.get("Message-ID", "")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", message_id.strip("<>"))[:150]
    if safe:
        return f"{safe}.eml"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    return f"{stamp}-{uuid.uuid4().hex[:8]}.eml"


class OutboxBackend(BaseEmailBackend):
    """Writes each message as its own .eml file, ready to open in any mail client.

    Django's file backend appends a whole session to one log file; one file per
    message is what a person wants to open and what tests want to count.
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
            path = self.outbox_dir / _file_name(message)
            tmp = path.with_suffix(f".{uuid.uuid4().hex[:8]}.tmp")
            tmp.write_bytes(message.message().as_bytes(linesep="\n"))
            # Rename is atomic: a reader never sees half a message.
            tmp.rename(path)
            sent += 1
        return sent

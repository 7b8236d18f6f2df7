"""An email backend that builds every message's bytes, counts them and throws them away:
what a provider connection costs us, without a provider. The bytes are made as our SMTP
and outbox backends make them (`mime.message_bytes`)."""

from __future__ import annotations

from django.core.mail.backends.base import BaseEmailBackend

from digest.mailing.mime import message_bytes

totals = {"messages": 0, "bytes": 0}


class CountingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        for message in email_messages:
            totals["bytes"] += len(message_bytes(message))
            totals["messages"] += 1
        return len(email_messages)

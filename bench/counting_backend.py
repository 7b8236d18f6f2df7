"""An email backend that builds every message's bytes, counts them and throws them away:
what a provider connection costs us, without a provider."""

from __future__ import annotations

from django.core.mail.backends.base import BaseEmailBackend

totals = {"messages": 0, "bytes": 0}


class CountingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        for message in email_messages:
            totals["bytes"] += len(message.message().as_bytes())
            totals["messages"] += 1
        return len(email_messages)

"""An email backend whose provider is down: every send raises, as an ESP outage would."""

from __future__ import annotations

from django.core.mail.backends.base import BaseEmailBackend


class ProviderDown(Exception):
    pass


class FailingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ProviderDown("503 Service Unavailable")

"""An email backend as slow as a real provider's API: each send takes SLOW_EMAIL_SECONDS
(default 0.3 s, what the outside probe measured), then writes the .eml as the outbox does."""

from __future__ import annotations

import os
import time

from digest.mailing.backends import OutboxBackend


class SlowBackend(OutboxBackend):
    def send_messages(self, email_messages):
        time.sleep(float(os.environ.get("SLOW_EMAIL_SECONDS", "0.3")) * len(email_messages))
        return super().send_messages(email_messages)

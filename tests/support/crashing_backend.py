"""An outbox that checks, at every hand-over, that every earlier message was recorded as
sent, and that can die right after the provider accepted a message, like a worker killed
at the worst instant."""

from __future__ import annotations

from digest.mailing.backends import OutboxBackend
from digest.models import Delivery


class WorkerKilled(BaseException):
    """What a SIGKILL looks like to the code after it: nothing else runs. A BaseException,
    so no `except Exception` of the sender can swallow it."""


class CrashingOutbox(OutboxBackend):
    handed_over: list[int] = []  # delivery ids, in order, across instances
    unrecorded_at_handover: list[int] = []  # earlier deliveries not yet recorded as accepted
    die_after: int | None = None  # die right after this many hand-overs

    def send_messages(self, email_messages):
        for message in email_messages:
            earlier = set(self.handed_over)
            # Recorded: sent_at written, what recovery trusts (the status follows per batch).
            recorded = set(
                Delivery.objects.filter(pk__in=earlier, sent_at__isnull=False).values_list(
                    "pk", flat=True
                )
            )
            CrashingOutbox.unrecorded_at_handover.extend(sorted(earlier - recorded))
            super().send_messages([message])
            CrashingOutbox.handed_over.append(message.metadata["delivery_id"])
            if self.die_after is not None and len(self.handed_over) == self.die_after:
                raise WorkerKilled
        return len(email_messages)

"""An email backend that fails as a test scripts it: each message handed over takes the
next outcome from `script` (an exception to raise, or None to deliver it to the outbox);
`refuse_connections` makes opening a connection fail, as a provider that is down does."""

from __future__ import annotations

from digest.mailing.backends import OutboxBackend

script: list[BaseException | None] = []
refuse_connections: list[BaseException] = []


def reset() -> None:
    script.clear()
    refuse_connections.clear()


class ScriptedBackend(OutboxBackend):
    def open(self) -> bool:
        if refuse_connections:
            raise refuse_connections[0]
        return False

    def send_messages(self, email_messages):
        for _ in email_messages:
            outcome = script.pop(0) if script else None
            if outcome is not None:
                raise outcome
        return super().send_messages(email_messages)

"""After the SMTP server closes the connection (a 421, a dropped line), the next message
goes over a new one: Django's backend would fail every message after it in the batch."""

from __future__ import annotations

import smtplib
import socket

import pytest
from aiosmtpd.controller import Controller
from django.core.mail import EmailMessage

from digest.mailing.backends import SMTPBackend


class ClosesOnce:
    """Answers the first message with 421 (smtplib then drops the connection), accepts the
    rest, and counts the connections it was given."""

    def __init__(self) -> None:
        self.accepted: list[str] = []
        self.connections = 0
        self.refused = False

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope) -> str:
        if not self.refused:
            self.refused = True
            return "421 4.3.2 Service shutting down, closing the channel"
        self.accepted.extend(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = ClosesOnce()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def message(to: str) -> EmailMessage:
    return EmailMessage("A digest", "Papers.", "papers@example.com", [to])


def test_the_message_after_a_closed_connection_goes_over_a_new_one(server):
    handler, port = server
    backend = SMTPBackend(host="127.0.0.1", port=port, use_tls=False, timeout=5)
    backend.open()
    try:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            backend.send_messages([message("first@example.com")])
        sent = backend.send_messages([message("second@example.com")])
    finally:
        backend.close()

    assert refused.value.smtp_code == 421
    assert sent == 1
    assert handler.accepted == ["second@example.com"]
    assert handler.connections == 2

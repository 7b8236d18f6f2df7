"""Where the provider deduplicates (Resend), every attempt of a digest carries its key."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import requests

from digest.mailing import dispatch, messages, periods, planning
from digest.models import Delivery
from tests.digest.conftest import make_reader

pytestmark = pytest.mark.django_db

NOW = "2026-11-26T08:00:00+00:00"


class FakeResponse:
    status_code = 200
    reason = "OK"
    headers: dict[str, str] = {}
    encoding = "utf-8"

    def __init__(self, body: dict):
        self.text = json.dumps(body)
        self.content = self.text.encode()
        self._body = body

    def json(self) -> dict:
        return self._body

    def raise_for_status(self) -> None:
        return None


@pytest.fixture
def resend_requests(settings, monkeypatch):
    settings.EMAIL_BACKEND = "digest.mailing.backends.ResendBackend"
    settings.ANYMAIL = {**settings.ANYMAIL, "RESEND_API_KEY": "re_test"}
    sent: list[dict] = []

    def request(self, method, url, headers=None, data=None, **kwargs):
        sent.append({"url": url, "headers": dict(headers or {}), "data": json.loads(data)})
        return FakeResponse({"id": f"resend-{len(sent)}"})

    monkeypatch.setattr(requests.Session, "request", request)
    return sent


def test_a_digest_sent_through_resend_carries_its_delivery_key_on_every_attempt(
    papers, resend_requests
):
    make_reader("bea@example.com", ["retrieval-and-rag"])
    [delivery_id] = planning.plan(datetime.fromisoformat(NOW)).created

    dispatch.send_deliveries([delivery_id], datetime.fromisoformat(NOW))
    again = messages.delivery_message(Delivery.objects.get(pk=delivery_id))
    again.send()

    first, second = resend_requests
    key = first["headers"]["Idempotency-Key"]
    assert key == second["headers"]["Idempotency-Key"]
    assert key.startswith(f"digest.{delivery_id}.")
    assert first["data"]["to"] == ["bea@example.com"]


def test_a_test_send_from_admin_is_not_deduplicated(papers, alice):
    period = periods.period_at("daily", "UTC", datetime.fromisoformat(NOW))

    preview = messages.digest_message(alice, period, [])

    assert not hasattr(preview, "idempotency_key")

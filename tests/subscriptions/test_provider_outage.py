"""When the email provider is down, the visitor still gets a page, never a 500."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from subscriptions.models import Subscriber
from tests.subscriptions.helpers import signup_data

pytestmark = pytest.mark.django_db


def test_a_signup_during_an_outage_is_stored_and_the_failure_logged(client, settings, caplog):
    settings.EMAIL_BACKEND = "tests.support.failing_backend.FailingBackend"

    with caplog.at_level(logging.WARNING, logger="subscriptions.services"):
        response = client.post(reverse("subscriptions:subscribe"), signup_data())

    assert response.status_code == 200
    assert Subscriber.objects.get(email="erin@example.com").status == Subscriber.Status.PENDING
    [record] = [r for r in caplog.records if r.name == "subscriptions.services"]
    assert "could not send" in record.getMessage()
    assert "503 Service Unavailable" in record.getMessage()
    assert "erin@example.com" not in record.getMessage(), "no address in the log"
    assert record.exc_info is None, "one line, no traceback"


def test_a_link_request_during_an_outage_gets_the_usual_page(client, settings, alice):
    settings.EMAIL_BACKEND = "tests.support.failing_backend.FailingBackend"

    response = client.post(reverse("subscriptions:request_link"), {"email": alice.email})

    assert response.status_code == 200

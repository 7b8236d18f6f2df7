"""The signup form works wherever it is posted: /subscribe/ or the page that shows it."""

from __future__ import annotations

import pytest

from subscriptions.models import Subscriber
from tests.subscriptions.helpers import signup_data

pytestmark = pytest.mark.django_db


def test_the_form_posted_to_the_home_page_subscribes_too(client):
    response = client.post("/", signup_data(email="frank@example.com"))

    assert response.status_code == 200
    assert Subscriber.objects.filter(email="frank@example.com").exists()


def test_a_bad_field_posted_to_the_home_page_is_shown_next_to_the_field(client):
    response = client.post("/", signup_data(timezone="Mars/Olympus"))

    assert response.status_code == 400
    assert "Mars/Olympus" in response.content.decode() or "time zone" in response.content.decode()
    assert not Subscriber.objects.exists()

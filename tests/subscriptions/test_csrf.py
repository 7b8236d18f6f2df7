"""CSRF protects every form except the one-click unsubscribe POST."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.subscriptions.helpers import signup_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def strict_client() -> Client:
    return Client(enforce_csrf_checks=True)


def test_signup_without_a_csrf_token_is_refused(strict_client):
    assert strict_client.post("/subscribe/", signup_data()).status_code == 403


def test_a_link_request_without_a_csrf_token_is_refused(strict_client):
    assert strict_client.post("/preferences/", {"email": "a@example.com"}).status_code == 403


@pytest.mark.parametrize("action", ["", "pause/", "resume/", "weekly/", "drop-topic/", "delete/"])
def test_preference_changes_without_a_csrf_token_are_refused(strict_client, alice, action):
    response = strict_client.post(alice.preferences_path() + action, {"weeks": "1"})

    assert response.status_code == 403


def test_signup_with_the_token_from_the_page_works(strict_client):
    strict_client.get("/")
    token = strict_client.cookies["csrftoken"].value

    response = strict_client.post("/subscribe/", signup_data(csrfmiddlewaretoken=token))

    assert response.status_code == 200


def test_the_unsubscribe_page_carries_csrf_tokens_for_its_gentler_options(strict_client, alice):
    body = strict_client.get(alice.unsubscribe_path()).content.decode()

    assert body.count('name="csrfmiddlewaretoken"') == 3  # weekly, drop a topic, pause

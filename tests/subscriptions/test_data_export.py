""" "Download my data" gives everything stored about the person, as JSON."""

from __future__ import annotations

import json

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from subscriptions.models import Subscriber

pytestmark = pytest.mark.django_db


def as_json(value: object) -> object:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def test_the_download_is_a_json_attachment(client, alice):
    response = client.get(alice.preferences_path() + "my-data.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Cache-Control"] == "private, no-store"


def test_it_holds_every_stored_field_the_topics_and_the_consent_record(client, alice):
    data = json.loads(client.get(alice.preferences_path() + "my-data.json").content)

    for field in Subscriber._meta.concrete_fields:
        assert field.attname in data, field.attname
    assert data["email"] == "alice@example.com"
    assert [t["slug"] for t in data["topics"]] == [
        "llm-reasoning-and-rl-post-training",
        "retrieval-and-rag",
    ]
    assert data["consent"] == {
        "signed_up_at": as_json(alice.signed_up_at),
        "signup_ip": "198.51.100.7",
        "signup_user_agent": "Mozilla/5.0 (test)",
        "form_version": "signup-2025-11",
        "confirmed_at": as_json(alice.confirmed_at),
        "confirm_ip": "198.51.100.8",
    }
    assert data["deliveries"] == []


def test_a_bad_token_downloads_nothing(client, alice):
    response = client.get(alice.preferences_path().replace(":", ":z", 1) + "my-data.json")

    assert response.status_code == 400
    assert b"alice@example.com" not in response.content

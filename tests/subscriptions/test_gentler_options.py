"""The unsubscribe page offers something gentler: weekly, fewer topics, a pause."""

from __future__ import annotations

import re

import pytest

from subscriptions.models import Subscriber

pytestmark = pytest.mark.django_db


def form_action(body: str, label: str) -> str:
    """The action of the form holding the button or label with this text."""
    for form in re.findall(r"<form .*?</form>", body, re.DOTALL):
        if label in form:
            action = re.search(r'action="([^"]+)"', form)
            assert action, f"the form for {label!r} has no action"
            return action.group(1)
    raise AssertionError(f"no form with {label!r}")


def test_switching_to_weekly_from_the_unsubscribe_page(client, alice):
    page = client.get(alice.unsubscribe_path()).content.decode()

    response = client.post(form_action(page, "Switch to one email a week"))

    alice.refresh_from_db()
    assert response.status_code == 302
    assert (alice.frequency, alice.status) == ("weekly", "active")
    assert "one digest a week" in client.get(response["Location"]).content.decode()


def test_dropping_a_topic_from_the_unsubscribe_page(client, alice):
    page = client.get(alice.unsubscribe_path()).content.decode()

    client.post(form_action(page, "Drop a topic"), {"topic": "retrieval-and-rag"})

    assert [t.slug for t in alice.topics.all()] == ["llm-reasoning-and-rl-post-training"]
    assert Subscriber.objects.get(pk=alice.pk).status == "active"


def test_the_last_topic_cannot_be_dropped(client, alice):
    alice.topics.set(alice.topics.filter(slug="llm-reasoning-and-rl-post-training"))

    response = client.post(
        alice.preferences_path() + "drop-topic/", {"topic": "llm-reasoning-and-rl-post-training"}
    )

    assert [t.slug for t in alice.topics.all()] == ["llm-reasoning-and-rl-post-training"]
    assert "at least one" in client.get(response["Location"]).content.decode()


def test_the_drop_option_is_not_offered_with_a_single_topic(client, alice):
    alice.topics.set(alice.topics.filter(slug="llm-reasoning-and-rl-post-training"))

    assert "Drop a topic" not in client.get(alice.unsubscribe_path()).content.decode()


def test_pausing_from_the_unsubscribe_page(client, alice):
    page = client.get(alice.unsubscribe_path()).content.decode()

    client.post(form_action(page, "Pause for"), {"weeks": "2"})

    alice.refresh_from_db()
    assert alice.is_paused and alice.status == "active"

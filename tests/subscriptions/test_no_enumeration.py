"""Nobody can learn who is on the list from the answers to the forms."""

from __future__ import annotations

import pytest

from subscriptions.models import Suppression
from tests.subscriptions.helpers import signup_data, without_csrf

pytestmark = pytest.mark.django_db

ADDRESSES = {
    "new": "erin@example.com",
    "pending": "bob@example.com",
    "active": "alice@example.com",
    "unsubscribed": "carol@example.com",
    "bounced": "dave@example.com",
    "suppressed": "frank@example.com",
}


@pytest.fixture
def everyone(alice, bob, carol, dave):
    Suppression.add("frank@example.com", reason="complained")


def test_signing_up_answers_the_same_page_whoever_the_address_belongs_to(client, everyone):
    bodies = {}
    for kind, email in ADDRESSES.items():
        response = client.post("/subscribe/", signup_data(email=email))
        assert response.status_code == 200, kind
        bodies[kind] = without_csrf(response.content)

    assert len(set(bodies.values())) == 1, [k for k in bodies if bodies[k] != bodies["new"]]


def test_asking_for_a_link_answers_the_same_page_whoever_the_address_belongs_to(client, everyone):
    bodies = {}
    for kind, email in ADDRESSES.items():
        response = client.post("/preferences/", {"email": email})
        assert response.status_code == 200, kind
        bodies[kind] = without_csrf(response.content)

    assert len(set(bodies.values())) == 1


def test_the_answer_does_not_repeat_the_address(client):
    response = client.post("/subscribe/", signup_data(email="erin@example.com"))

    assert b"erin@example.com" not in response.content


def test_a_link_request_sends_what_each_person_needs(client, everyone, outbox):
    for email in ADDRESSES.values():
        client.post("/preferences/", {"email": email})

    assert [m["To"] for m in outbox.messages] == [
        "bob@example.com",
        "alice@example.com",
        "carol@example.com",
    ]
    assert "/confirm/" in outbox.to("bob@example.com")[0].get_body(("plain",)).get_content()
    assert "/preferences/" in outbox.to("alice@example.com")[0].get_body(("plain",)).get_content()
    # Unsubscribed people may still want their data or its deletion, but no unsubscribe link.
    carol_text = outbox.to("carol@example.com")[0].get_body(("plain",)).get_content()
    assert "/preferences/" in carol_text and "/unsubscribe/" not in carol_text


def test_a_suppressed_address_is_never_stored_or_emailed(client, outbox):
    Suppression.add("Frank@Example.com", reason="bounced")

    client.post("/subscribe/", signup_data(email="frank@example.com"))

    from subscriptions.models import Subscriber

    assert not Subscriber.objects.exists()
    assert len(outbox) == 0

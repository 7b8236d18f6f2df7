"""Per-IP and per-address limits on the forms that send email."""

from __future__ import annotations

import pytest
import time_machine
from django.utils import timezone

from subscriptions.models import Subscriber
from tests.subscriptions.helpers import current_preferences, signup_data, without_csrf

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small_limits(settings):
    settings.RATE_LIMIT_PER_IP = 5
    settings.RATE_LIMIT_PER_ADDRESS = 2


def test_one_ip_gets_a_clear_429_page_after_its_hourly_limit(client):
    answers = [
        client.post(
            "/subscribe/", signup_data(email=f"p{i}@example.com"), REMOTE_ADDR="203.0.113.1"
        )
        for i in range(6)
    ]

    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert b"Too many requests" in answers[-1].content
    assert answers[-1]["Retry-After"] == "3600"
    assert Subscriber.objects.count() == 5


def test_another_ip_is_not_held_back_by_the_first(client):
    for i in range(6):
        client.post(
            "/subscribe/", signup_data(email=f"p{i}@example.com"), REMOTE_ADDR="203.0.113.1"
        )

    response = client.post("/subscribe/", signup_data(), REMOTE_ADDR="203.0.113.2")

    assert response.status_code == 200


def test_link_requests_count_against_the_same_ip_limit(client):
    for i in range(5):
        client.post("/preferences/", {"email": f"p{i}@example.com"}, REMOTE_ADDR="203.0.113.1")

    response = client.post("/preferences/", {"email": "x@example.com"}, REMOTE_ADDR="203.0.113.1")

    assert response.status_code == 429


def test_one_address_gets_no_more_email_after_its_limit_and_the_same_page(client, outbox):
    answers = [
        client.post("/subscribe/", signup_data(), REMOTE_ADDR=f"203.0.113.{i}") for i in range(4)
    ]

    assert {a.status_code for a in answers} == {200}
    assert len({without_csrf(a.content) for a in answers}) == 1
    assert len(outbox.to("erin@example.com")) == 2


def test_the_address_limit_covers_signups_and_link_requests_together(client, outbox, bob):
    client.post("/subscribe/", signup_data(email="bob@example.com"), REMOTE_ADDR="203.0.113.1")
    client.post("/preferences/", {"email": "bob@example.com"}, REMOTE_ADDR="203.0.113.2")
    client.post("/preferences/", {"email": "BOB@example.com"}, REMOTE_ADDR="203.0.113.3")

    assert len(outbox.to("bob@example.com")) == 2


def test_the_limits_reset_after_an_hour(client, outbox):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for _ in range(6):
            client.post("/subscribe/", signup_data(), REMOTE_ADDR="203.0.113.1")
        traveller.shift(3601)

        response = client.post("/subscribe/", signup_data(), REMOTE_ADDR="203.0.113.1")

    assert response.status_code == 200
    assert len(outbox.to("erin@example.com")) == 3


def ask_for_new_address(client, subscriber, new_email, ip):
    data = current_preferences(subscriber, email=new_email)
    return client.post(subscriber.preferences_path(), data, REMOTE_ADDR=ip)


def test_email_changes_count_against_the_ip_limit_even_with_a_valid_token(client, alice, outbox):
    answers = [
        ask_for_new_address(client, alice, f"target{i}@example.net", "203.0.113.1")
        for i in range(8)
    ]

    assert [a.status_code for a in answers] == [302] * 5 + [429] * 3
    assert b"Too many requests" in answers[-1].content
    assert len(outbox) == 5  # not 8: the form is no mail cannon
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"


def test_signups_and_email_changes_share_one_ip_limit(client, alice):
    for i in range(4):
        client.post(
            "/subscribe/", signup_data(email=f"p{i}@example.com"), REMOTE_ADDR="203.0.113.1"
        )

    first = ask_for_new_address(client, alice, "one@example.net", "203.0.113.1")
    second = ask_for_new_address(client, alice, "two@example.net", "203.0.113.1")

    assert (first.status_code, second.status_code) == (302, 429)


def test_saving_preferences_without_a_new_address_is_not_counted(client, alice):
    answers = [
        ask_for_new_address(client, alice, "alice@example.com", "203.0.113.1") for _ in range(8)
    ]

    assert {a.status_code for a in answers} == {302}

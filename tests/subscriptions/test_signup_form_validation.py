"""Invalid signups show the form again with the error next to the field; nothing is stored."""

from __future__ import annotations

import pytest
from django.urls import reverse

from subscriptions.models import Subscriber
from tests.subscriptions.helpers import error_for, signup_data

pytestmark = pytest.mark.django_db

SUBSCRIBE = "/subscribe/"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-address", "valid email"),
        ("email", "erin@example.com\r\nBcc: everyone@example.com", "line breaks"),
        ("email", "erin@example.com\n", "line breaks"),
        ("email", "e" * 250 + "@example.com", "at most 254"),
        ("topics", ["no-such-topic"], "valid choice"),
        ("topics", [], "at least one topic"),
        ("keywords", "x" * 501, "at most 500"),
        ("keywords", "a" * 61, "under 60"),
        ("keywords", ",".join(f"k{i}" for i in range(21)), "At most 20"),
        ("frequency", "hourly", "valid choice"),
        ("weekday", "7", "valid choice"),
        ("send_hour", "24", "valid choice"),
        ("send_hour", "-1", "valid choice"),
        ("send_hour", "seven", "valid choice"),
        ("timezone", "Mars/Olympus_Mons", "Unknown time zone"),
        ("timezone", "Europe/Berlin; DROP TABLE", "Unknown time zone"),
        ("timezone", "A" * 65, "at most 64"),
        ("max_papers", "4", "greater than or equal to 5"),
        ("max_papers", "31", "less than or equal to 30"),
        ("max_papers", "ten", "whole number"),
    ],
)
def test_a_bad_field_is_shown_next_to_it_and_nothing_is_stored(
    client, outbox, field, value, message
):
    response = client.post(SUBSCRIBE, signup_data(**{field: value}))

    assert response.status_code == 400
    assert message in error_for(response.content.decode(), field)
    assert not Subscriber.objects.exists()
    assert len(outbox) == 0


def test_the_form_keeps_what_was_typed(client):
    response = client.post(SUBSCRIBE, signup_data(timezone="Nowhere/Land", keywords="diffusion"))

    body = response.content.decode()
    assert 'value="erin@example.com"' in body
    assert 'value="diffusion"' in body
    assert 'value="Nowhere/Land"' in body


def test_more_topics_than_exist_are_refused_before_any_query(client):
    response = client.post(SUBSCRIBE, signup_data(topics=[f"t{i}" for i in range(200)]))

    assert response.status_code == 400
    assert "Too many topics" in error_for(response.content.decode(), "topics")


def test_a_time_zone_is_accepted_in_any_case_and_stored_canonically(client):
    client.post(SUBSCRIBE, signup_data(timezone="america/new_york"))

    assert Subscriber.objects.get().timezone == "America/New_York"


def test_an_email_is_stored_lower_cased(client):
    client.post(SUBSCRIBE, signup_data(email="  Erin.Example@EXAMPLE.com "))

    assert Subscriber.objects.get().email == "erin.example@example.com"


def test_keywords_are_tidied(client):
    client.post(SUBSCRIBE, signup_data(keywords=" diffusion ,  test-time   compute,,Diffusion "))

    assert Subscriber.objects.get().keywords == "diffusion, test-time compute"


def test_keywords_that_fit_the_box_but_not_the_column_once_tidied_are_refused(client):
    # 20 keywords of 24 characters: 499 as typed, 518 with ", " between them.
    keywords = ",".join(f"keyword-number-{n:02d}-xxxxxx" for n in range(20))

    response = client.post(SUBSCRIBE, signup_data(keywords=keywords))

    assert response.status_code == 400
    assert "at most 500 characters" in error_for(response.content.decode(), "keywords")
    assert not Subscriber.objects.exists()


def test_weekday_may_be_left_out_for_daily_digests(client):
    data = signup_data()
    del data["weekday"]

    response = client.post(SUBSCRIBE, data)

    assert response.status_code == 200
    assert Subscriber.objects.get().weekday == 0


def test_a_huge_request_is_refused_without_a_server_error(client):
    data = signup_data(topics=["llm-reasoning-and-rl-post-training"] * 2000)

    response = client.post(SUBSCRIBE, data)

    assert response.status_code == 400
    assert not Subscriber.objects.exists()


def test_the_signup_page_shows_the_form(client):
    response = client.get(reverse("subscriptions:subscribe"))

    body = response.content.decode()
    assert response.status_code == 200
    for name in (
        "email",
        "topics",
        "keywords",
        "frequency",
        "weekday",
        "send_hour",
        "timezone",
        "max_papers",
    ):
        assert f'name="{name}"' in body

"""/preferences/<token>/ edits everything from the signup form, without a password."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from subscriptions import services
from subscriptions.models import Subscriber

pytestmark = pytest.mark.django_db


def preferences_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "email": "alice@example.com",
        "topics": ["agents-and-tool-use", "code-generation-and-software-agents"],
        "keywords": "tool use",
        "frequency": "weekly",
        "weekday": "2",
        "send_hour": "20",
        "timezone": "Asia/Tokyo",
        "max_papers": "25",
    }
    data.update(overrides)
    return data


def test_the_page_shows_the_current_choices(client, alice):
    body = client.get(alice.preferences_path()).content.decode()

    assert 'value="alice@example.com"' in body
    assert re.search(
        r'value="llm-reasoning-and-rl-post-training" id="id_topics_\d+" checked>', body
    )
    assert not re.search(r'value="agents-and-tool-use" id="id_topics_\d+" checked>', body)
    assert 'value="Europe/Berlin"' in body
    assert "No digests yet" in body


def test_saving_changes_every_choice(client, alice):
    response = client.post(alice.preferences_path(), preferences_data())

    alice.refresh_from_db()
    assert response.status_code == 302
    assert sorted(t.slug for t in alice.topics.all()) == [
        "agents-and-tool-use",
        "code-generation-and-software-agents",
    ]
    assert (alice.frequency, alice.weekday, alice.send_hour) == ("weekly", 2, 20)
    assert (alice.timezone, alice.max_papers, alice.keywords) == ("Asia/Tokyo", 25, "tool use")
    assert alice.status == "active"
    assert "saved" in client.get(response["Location"]).content.decode()


def test_bad_choices_show_errors_and_change_nothing(client, alice):
    response = client.post(
        alice.preferences_path(), preferences_data(timezone="Moon/Base", send_hour="25")
    )

    alice.refresh_from_db()
    assert response.status_code == 400
    assert "Unknown time zone" in response.content.decode()
    assert alice.timezone == "Europe/Berlin" and alice.send_hour == 7


def test_the_link_never_expires(client, alice):
    path = alice.preferences_path()

    with time_machine.travel(timezone.now() + timedelta(days=400)):
        response = client.get(path)

    assert response.status_code == 200


def test_the_link_dies_when_the_address_changes(client, alice):
    path = alice.preferences_path()
    alice.change_email("alice@new.example")

    response = client.get(path)

    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()


def test_a_tampered_link_shows_a_form_for_a_new_one(client, alice):
    response = client.get(alice.preferences_path().replace(":", ":x", 1))

    assert response.status_code == 400
    assert 'action="/preferences/"' in response.content.decode()


def test_a_token_made_for_another_purpose_does_not_open_the_page(client, alice):
    unsubscribe_token = alice.unsubscribe_path().split("/")[2]

    assert client.get(f"/preferences/{unsubscribe_token}/").status_code == 400


def test_the_link_for_a_deleted_subscriber_does_not_work(client, alice):
    path = alice.preferences_path()
    alice.delete()

    assert client.get(path).status_code == 400


def test_asking_for_a_link_by_email_sends_a_working_one(client, alice, outbox):
    client.post("/preferences/", {"email": "Alice@Example.com"})

    [message] = outbox.to("alice@example.com")
    text = message.get_body(("plain",)).get_content()
    path = text.split("http://localhost:8000")[1].split()[0]
    assert path == alice.preferences_path()
    assert client.get(path).status_code == 200


def test_the_link_request_page_asks_for_an_email(client):
    body = client.get("/preferences/").content.decode()

    assert 'name="email"' in body and "csrfmiddlewaretoken" in body


def test_an_unsubscribed_person_sees_that_and_can_still_manage_data(client, carol):
    body = client.get(carol.preferences_path()).content.decode()

    assert "You are unsubscribed" in body
    assert "Download my data" in body and "Delete me" in body


def test_recent_deliveries_are_empty_until_the_digest_records_them(alice):
    assert services.recent_deliveries(alice) == []


def test_pausing_for_one_two_or_four_weeks_sets_the_date(client, alice):
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        for weeks in (1, 2, 4):
            client.post(alice.preferences_path() + "pause/", {"weeks": str(weeks)})
            alice.refresh_from_db()
            assert alice.paused_until == now + timedelta(weeks=weeks)
            assert alice.is_paused


def test_other_pause_lengths_are_refused(client, alice):
    response = client.post(alice.preferences_path() + "pause/", {"weeks": "52"})

    alice.refresh_from_db()
    assert response.status_code == 302
    assert alice.paused_until is None
    assert "1, 2 or 4 weeks" in client.get(response["Location"]).content.decode()


def test_resuming_clears_the_pause(client, alice):
    alice.pause(2)

    client.post(alice.preferences_path() + "resume/")

    alice.refresh_from_db()
    assert alice.paused_until is None and not alice.is_paused


def test_a_pause_ends_by_itself(alice):
    alice.pause(1)

    with time_machine.travel(timezone.now() + timedelta(weeks=1, seconds=1)):
        assert not alice.is_paused


def test_the_page_shows_a_pause_and_offers_to_resume(client, alice):
    alice.pause(4)

    body = client.get(alice.preferences_path()).content.decode()

    assert "Paused until" in body and "Resume now" in body


def test_get_on_an_action_url_changes_nothing(client, alice):
    response = client.get(alice.preferences_path() + "pause/?weeks=1")

    alice.refresh_from_db()
    assert response.status_code == 405
    assert alice.paused_until is None


def test_subscriber_model_refuses_invalid_rows():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Subscriber.objects.create(email="Upper@Example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscriber.objects.create(email="x@example.com", status="active")  # never confirmed
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscriber.objects.create(email="y@example.com", max_papers=31)
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscriber.objects.create(email="z@example.com", send_hour=24)

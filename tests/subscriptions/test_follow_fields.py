"""Following authors and organizations: on the signup form, the preferences page, the export
and the admin."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.urls import reverse

from subscriptions.models import Subscriber
from tests.subscriptions.helpers import current_preferences, error_for, signup_data, text_of

pytestmark = pytest.mark.django_db

SUBSCRIBE = "/subscribe/"


# --- signup ---------------------------------------------------------------------------------
def test_the_follow_fields_are_in_the_more_options_area_with_the_keywords(client):
    body = client.get(SUBSCRIBE).content.decode()

    found = re.search(r'<details class="options".*?</details>', body, re.DOTALL)
    assert found, "the form has no more-options section"
    options = found.group(0)
    for name in ("keywords", "authors", "organizations"):
        assert f'name="{name}"' in options
    assert "Authors to follow" in options and "Organizations to follow" in options


def test_a_signup_keeps_whom_the_person_follows(client):
    client.post(
        SUBSCRIBE,
        signup_data(authors="Yann LeCun, Fei-Fei Li", organizations="Google DeepMind"),
    )

    erin = Subscriber.objects.get(email="erin@example.com")
    assert erin.authors == "Yann LeCun, Fei-Fei Li"
    assert erin.organizations == "Google DeepMind"
    assert erin.followed_authors == ("Yann LeCun", "Fei-Fei Li")


def test_following_someone_is_enough_without_a_topic(client, outbox):
    response = client.post(SUBSCRIBE, signup_data(topics=[], authors="Yann LeCun"))

    assert response.status_code == 200
    erin = Subscriber.objects.get(email="erin@example.com")
    assert list(erin.topics.all()) == []
    [message] = outbox.to("erin@example.com")
    assert "papers by Yann LeCun" in text_of(message)


def test_an_organization_alone_is_enough_too(client):
    response = client.post(SUBSCRIBE, signup_data(topics=[], organizations="Meta AI"))

    assert response.status_code == 200
    assert Subscriber.objects.get().organizations == "Meta AI"


def test_no_topic_and_no_follow_says_either_will_do_next_to_the_topics(client, outbox):
    response = client.post(SUBSCRIBE, signup_data(topics=[]))

    assert response.status_code == 400
    error = error_for(response.content.decode(), "topics")
    assert error == "Pick at least one topic, or follow an author or organization."
    assert not Subscriber.objects.exists()
    assert len(outbox) == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("authors", "Y" * 101, "Keep each name under 100 characters."),
        ("authors", ", ".join(f"Author {n}" for n in range(21)), "At most 20 authors."),
        ("organizations", ", ".join(f"Lab {n}" for n in range(21)), "At most 20 organizations."),
        ("organizations", "Meta AI, ---", "“---” is not a name: it has no letters."),
        ("authors", "x" * 501, "at most 500 characters"),
        # 20 names of 24 characters: 499 as typed, 518 with ", " between them.
        (
            "authors",
            ",".join(f"Author Number {n:02d} Smythes" for n in range(20)),
            "commas and spaces included",
        ),
    ],
)
def test_a_bad_follow_is_shown_next_to_its_field_and_nothing_is_stored(
    client, outbox, field, value, message
):
    response = client.post(SUBSCRIBE, signup_data(**{field: value}))

    assert response.status_code == 400
    assert message in error_for(response.content.decode(), field)
    assert not Subscriber.objects.exists()
    assert len(outbox) == 0


def test_a_bad_follow_without_topics_shows_only_the_follows_error(client):
    response = client.post(SUBSCRIBE, signup_data(topics=[], authors="---"))

    body = response.content.decode()
    assert "is not a name" in error_for(body, "authors")
    assert 'id="id_topics_error"' not in body


def test_follows_are_tidied_and_a_name_spelled_twice_is_kept_once(client):
    client.post(
        SUBSCRIBE,
        signup_data(
            authors="  Jean-Pierre   Lévy , jean pierre levy,, Yann LeCun, YANN LECUN ",
            organizations="Google DeepMind,google deepmind",
        ),
    )

    erin = Subscriber.objects.get()
    assert erin.authors == "Jean-Pierre Lévy, Yann LeCun"
    assert erin.organizations == "Google DeepMind"


# --- preferences ------------------------------------------------------------------------------
def test_the_preferences_page_shows_whom_the_reader_follows(client, alice):
    alice.authors = "Yann LeCun"
    alice.organizations = "Google DeepMind"
    alice.save()

    body = client.get(alice.preferences_path()).content.decode()

    assert 'name="authors" value="Yann LeCun"' in body
    assert 'name="organizations" value="Google DeepMind"' in body


def test_saved_follows_come_back_on_the_preferences_page(client, alice):
    data = current_preferences(alice, authors="Fei-Fei Li, Yann LeCun", organizations="Meta AI")

    response = client.post(alice.preferences_path(), data)

    alice.refresh_from_db()
    assert response.status_code == 302
    assert (alice.authors, alice.organizations) == ("Fei-Fei Li, Yann LeCun", "Meta AI")
    body = client.get(response["Location"]).content.decode()
    assert 'value="Fei-Fei Li, Yann LeCun"' in body


def test_a_reader_who_follows_someone_may_drop_every_topic(client, alice):
    response = client.post(
        alice.preferences_path(), current_preferences(alice, topics=[], authors="Yann LeCun")
    )

    alice.refresh_from_db()
    assert response.status_code == 302
    assert list(alice.topics.all()) == []


def test_dropping_every_topic_and_every_follow_is_refused_next_to_the_topics(client, alice):
    response = client.post(alice.preferences_path(), current_preferences(alice, topics=[]))

    assert response.status_code == 400
    assert "follow an author or organization" in error_for(response.content.decode(), "topics")
    assert alice.topics.count() == 2


def test_a_bad_follow_on_the_preferences_page_is_shown_next_to_it(client, alice):
    response = client.post(alice.preferences_path(), current_preferences(alice, authors="Y" * 101))

    alice.refresh_from_db()
    assert response.status_code == 400
    assert "under 100 characters" in error_for(response.content.decode(), "authors")
    assert alice.authors == ""


# --- export and admin -------------------------------------------------------------------------
def test_my_data_holds_whom_i_follow(client, alice):
    alice.authors = "Yann LeCun"
    alice.organizations = "Meta AI"
    alice.save()

    data = json.loads(client.get(alice.preferences_path() + "my-data.json").content)

    assert (data["authors"], data["organizations"]) == ("Yann LeCun", "Meta AI")


@pytest.fixture
def editor(client, django_user_model):
    user = django_user_model.objects.create_superuser("erin", "erin@example.com", "pw-erin-123")
    client.force_login(user)
    return client


def test_the_admin_shows_and_exports_whom_a_subscriber_follows(editor, alice):
    alice.authors = "Yann LeCun"
    alice.organizations = "Meta AI"
    alice.save()

    page = editor.get(reverse("admin:subscriptions_subscriber_change", args=[alice.pk]))
    response = editor.post(
        reverse("admin:subscriptions_subscriber_changelist"),
        {"action": "export_csv", "_selected_action": [alice.pk]},
    )

    body = page.content.decode()
    assert re.search(r'name="authors"[^>]*value="Yann LeCun"', body)
    assert re.search(r'name="organizations"[^>]*value="Meta AI"', body)
    [row] = csv.DictReader(io.StringIO(response.content.decode()))
    assert (row["authors"], row["organizations"]) == ("Yann LeCun", "Meta AI")

""" "Delete me" removes the subscriber and everything personal; bounces leave only a hash."""

from __future__ import annotations

import hashlib

import pytest
from django.apps import apps
from django.db import connection

from subscriptions.models import Subscriber, Suppression
from tests.subscriptions.helpers import signup_data

pytestmark = pytest.mark.django_db


def everything_stored() -> str:
    """Every value in every table the project owns, as one string to search."""
    chunks = []
    for model in apps.get_models():
        if model._meta.app_label in ("auth", "contenttypes", "sessions", "django_celery_beat"):
            continue
        for row in model._default_manager.values_list():
            chunks.append(repr(row))
        for field in model._meta.local_many_to_many:
            through = field.remote_field.through
            assert through is not None
            chunks.append(repr(list(through._default_manager.values_list())))
    return "\n".join(chunks)


def test_deleting_removes_the_row_and_leaves_nothing_personal(client, alice):
    response = client.post(alice.preferences_path() + "delete/", {"confirm": "on"})

    assert response.status_code == 200
    assert "Your subscription is deleted" in response.content.decode()
    assert not Subscriber.objects.filter(pk=alice.pk).exists()
    stored = everything_stored()
    for personal in ("alice@example.com", "198.51.100.7", "198.51.100.8", "Mozilla/5.0 (test)"):
        assert personal not in stored
    assert not Suppression.objects.exists()
    assert not Subscriber.topics.through.objects.filter(subscriber_id=alice.pk).exists()


def test_deleting_needs_the_confirmation_box(client, alice):
    response = client.post(alice.preferences_path() + "delete/")

    assert response.status_code == 302
    assert Subscriber.objects.filter(pk=alice.pk).exists()


@pytest.mark.parametrize("status", ["bounced", "complained"])
def test_a_bounced_or_complained_address_leaves_only_a_hash_behind(client, dave, status):
    Subscriber.objects.filter(pk=dave.pk).update(status=status)

    client.post(dave.preferences_path() + "delete/", {"confirm": "on"})

    [suppression] = Suppression.objects.all()
    assert suppression.email_hash == hashlib.sha256(b"dave@example.com").hexdigest()
    assert suppression.reason == status
    assert "dave@example.com" not in everything_stored()


def test_a_suppressed_address_that_signs_up_again_is_never_emailed(client, dave, outbox):
    client.post(dave.preferences_path() + "delete/", {"confirm": "on"})

    response = client.post("/subscribe/", signup_data(email="DAVE@example.com"))

    assert response.status_code == 200
    assert not Subscriber.objects.exists()
    assert len(outbox) == 0


def test_the_old_links_stop_working_after_deletion(client, alice):
    preferences, unsubscribe = alice.preferences_path(), alice.unsubscribe_path()
    client.post(preferences + "delete/", {"confirm": "on"})

    assert client.get(preferences).status_code == 400
    assert "Not on our list" in client.get(unsubscribe).content.decode()


def test_no_query_leaves_the_address_in_the_database_log(client, alice):
    # The database itself: PostgreSQL and SQLite both answer a plain LIKE over the table.
    client.post(alice.preferences_path() + "delete/", {"confirm": "on"})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM subscriptions_subscriber WHERE email LIKE %s", ["%alice%"]
        )
        assert cursor.fetchone()[0] == 0

"""Editors see and act on subscribers in the admin; the consent record is read-only."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from digest.models import Topic
from subscriptions.models import Subscriber

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:subscriptions_subscriber_changelist"


@pytest.fixture
def editor(client, django_user_model):
    user = django_user_model.objects.create_superuser("erin", "erin@example.com", "pw-erin-123")
    client.force_login(user)
    return client


@pytest.fixture
def everyone(alice, bob, carol, dave):
    return [alice, bob, carol, dave]


def listed(response) -> set[str]:
    body = response.content.decode()
    return {e for e in ("alice", "bob", "carol", "dave") if f"{e}@example.com" in body}


def test_the_list_shows_subscribers(editor, everyone):
    response = editor.get(reverse(CHANGELIST))

    assert response.status_code == 200
    assert listed(response) == {"alice", "bob", "carol", "dave"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status__exact=active", {"alice"}),
        ("status__exact=bounced", {"dave"}),
        ("frequency__exact=daily", {"alice", "bob", "carol", "dave"}),
        ("timezone=Europe/Berlin", {"alice", "bob", "carol", "dave"}),
        ("q=caro", {"carol"}),
    ],
)
def test_filters_and_search(editor, everyone, query, expected):
    assert listed(editor.get(f"{reverse(CHANGELIST)}?{query}")) == expected


def test_filtering_by_topic(editor, everyone, alice):
    agents = Topic.objects.get(slug="agents-and-tool-use")
    alice.topics.add(agents)

    assert listed(editor.get(f"{reverse(CHANGELIST)}?topics__id__exact={agents.pk}")) == {"alice"}


def test_resend_confirmation_emails_only_pending_people(editor, everyone, outbox):
    ids = [s.pk for s in everyone]

    editor.post(reverse(CHANGELIST), {"action": "resend_confirmation", "_selected_action": ids})

    assert [m["To"] for m in outbox.messages] == ["bob@example.com"]


def test_unsubscribe_action(editor, alice):
    editor.post(reverse(CHANGELIST), {"action": "unsubscribe", "_selected_action": [alice.pk]})

    alice.refresh_from_db()
    assert alice.status == "unsubscribed"
    assert "admin" in alice.unsubscribe_reason


def test_export_csv(editor, everyone):
    ids = [s.pk for s in everyone]

    response = editor.post(reverse(CHANGELIST), {"action": "export_csv", "_selected_action": ids})

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["email"] for r in rows] == [
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
        "dave@example.com",
    ]
    assert rows[0]["signup_ip"] == "198.51.100.7"
    assert rows[0]["topics"] == "llm-reasoning-and-rl-post-training retrieval-and-rag"


def test_the_consent_record_and_status_are_read_only(editor, alice):
    url = reverse("admin:subscriptions_subscriber_change", args=[alice.pk])
    page = editor.get(url).content.decode()

    assert 'name="signup_ip"' not in page and "198.51.100.7" in page
    assert 'name="status"' not in page
    data = {
        "email": "alice@example.com",
        "topics": [t.pk for t in alice.topics.all()],
        "keywords": "",
        "frequency": "daily",
        "weekday": "0",
        "send_hour": "7",
        "timezone": "Europe/Berlin",
        "max_papers": "10",
        "signup_ip": "10.0.0.1",
        "status": "pending",
    }
    editor.post(url, data)

    alice.refresh_from_db()
    assert alice.signup_ip == "198.51.100.7" and alice.status == "active"


def test_nobody_is_added_by_hand(editor):
    assert editor.get(reverse("admin:subscriptions_subscriber_add")).status_code == 403


def test_suppressions_are_searchable_by_address(editor, client):
    from subscriptions.models import Suppression

    Suppression.add("dave@example.com", "bounced")
    url = reverse("admin:subscriptions_suppression_changelist")

    assert "bounced" in editor.get(f"{url}?q=Dave@Example.com").content.decode()
    assert "0 suppressions" in editor.get(f"{url}?q=nobody@example.com").content.decode()
    assert Subscriber.objects.count() == 0

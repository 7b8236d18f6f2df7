"""Editors preview any subscriber's digest, send themselves a test, and read deliveries."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.core import mail
from django.urls import reverse

from digest.mailing import dispatch, planning
from digest.models import Delivery, Topic

pytestmark = pytest.mark.django_db

NOW = datetime.fromisoformat("2026-11-26T08:00:00+00:00")


@pytest.fixture
def editor(client, django_user_model):
    user = django_user_model.objects.create_superuser("erin", "erin@example.com", "pw-erin-123")
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def test_the_subscriber_page_links_to_the_preview(editor, alice):
    page = editor.get(reverse("admin:subscriptions_subscriber_change", args=[alice.pk]))

    assert (
        reverse("admin:subscriptions_subscriber_preview", args=[alice.pk]) in page.content.decode()
    )


def test_the_preview_shows_the_papers_with_reasons_and_stores_nothing(editor, papers, alice):
    page = editor.get(reverse("admin:subscriptions_subscriber_preview", args=[alice.pk]))

    body = page.content.decode()
    assert page.status_code == 200
    assert "ZeroSearch: search without searching" in body
    assert "Retrieval and RAG · 41 upvotes" in body
    assert "A vision paper nobody asked for" not in body
    assert Delivery.objects.count() == 0


def test_send_me_a_test_mails_the_editor_not_the_subscriber(editor, papers, alice, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    editor.post(reverse("admin:subscriptions_subscriber_send_test", args=[alice.pk]))

    [message] = mail.outbox
    assert message.to == ["erin@example.com"]
    assert message.subject.startswith("[Test] ")
    assert Delivery.objects.count() == 0


def test_a_topic_preview_shows_that_topic_alone(editor, papers):
    topic = Topic.objects.get(slug="zero-shot-learning")

    page = editor.get(reverse("admin:digest_topic_preview", args=[topic.pk]))

    body = page.content.decode()
    assert page.status_code == 200
    assert "Zero-shot classifiers from captions" in body
    assert "ZeroSearch: search without searching" not in body


def test_the_delivery_list_is_read_only(editor, papers, alice):
    dispatch.send_deliveries(planning.plan(NOW).created, NOW)

    page = editor.get(reverse("admin:digest_delivery_changelist"))

    body = page.content.decode()
    assert page.status_code == 200
    assert "daily:2026-11-26" in body
    assert "alice@example.com" in body
    assert editor.get(reverse("admin:digest_delivery_add")).status_code == 403


def test_a_preview_shows_an_editors_pin_at_once(editor, papers, alice):
    url = reverse("admin:subscriptions_subscriber_preview", args=[alice.pk])
    editor.get(url)
    pinned = papers[1]  # "Dense retrieval for long documents", 12 upvotes
    pinned.pinned = True
    pinned.save()

    body = editor.get(url).content.decode()

    assert "Editor&#x27;s pick · Retrieval and RAG · 12 upvotes" in body or (
        "Editor's pick · Retrieval and RAG · 12 upvotes" in body
    )

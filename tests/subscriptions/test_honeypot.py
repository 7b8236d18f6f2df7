"""A filled honeypot gets the normal answer, and nothing is stored or sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

from subscriptions.models import Subscriber
from tests.subscriptions.helpers import signup_data, without_csrf

pytestmark = pytest.mark.django_db


def test_a_bot_that_fills_the_honeypot_gets_the_usual_page_and_nothing_happens(client, outbox):
    human = client.post("/subscribe/", signup_data(email="erin@example.com"))
    Subscriber.objects.all().delete()
    for path in outbox.directory.glob("*.eml"):
        path.unlink()

    bot = client.post(
        "/subscribe/", signup_data(email="bot@example.com", website="https://spam.example")
    )

    assert bot.status_code == human.status_code == 200
    assert without_csrf(bot.content) == without_csrf(human.content)
    assert not Subscriber.objects.exists()
    assert len(outbox) == 0


def test_a_bot_gets_the_usual_page_even_when_the_rest_is_nonsense(client, outbox):
    response = client.post("/subscribe/", {"email": "x", "website": "spam"})

    assert response.status_code == 200
    assert b"Check your inbox" in response.content
    assert len(outbox) == 0


def test_the_honeypot_is_hidden_from_people(client):
    body = client.get("/").content.decode()

    assert '<div class="hp" aria-hidden="true">' in body
    assert 'name="website"' in body
    assert 'tabindex="-1"' in body and 'autocomplete="off"' in body
    # Positioned off-screen by the stylesheet, a file the page links to.
    assert '<link rel="stylesheet" href="/static/css/site.css">' in body
    stylesheet = finders.find("css/site.css")
    assert isinstance(stylesheet, str), "css/site.css is not among the static files"
    assert ".hp {" in Path(stylesheet).read_text()

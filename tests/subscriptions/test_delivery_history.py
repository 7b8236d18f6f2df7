"""The preferences page and the data export show what was sent, and why nothing came."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from digest.mailing import dispatch, planning
from digest.mailing.selection import SKIP_NO_MATCH
from tests.digest.conftest import make_paper, make_reader

pytestmark = pytest.mark.django_db

MORNING = datetime.fromisoformat("2026-11-26T08:00:00+00:00")


def send_all() -> None:
    dispatch.send_deliveries(planning.plan(MORNING).created, MORNING)


def test_a_day_without_a_digest_shows_why_on_the_preferences_page(client):
    make_paper("A vision paper", "vision-language-models")
    carl = make_reader("carl@example.com", ["code-generation-and-software-agents"])
    send_all()

    page = client.get(carl.preferences_path()).content.decode()

    assert "daily:2026-11-26" in page
    assert SKIP_NO_MATCH.replace("'", "&#x27;") in page


def test_a_sent_digest_is_listed_with_its_subject_and_a_view_link(client):
    make_paper("Dense retrieval for long documents", "retrieval-and-rag", upvotes=12)
    alice = make_reader("alice@example.com", ["retrieval-and-rag"])
    send_all()
    delivery = alice.deliveries.get()

    page = client.get(alice.preferences_path()).content.decode()

    assert delivery.subject in page
    assert delivery.view_path() in page
    assert client.get(delivery.view_path()).status_code == 200


def test_the_data_export_holds_each_digest_with_its_papers_and_reasons(client):
    make_paper("Dense retrieval for long documents", "retrieval-and-rag", upvotes=12)
    alice = make_reader("alice@example.com", ["retrieval-and-rag"])
    send_all()
    url = alice.preferences_path() + "my-data.json"

    data = json.loads(client.get(url).content)

    [delivery] = data["deliveries"]
    assert delivery["period"] == "daily:2026-11-26"
    assert delivery["status"] == "sent"
    assert delivery["papers"] == [
        {
            "title": "Dense retrieval for long documents",
            "url": "https://huggingface.co/papers?q=Dense+retrieval+for+long+documents",
            "reason": "Retrieval and RAG · 12 upvotes",
        }
    ]

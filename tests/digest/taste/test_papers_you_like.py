"""A new reader rates recent papers of their topics on one page, and their very first
digest follows it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import time_machine
from django.core import mail

from digest.mailing import dispatch, planning
from digest.models import DeliveryPaper, Feedback
from subscriptions.models import Subscriber
from tests.digest.conftest import DAY, make_paper, make_reader
from tests.digest.taste.papers import made_up

pytestmark = pytest.mark.django_db

TODAY = datetime.fromisoformat("2026-11-26T08:00:00+00:00")
BOTH = ["llm-reasoning-and-rl-post-training", "vision-language-models"]


@pytest.fixture(autouse=True)
def frozen_and_in_memory(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(TODAY, tick=False):
        yield


def offered(page) -> list[str]:
    return re.findall(r"<legend>([^<]+)</legend>", page.content.decode())


def rate_on_page(client, reader: Subscriber, choices: dict[int, str]):
    data = {f"rate-{pk}": value for pk, value in choices.items()}
    return client.post(reader.papers_path(), data)


def test_confirming_offers_the_page_of_papers_to_rate(client):
    reader = make_reader("rita@example.com", BOTH, status="pending", confirmed_at=None)

    page = client.post(reader.confirm_url().removeprefix("http://localhost:8000"))

    assert page.status_code == 200
    assert f'href="{reader.papers_path()}"' in page.content.decode()
    assert "Rate a few papers" in page.content.decode()


def test_the_page_offers_recent_papers_of_each_topic_in_turn_most_upvoted_first(client):
    reader = make_reader("rita@example.com", BOTH)
    make_paper("Reasoning fifty", BOTH[0], upvotes=50)
    make_paper("Reasoning forty", BOTH[0], upvotes=40, day=DAY - timedelta(days=3))
    make_paper("Reasoning thirty", BOTH[0], upvotes=30)
    make_paper("Vision forty-five", BOTH[1], upvotes=45)
    make_paper("Vision five", BOTH[1], upvotes=5)
    make_paper("Reasoning, a month old", BOTH[0], upvotes=99, day=DAY - timedelta(days=30))
    make_paper("Reasoning, hidden", BOTH[0], upvotes=98, hidden=True)
    make_paper("Speech, not their topic", "speech-and-audio", upvotes=97)

    page = client.get(reader.papers_path())

    assert page.status_code == 200
    assert page["Cache-Control"] == "private, no-store"
    assert offered(page) == [
        "Reasoning fifty",
        "Vision forty-five",
        "Reasoning forty",
        "Vision five",
        "Reasoning thirty",
    ]


def test_each_paper_offers_more_less_and_no_opinion_which_is_the_default(client):
    reader = make_reader("rita@example.com", BOTH)
    paper = make_paper("Reasoning fifty", BOTH[0], upvotes=50)

    body = client.get(reader.papers_path()).content.decode()

    radios = re.findall(
        rf'<input type="radio" name="rate-{paper.pk}" value="([^"]*)"( checked)?', body
    )
    assert radios == [("1", ""), ("-1", ""), ("", " checked")]
    assert "<script" not in body.split("<main")[1], "the form needs no JavaScript"


def test_saving_records_the_chosen_ratings_and_nothing_else(client):
    reader = make_reader("rita@example.com", BOTH)
    liked, disliked, unsure = (make_paper(f"Paper {n}", BOTH[0]) for n in range(3))

    answer = rate_on_page(
        client, reader, {liked.pk: "1", disliked.pk: "-1", unsure.pk: "", 999_999: "1"}
    )
    client.post(reader.papers_path(), {"rate-x1": "1", f"rate-{unsure.pk}": "5"})

    assert answer.status_code == 302
    assert answer["Location"] == reader.preferences_path() + "#ratings"
    assert dict(Feedback.objects.values_list("paper_id", "value")) == {
        liked.pk: 1,
        disliked.pk: -1,
    }
    page = client.get(answer["Location"]).content.decode()
    assert "Saved 2 ratings: your next digest takes them in." in page
    assert "What your ratings taught us" in page


def test_saving_with_no_choice_says_so_and_records_nothing(client):
    reader = make_reader("rita@example.com", BOTH)
    paper = make_paper("Paper", BOTH[0])

    answer = rate_on_page(client, reader, {paper.pk: ""})

    assert answer["Location"] == reader.papers_path()
    assert "Nothing was rated" in client.get(answer["Location"]).content.decode()
    assert not Feedback.objects.exists()


def test_only_the_reader_the_link_was_made_for_can_rate_with_it(client):
    rita = make_reader("rita@example.com", BOTH)
    paper = make_paper("Paper", BOTH[0])
    forged = rita.papers_path().replace(f"/{rita.pk}.", f"/{rita.pk + 1}.")

    assert client.get(forged).status_code == 400
    assert client.post(forged, {f"rate-{paper.pk}": "1"}).status_code == 400
    rita.change_email("rita@new.example.com")
    assert client.get(rita.papers_path()).status_code == 200
    assert not Feedback.objects.exists()


def send(now) -> dict[str, mail.EmailMessage]:
    mail.outbox.clear()
    dispatch.send_deliveries(planning.plan(now).created, now)
    return {message.to[0]: message for message in mail.outbox}


def test_ratings_from_the_page_shape_the_very_first_digest(client):
    rita = make_reader("rita@example.com", BOTH)
    twin = make_reader("twin@example.com", BOTH)
    yesterday = DAY - timedelta(days=3)
    liked = [make_paper(t, BOTH[0], abstract=a, day=yesterday) for t, a in made_up("reasoning", 8)]
    disliked = [make_paper(t, BOTH[1], abstract=a, day=yesterday) for t, a in made_up("vision", 8)]
    rate_on_page(client, rita, {p.pk: "1" for p in liked} | {p.pk: "-1" for p in disliked})
    reasoning = [make_paper(t, BOTH[0], abstract=a) for t, a in made_up("reasoning", 3, seed=9)]
    vision = [make_paper(t, BOTH[1], abstract=a) for t, a in made_up("vision", 3, seed=9)]

    first = send(TODAY)

    def sent_to(reader) -> set[int]:
        return set(DeliveryPaper.objects.filter(subscriber=reader).values_list("paper", flat=True))

    assert sent_to(twin) == {p.pk for p in reasoning + vision}
    assert sent_to(rita) == {p.pk for p in reasoning}
    assert all(p.title not in first[rita.email].body for p in vision)


def test_a_rated_paper_is_neither_offered_again_nor_sent(client):
    rita = make_reader("rita@example.com", ["llm-reasoning-and-rl-post-training"])
    rated = make_paper("Already rated", BOTH[0], upvotes=90)
    other = make_paper("Not rated", BOTH[0], upvotes=10)
    rate_on_page(client, rita, {rated.pk: "1"})

    assert offered(client.get(rita.papers_path())) == ["Not rated"]
    send(TODAY)
    assert list(DeliveryPaper.objects.values_list("paper_id", flat=True)) == [other.pk]

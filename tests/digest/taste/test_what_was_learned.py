"""The reader sees and steers what their ratings taught: the words that pull papers in and
push them out, forgetting it all, and stopping a topic they keep saying "less" to."""

from __future__ import annotations

import json

import pytest

from digest.models import Feedback, ReaderProfile
from digest.taste import profiles
from subscriptions.models import Subscriber
from subscriptions.tokens import make_feedback_tokens
from tests.digest.conftest import make_paper, make_reader
from tests.digest.taste.papers import made_up

pytestmark = pytest.mark.django_db

REASONING, VISION = "llm-reasoning-and-rl-post-training", "vision-language-models"


def rated(reader: Subscriber, likes: int, dislikes: int) -> tuple[list, list]:
    """`likes` made-up reasoning papers marked "more", `dislikes` vision papers "less"."""
    liked = [make_paper(t, REASONING, abstract=a) for t, a in made_up("reasoning", likes)]
    disliked = [make_paper(t, VISION, abstract=a) for t, a in made_up("vision", dislikes)]
    for paper in liked:
        profiles.rate(reader.pk, paper.pk, 1)
    for paper in disliked:
        profiles.rate(reader.pk, paper.pk, -1)
    return liked, disliked


def feedback_path(reader: Subscriber, paper_id: int, choice: str = "less") -> str:
    token = make_feedback_tokens(reader.pk, reader.email, [paper_id])[paper_id]
    return f"/feedback/{token}/{choice}/"


# --- the preferences page ---------------------------------------------------------------------


def test_the_page_shows_the_words_that_pull_papers_in_and_push_them_out(client):
    reader = make_reader("rita@example.com", [REASONING, VISION])
    rated(reader, 8, 8)
    profiles.fit_profiles()

    page = client.get(reader.preferences_path()).content.decode()

    learned = page.split("What your ratings taught us")[1].split("</div>")[0]
    assert "now <strong>decide which papers reach you</strong>" in learned
    come_more = learned.split("Papers with these words come more:")[1].split("</p>")[0]
    come_less = learned.split("Papers with these words come less:")[1].split("</p>")[0]
    assert "reasoning" in come_more or "reward" in come_more, come_more
    assert "image" in come_less or "vision" in come_less, come_less
    assert "Forget what I taught it</button>" in learned


def test_a_few_ratings_are_said_to_change_the_order_only(client):
    reader = make_reader("rita@example.com", [REASONING, VISION])
    rated(reader, 2, 2)
    profiles.fit_profiles()

    page = client.get(reader.preferences_path()).content.decode()

    assert "your ratings change the order of your digest" in page
    assert "decide which papers reach you</strong>" not in page


def test_one_kind_of_rating_alone_is_said_to_change_nothing_yet(client):
    reader = make_reader("rita@example.com", [REASONING, VISION])
    rated(reader, 3, 0)
    profiles.fit_profiles()

    page = client.get(reader.preferences_path()).content.decode()

    assert "until you give one of each your digest stays as it was" in page
    assert "come more:" not in page


def test_ratings_not_yet_fitted_are_said_to_count_from_the_next_digest(client):
    reader = make_reader("rita@example.com", [REASONING, VISION])
    rated(reader, 2, 2)

    page = client.get(reader.preferences_path()).content.decode()

    assert "Your latest ratings are taken in before your next digest." in page


def test_the_data_download_holds_what_was_learned_and_delete_me_removes_it(client):
    reader = make_reader("rita@example.com", [REASONING, VISION])
    rated(reader, 8, 8)
    profiles.fit_profiles()
    token = reader.preferences_path().split("/")[2]

    data = json.loads(client.get(f"/preferences/{token}/my-data.json").content)
    client.post(f"/preferences/{token}/delete/", {"confirm": "on"})

    learned = data["learned_from_ratings"]
    assert (learned["likes"], learned["dislikes"]) == (8, 8)
    assert learned["term_weights"] and set(learned["topic_weights"]) <= {
        "LLM reasoning and RL post-training",
        "Vision-language models",
    }
    assert not ReaderProfile.objects.exists()
    assert not Feedback.objects.exists()


# --- stopping a topic -----------------------------------------------------------------------


def test_after_mostly_less_on_a_topic_the_feedback_page_offers_to_stop_it(client):
    reader = make_reader("rita@example.com", [REASONING, VISION])
    _, disliked = rated(reader, 2, 6)
    path = feedback_path(reader, disliked[0].pk)

    page = client.get(path).content.decode()
    answer = client.post(path, {"action": "stop_topic", "topic": VISION}, follow=True)

    assert "You marked 6 of the 6 papers of Vision-language models" in page
    assert "Stop sending me Vision-language models</button>" in page
    assert "Stopped: Vision-language models is no longer in your digest." in (
        answer.content.decode()
    )
    assert list(reader.topics.values_list("slug", flat=True)) == [REASONING]


def test_the_preferences_page_offers_the_same_with_one_button(client):
    reader = make_reader("rita@example.com", [REASONING, VISION])
    rated(reader, 2, 6)
    token = reader.preferences_path().split("/")[2]

    page = client.get(reader.preferences_path()).content.decode()
    client.post(f"/preferences/{token}/drop-topic/", {"topic": VISION})

    assert "Stop sending me Vision-language models</button>" in page
    assert "Stop sending me LLM reasoning" not in page
    assert list(reader.topics.values_list("slug", flat=True)) == [REASONING]


def test_no_offer_while_most_of_a_topics_ratings_are_more(client):
    reader = make_reader("rita@example.com", [REASONING, VISION])
    liked, _ = rated(reader, 6, 2)

    page = client.get(feedback_path(reader, liked[0].pk)).content.decode()

    assert "Stop sending me" not in page


def test_no_offer_to_stop_a_readers_only_topic(client):
    reader = make_reader("rita@example.com", [VISION])
    _, disliked = rated(reader, 0, 6)

    page = client.get(feedback_path(reader, disliked[0].pk)).content.decode()
    client.post(feedback_path(reader, disliked[0].pk), {"action": "stop_topic", "topic": VISION})

    assert "Stop sending me" not in page
    assert list(reader.topics.values_list("slug", flat=True)) == [VISION]


def test_a_topic_the_page_did_not_offer_cannot_be_stopped_from_it(client):
    reader = make_reader("rita@example.com", [REASONING, VISION])
    _, disliked = rated(reader, 6, 6)

    answer = client.post(
        feedback_path(reader, disliked[0].pk), {"action": "stop_topic", "topic": REASONING}
    )

    assert answer.status_code == 302
    assert reader.topics.count() == 2

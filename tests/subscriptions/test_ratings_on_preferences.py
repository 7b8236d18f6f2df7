"""The preferences page lists a reader's ratings and removes any or all of them."""

from __future__ import annotations

import json
from datetime import date

import pytest

from digest.models import Feedback, Paper, ReaderProfile
from digest.taste import profiles

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 26)


@pytest.fixture
def rated(alice) -> list[Paper]:
    papers = [
        Paper.objects.create(
            title=title, title_key=title.lower(), abstract="An abstract.", featured_on=DAY
        )
        for title in ("ZeroSearch: search without searching", "A vision paper", "Dense retrieval")
    ]
    for paper, value in zip(papers, (1, -1, 1), strict=True):
        profiles.rate(alice.pk, paper.pk, value)
    return papers


def test_the_page_lists_each_rating_with_its_paper_and_choice(client, alice, rated):
    body = client.get(alice.preferences_path()).content.decode()

    assert 'id="ratings"' in body
    assert "<strong>More like this</strong>: <a href=" in body
    assert "<strong>Less like this</strong>: <a href=" in body
    for paper in rated:
        assert paper.title in body
    assert "Forget what I taught it</button>" in body
    assert "Removes all 3 ratings" in body


def test_without_ratings_the_page_says_how_to_give_them(client, alice):
    body = client.get(alice.preferences_path()).content.decode()

    assert "No ratings yet." in body
    assert "Forget what I taught it" not in body
    assert alice.papers_path() in body, "it offers papers to rate"


def test_removing_one_rating_keeps_the_others(client, alice, rated):
    token = alice.preferences_path().split("/")[2]

    answer = client.post(f"/preferences/{token}/ratings/remove/", {"paper": rated[1].pk})

    assert answer.status_code == 302
    assert answer["Location"].endswith("#ratings")
    assert set(Feedback.objects.values_list("paper_id", flat=True)) == {rated[0].pk, rated[2].pk}
    # The profile is fitted again before the next digest (a worker, beat or the send
    # itself): from the two ratings left.
    assert ReaderProfile.objects.get(subscriber=alice).stale
    profiles.fit_profiles()
    assert ReaderProfile.objects.get(subscriber=alice).ratings == 2


def test_forget_what_i_taught_it_removes_every_rating_and_what_was_learned(client, alice, rated):
    token = alice.preferences_path().split("/")[2]
    profiles.fit_profiles()

    answer = client.post(f"/preferences/{token}/ratings/clear/", follow=True)
    profiles.fit_profiles()

    assert not Feedback.objects.exists()
    assert "Forgotten: all your ratings are removed" in answer.content.decode()
    assert "No ratings yet." in answer.content.decode()
    profile = ReaderProfile.objects.get(subscriber=alice)
    assert (profile.likes, profile.dislikes, profile.terms, profile.topics) == (0, 0, {}, {})
    page = client.get(alice.preferences_path()).content.decode()
    assert "What your ratings taught us" not in page


def test_nobody_else_can_remove_a_readers_ratings(client, alice, bob, rated):
    bobs = bob.preferences_path().split("/")[2]

    client.post(f"/preferences/{bobs}/ratings/clear/")
    client.post(f"/preferences/{bobs}/ratings/remove/", {"paper": rated[0].pk})
    client.post("/preferences/1.forged:sig/ratings/clear/")

    assert Feedback.objects.filter(subscriber=alice).count() == 3


def test_a_bad_paper_number_removes_nothing_and_does_not_fail(client, alice, rated):
    token = alice.preferences_path().split("/")[2]

    answer = client.post(f"/preferences/{token}/ratings/remove/", {"paper": "x1"})

    assert answer.status_code == 302
    assert Feedback.objects.count() == 3


def test_the_data_download_includes_the_ratings(client, alice, rated):
    token = alice.preferences_path().split("/")[2]

    data = json.loads(client.get(f"/preferences/{token}/my-data.json").content)

    assert {(r["paper"]["title"], r["value"]) for r in data["ratings"]} == {
        ("ZeroSearch: search without searching", "More like this"),
        ("A vision paper", "Less like this"),
        ("Dense retrieval", "More like this"),
    }


def test_a_long_list_shows_the_newest_and_says_how_many_there_are(
    client, alice, rated, monkeypatch
):
    from subscriptions import views

    monkeypatch.setattr(views, "RATINGS_SHOWN", 2)

    body = client.get(alice.preferences_path()).content.decode()

    assert "The 2 newest of 3 are shown." in body
    assert "Forget what I taught it</button>" in body
    assert "Removes all 3 ratings" in body
    assert "Dense retrieval" in body and "ZeroSearch" not in body

"""More like this / less like this: one click in the email, one button, a different digest."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.core import mail, signing
from django.urls import reverse, set_script_prefix
from django.utils import timezone

from digest.mailing import dispatch, messages, planning
from digest.models import DeliveryPaper, Feedback, Paper, ReaderProfile
from digest.taste import profiles
from subscriptions.tokens import SALT_FEEDBACK, make_feedback_tokens
from tests.digest.conftest import DAY, make_paper, make_reader
from tests.digest.taste.papers import made_up
from tests.digest.taste.test_taste import REASONING, UNSEEN_REASONING, UNSEEN_VISION, VISION

pytestmark = pytest.mark.django_db

YESTERDAY = datetime.fromisoformat("2026-11-25T08:00:00+00:00")
TODAY = datetime.fromisoformat("2026-11-26T08:00:00+00:00")
FEEDBACK_LINK = re.compile(r"https?://\S+?(/feedback/[^/\s\"]+/(?:more|less)/)")


@pytest.fixture(autouse=True)
def locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def rated_day():
    """Yesterday: five reasoning papers and five vision papers, all sent to the reader."""
    papers = [
        make_paper(
            title,
            "llm-reasoning-and-rl-post-training",
            abstract=abstract,
            day=DAY - timedelta(days=1),
        )
        for title, abstract in REASONING
    ] + [
        make_paper(title, "vision-language-models", abstract=abstract, day=DAY - timedelta(days=1))
        for title, abstract in VISION
    ]
    return papers[:5], papers[5:]


def unseen_day():
    """Today: two of each, vision first (lower ids win ties), equally trending."""
    vision = [
        make_paper(t, "vision-language-models", abstract=a, upvotes=20) for t, a in UNSEEN_VISION
    ]
    reasoning = [
        make_paper(t, "llm-reasoning-and-rl-post-training", abstract=a, upvotes=20)
        for t, a in UNSEEN_REASONING
    ]
    return reasoning, vision


def send(now) -> dict[str, mail.EmailMessage]:
    """Plan and send everything due at `now`; the messages by recipient."""
    mail.outbox.clear()
    dispatch.send_deliveries(planning.plan(now).created, now)
    return {message.to[0]: message for message in mail.outbox}


def html_of(message) -> str:
    return dict((mime, body) for body, mime in message.alternatives)["text/html"]


def links(message, paper_titles=None) -> dict[tuple[str, str], str]:
    """(paper title, "more"/"less") -> the path its link opens, from the text part."""
    found: dict[tuple[str, str], str] = {}
    blocks = message.body.split("\n\n")
    title = ""
    for block in blocks:
        heading = re.match(r"^\d+\.\s+(.*)", block.strip())
        if heading:
            title = heading.group(1).split("\n")[0].strip()
        for path in FEEDBACK_LINK.findall(block):
            found[(title, path.rstrip("/").rsplit("/", 1)[1])] = path
    return found


def click(client, path: str, action: str = "save"):
    """What a reader does: open the link, then press the page's button."""
    page = client.get(path)
    assert page.status_code == 200
    return client.post(path, {"action": action})


def rate_from_email(client, message, likes, dislikes) -> None:
    paths = links(message)
    for paper in likes:
        click(client, paths[(paper.title, "more")])
    for paper in dislikes:
        click(client, paths[(paper.title, "less")])


# --- the links in the email -----------------------------------------------------------------


def test_every_paper_in_the_email_has_more_and_less_like_this_links_in_both_parts():
    liked, disliked = rated_day()
    reader = make_reader(
        "rita@example.com", ["llm-reasoning-and-rl-post-training", "vision-language-models"]
    )

    message = send(YESTERDAY)[reader.email]
    html = html_of(message)

    paths = links(message)
    assert {(p.title, c) for p in liked + disliked for c in ("more", "less")} == paths.keys()
    for path in paths.values():
        assert f'href="{settings.SITE_URL}{path}"' in html
    assert html.count(">More like this</a>") == 10
    assert html.count(">Less like this</a>") == 10


def test_opening_a_link_shows_the_choice_and_records_nothing(client):
    liked, _ = rated_day()
    reader = make_reader("rita@example.com", ["llm-reasoning-and-rl-post-training"])
    path = links(send(YESTERDAY)[reader.email])[(liked[0].title, "more")]

    page = client.get(path)
    head = client.head(path)

    assert page.status_code == 200 and head.status_code == 200
    text = page.content.decode()
    assert "<h1>More like this</h1>" in text
    assert liked[0].title in text
    assert "Yes, more like this</button>" in text
    assert page["Cache-Control"] == "private, no-store"
    assert not Feedback.objects.exists()


def test_the_button_records_the_choice_then_offers_undo(client):
    liked, _ = rated_day()
    reader = make_reader("rita@example.com", ["llm-reasoning-and-rl-post-training"])
    path = links(send(YESTERDAY)[reader.email])[(liked[0].title, "more")]

    answer = client.post(path, {"action": "save"}, follow=True)

    rating = Feedback.objects.get()
    assert (rating.subscriber, rating.paper, rating.value) == (reader, liked[0], 1)
    text = answer.content.decode()
    assert "Saved: more like this." in text
    assert ">Undo</button>" in text
    assert reader.preferences_path() + "#ratings" in text


def test_a_new_click_on_the_same_paper_replaces_the_old_one(client):
    liked, _ = rated_day()
    reader = make_reader("rita@example.com", ["llm-reasoning-and-rl-post-training"])
    paths = links(send(YESTERDAY)[reader.email])
    click(client, paths[(liked[0].title, "more")])

    page = client.get(paths[(liked[0].title, "less")])
    click(client, paths[(liked[0].title, "less")])

    assert "You had said “more like this” about this paper." in page.content.decode()
    assert list(Feedback.objects.values_list("paper", "value")) == [(liked[0].pk, -1)]


def test_undo_removes_the_rating(client):
    liked, _ = rated_day()
    reader = make_reader("rita@example.com", ["llm-reasoning-and-rl-post-training"])
    path = links(send(YESTERDAY)[reader.email])[(liked[0].title, "more")]
    click(client, path)

    answer = client.post(path, {"action": "undo"}, follow=True)

    assert not Feedback.objects.exists()
    assert "Undone: your rating of this paper is removed." in answer.content.decode()
    assert "Yes, more like this</button>" in answer.content.decode()


# --- tokens ---------------------------------------------------------------------------------


def test_a_forged_or_altered_token_records_nothing(client):
    liked, _ = rated_day()
    reader = make_reader("rita@example.com", ["llm-reasoning-and-rl-post-training"])
    token = make_feedback_tokens(reader.pk, reader.email, [liked[0].pk])[liked[0].pk]
    value, signature = token.split(":")
    other_paper = value.rsplit(".", 1)[0] + f".{liked[1].pk}"
    unsigned_guess = signing.Signer(salt="another purpose").sign(value)

    for bad in (f"{other_paper}:{signature}", f"{value}:forged", unsigned_guess, "1.2.3"):
        answer = client.post(f"/feedback/{bad}/more/", {"action": "save"})
        assert answer.status_code == 400
        assert "This link does not work" in answer.content.decode()
    assert not Feedback.objects.exists()


def test_a_token_works_only_for_its_own_reader_and_paper(client):
    liked, _ = rated_day()
    rita = make_reader("rita@example.com", ["llm-reasoning-and-rl-post-training"])
    sam = make_reader("sam@example.com", ["llm-reasoning-and-rl-post-training"])
    ritas = make_feedback_tokens(rita.pk, rita.email, [liked[0].pk])[liked[0].pk]
    # Sam's id with Rita's address hash and signature: the signature no longer matches.
    value, signature = ritas.split(":")
    as_sam = f"{sam.pk}{value[len(str(rita.pk)) :]}:{signature}"

    assert client.post(f"/feedback/{as_sam}/more/", {"action": "save"}).status_code == 400
    client.post(f"/feedback/{ritas}/more/", {"action": "save"})

    assert list(Feedback.objects.values_list("subscriber", "paper")) == [(rita.pk, liked[0].pk)]


def test_a_link_dies_when_the_address_changes_or_the_reader_is_deleted(client):
    liked, _ = rated_day()
    reader = make_reader("rita@example.com", ["llm-reasoning-and-rl-post-training"])
    token = make_feedback_tokens(reader.pk, reader.email, [liked[0].pk])[liked[0].pk]
    reader.change_email("rita@new.example.com")

    assert client.get(f"/feedback/{token}/more/").status_code == 400
    reader.delete()
    assert client.get(f"/feedback/{token}/more/").status_code == 400


def test_feedback_tokens_use_their_own_salt():
    token = make_feedback_tokens(7, "rita@example.com", [9])[9]

    assert signing.Signer(salt=SALT_FEEDBACK).unsign(token).endswith(".9")


@pytest.mark.parametrize("prefix", ["/", "/papers/"])
def test_feedback_links_are_the_urls_django_resolves_under_any_script_prefix(prefix):
    reader = make_reader("rita@example.com", [])
    token = make_feedback_tokens(reader.pk, reader.email, [9])[9]
    set_script_prefix(prefix)
    try:
        links = messages.feedback_links(reader, [9])[9]
        expected = {
            choice: settings.SITE_URL + reverse("digest:feedback", args=[token, choice])
            for choice in ("more", "less")
        }
    finally:
        set_script_prefix("/")

    assert links == expected
    assert links["more"].endswith(f"{prefix}feedback/{token}/more/")


def test_a_choice_other_than_more_or_less_is_not_found(client):
    liked, _ = rated_day()
    reader = make_reader("rita@example.com", ["llm-reasoning-and-rl-post-training"])
    token = make_feedback_tokens(reader.pk, reader.email, [liked[0].pk])[liked[0].pk]

    assert client.get(f"/feedback/{token}/lots/").status_code == 404


# --- the next digest follows ----------------------------------------------------------------


BOTH = ["llm-reasoning-and-rl-post-training", "vision-language-models"]


def made_up_day(count: int, day, seed: int = 0):
    """`count` made-up reasoning papers and as many vision papers, each in its topic."""
    reasoning = [
        make_paper(title, BOTH[0], abstract=abstract, day=day)
        for title, abstract in made_up("reasoning", count, seed)
    ]
    vision = [
        make_paper(title, BOTH[1], abstract=abstract, day=day)
        for title, abstract in made_up("vision", count, seed)
    ]
    return reasoning, vision


def todays(reader) -> list[int]:
    rows = DeliveryPaper.objects.filter(subscriber=reader, paper__featured_on=DAY)
    return list(rows.order_by("position").values_list("paper_id", flat=True))


def test_after_two_likes_and_two_dislikes_the_next_digest_puts_reasoning_above_vision(client):
    liked, disliked = rated_day()
    rita = make_reader("rita@example.com", BOTH)
    twin = make_reader("twin@example.com", BOTH)
    rate_from_email(client, send(YESTERDAY)[rita.email], liked[:2], disliked[:2])
    reasoning, vision = unseen_day()

    send(TODAY)

    assert todays(twin) == [p.pk for p in vision + reasoning]  # ties: the older id first
    assert set(todays(rita)[:2]) == {p.pk for p in reasoning}
    assert set(todays(rita)[2:]) == {p.pk for p in vision}, "a few ratings leave nothing out"


def test_after_enough_ratings_the_next_digest_leaves_out_papers_like_the_disliked_ones(client):
    liked, disliked = made_up_day(8, DAY - timedelta(days=1))
    rita = make_reader("rita@example.com", BOTH, max_papers=20)
    twin = make_reader("twin@example.com", BOTH, max_papers=20)
    rate_from_email(client, send(YESTERDAY)[rita.email], liked, disliked)
    reasoning, vision = made_up_day(3, DAY, seed=9)

    message = send(TODAY)[rita.email]

    assert sorted(todays(twin)) == sorted(p.pk for p in reasoning + vision)
    assert sorted(todays(rita)) == sorted(p.pk for p in reasoning)
    assert "3 trending papers" in message.body
    assert all(p.title not in message.body for p in vision)


def test_when_the_ratings_leave_out_everything_no_digest_goes_and_the_page_says_why(client):
    liked, disliked = made_up_day(8, DAY - timedelta(days=1))
    rita = make_reader("rita@example.com", BOTH, max_papers=20)
    rate_from_email(client, send(YESTERDAY)[rita.email], liked, disliked)
    made_up_day(3, DAY, seed=9)
    Paper.objects.filter(featured_on=DAY, topic_links__topic__slug=BOTH[0]).delete()

    assert rita.email not in send(TODAY)

    page = client.get(rita.preferences_path()).content.decode()
    assert "Your ratings left out every new paper that matched your topics" in page


def test_the_reason_names_a_liked_paper_when_the_ratings_drove_the_pick(client):
    liked, disliked = made_up_day(8, DAY - timedelta(days=1))
    rita = make_reader("rita@example.com", BOTH, max_papers=20)
    rate_from_email(client, send(YESTERDAY)[rita.email], liked, disliked)
    reasoning, _ = made_up_day(3, DAY, seed=9)

    message = send(TODAY)[rita.email]

    reasons = dict(
        DeliveryPaper.objects.filter(subscriber=rita, paper__featured_on=DAY).values_list(
            "paper_id", "reason"
        )
    )
    liked_titles = {p.title for p in liked}
    for paper in reasoning:
        named = reasons[paper.pk].split("similar to «")[1].split("»")[0].rstrip("…")
        assert any(title.startswith(named) for title in liked_titles), reasons[paper.pk]
    assert "», which you liked" in message.body


def test_with_no_ratings_left_the_digest_is_the_same_as_never_having_rated(client):
    liked, disliked = rated_day()
    rita = make_reader(
        "rita@example.com", ["llm-reasoning-and-rl-post-training", "vision-language-models"]
    )
    twin = make_reader(
        "twin@example.com", ["llm-reasoning-and-rl-post-training", "vision-language-models"]
    )
    rate_from_email(client, send(YESTERDAY)[rita.email], liked, disliked)
    profiles.unrate(rita.pk)
    profiles.fit_profiles()
    unseen_day()

    send(TODAY)

    def todays(reader) -> list[tuple[int, str]]:
        rows = DeliveryPaper.objects.filter(subscriber=reader, paper__featured_on=DAY)
        return list(rows.order_by("position").values_list("paper_id", "reason"))

    assert todays(rita) == todays(twin)
    assert ReaderProfile.objects.get(subscriber=rita).ratings == 0


# --- fitting only what changed ----------------------------------------------------------------


def test_profiles_are_fitted_again_only_after_new_feedback():
    liked, disliked = rated_day()
    rita = make_reader("rita@example.com", ["llm-reasoning-and-rl-post-training"])
    sam = make_reader("sam@example.com", ["llm-reasoning-and-rl-post-training"])
    profiles.rate(rita.pk, liked[0].pk, 1)
    profiles.rate(sam.pk, liked[1].pk, 1)

    assert profiles.fit_profiles() == 2
    assert profiles.fit_profiles() == 0
    profiles.rate(rita.pk, disliked[0].pk, -1, now=timezone.now() + timedelta(seconds=1))
    assert profiles.fit_profiles() == 1
    assert ReaderProfile.objects.get(subscriber=rita).ratings == 2
    assert ReaderProfile.objects.get(subscriber=sam).ratings == 1


def test_a_batch_loads_everyones_taste_in_one_query(django_assert_num_queries):
    liked, _ = rated_day()
    readers = [
        make_reader(f"r{n}@example.com", ["llm-reasoning-and-rl-post-training"]) for n in range(5)
    ]
    for reader in readers:
        profiles.rate(reader.pk, liked[0].pk, 1)
    profiles.fit_profiles()

    with django_assert_num_queries(1):
        tastes = profiles.tastes_for([r.pk for r in readers])

    assert sorted(tastes) == sorted(r.pk for r in readers)
    assert tastes[readers[0].pk].liked[0].title == liked[0].title


def test_the_page_still_answers_when_the_broker_is_down(
    client, monkeypatch, django_capture_on_commit_callbacks
):
    from digest import tasks

    def down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.fit_profiles, "delay", down)
    liked, _ = rated_day()
    reader = make_reader("rita@example.com", ["llm-reasoning-and-rl-post-training"])
    token = make_feedback_tokens(reader.pk, reader.email, [liked[0].pk])[liked[0].pk]

    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(f"/feedback/{token}/more/", {"action": "save"})

    assert answer.status_code == 302
    assert Feedback.objects.filter(subscriber=reader).count() == 1
    assert ReaderProfile.objects.get(subscriber=reader).stale


def test_editors_see_the_ratings_in_admin_but_cannot_change_them(admin_client):
    liked, _ = rated_day()
    reader = make_reader("rita@example.com", ["llm-reasoning-and-rl-post-training"])
    profiles.rate(reader.pk, liked[0].pk, 1)

    page = admin_client.get("/admin/digest/feedback/")

    assert page.status_code == 200
    assert liked[0].title in page.content.decode()
    assert "More like this" in page.content.decode()
    assert admin_client.get("/admin/digest/feedback/add/").status_code == 403

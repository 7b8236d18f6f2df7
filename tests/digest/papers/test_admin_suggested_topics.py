"""Admin shows suggested topics: the recent papers without a topic in groups, each with its
terms and examples, and a link that opens the new-topic form filled in from it. Nothing is
created until the editor saves."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from digest.models import Paper, Topic
from digest.papers.untagged import recent_untagged
from tests.digest.conftest import make_paper
from tests.support import three_subjects

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
SUGGESTIONS = reverse("admin:digest_topic_suggestions")


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def erin(client, django_user_model):
    client.force_login(
        django_user_model.objects.create_superuser("erin", "erin@example.com", "pw-erin-123")
    )
    return client


@pytest.fixture
def untagged_papers() -> list[Paper]:
    """The twelve papers on three subjects, featured over the last twelve days, no topics."""
    return [
        make_paper(title, None, abstract=abstract, day=TODAY - timedelta(days=n))
        for n, (_, title, abstract) in enumerate(three_subjects.numbered())
    ]


def test_the_page_shows_a_suggestion_per_subject_with_terms_and_examples(erin, untagged_papers):
    page = erin.get(SUGGESTIONS)

    body = page.content.decode()
    assert page.status_code == 200
    assert "12 visible papers</a>" in body and "featured in the last 30 days have no topic" in body
    for name in ("Protein Folding", "Speech Synthesis", "Graph Neural Networks"):
        assert f"<h2>{name} " in body
    assert body.count("· 4 papers") == 3
    assert '<span class="term">message passing</span>' in body
    assert "Expressive speech synthesis with prosody tokens" in body
    assert body.count(">Create topic from this</a>") == 3


def test_create_topic_opens_the_new_topic_form_filled_in_from_the_suggestion(erin, untagged_papers):
    [speech] = [s for s in suggestions_on(erin) if s["name"] == "Speech Synthesis"]

    form = FormValues(erin.get(speech["add_url"]).content.decode())

    assert form.values["name"] == "Speech Synthesis"
    assert form.values["slug"] == ""  # the admin's prepopulated slug follows the name as typed
    assert form.values["keywords"].startswith("speech synthesis, ")
    assert form.values["keywords"] == ", ".join(speech["terms"])
    assert form.values["description"].startswith("Papers about speech synthesis, ")
    assert not Topic.objects.filter(name="Speech Synthesis").exists()  # nothing until saved


def test_saving_the_filled_in_form_creates_the_topic_and_tags_its_papers(
    erin, untagged_papers, django_capture_on_commit_callbacks
):
    [speech] = [s for s in suggestions_on(erin) if s["name"] == "Speech Synthesis"]
    form = FormValues(erin.get(speech["add_url"]).content.decode())

    # Saved as it came but for the slug, to the form's own address as a browser does.
    with django_capture_on_commit_callbacks(execute=True):
        response = erin.post(
            speech["add_url"], {**form.values, "slug": "speech-synthesis", "active": "on"}
        )

    assert response.status_code == 302
    topic = Topic.objects.get(slug="speech-synthesis")
    assert topic.keywords == ", ".join(speech["terms"])
    tagged = set(Paper.objects.filter(topic_links__topic=topic).values_list("title", flat=True))
    assert {title for title, _ in three_subjects.SPEECH_SYNTHESIS} <= tagged


def test_feed_text_is_shown_as_text_not_markup(erin, untagged_papers):
    paper = Paper.objects.get(title=three_subjects.SPEECH_SYNTHESIS[0][0])
    paper.title = "Expressive speech synthesis <script>alert('x')</script> with prosody"
    paper.save()

    body = erin.get(SUGGESTIONS).content.decode()

    assert "<script>alert" not in body
    assert "&lt;script&gt;alert" in body


def test_only_visible_recent_papers_without_a_topic_are_grouped(untagged_papers):
    tagged_already()
    make_paper("Hidden by an editor", None, day=TODAY, hidden=True)
    make_paper("Featured long ago", None, day=TODAY - timedelta(days=30))
    make_paper("Featured a month ago today", None, day=TODAY - timedelta(days=29))

    rows = recent_untagged(TODAY)

    titles = [title for _, title, _ in rows]
    assert len(rows) == 13
    assert titles[0] == three_subjects.numbered()[0][1]  # newest first
    assert "Featured a month ago today" in titles
    assert not {"Tagged already", "Hidden by an editor", "Featured long ago"} & set(titles)


def test_with_nothing_untagged_the_page_says_there_is_nothing_to_suggest(erin):
    tagged_already()

    body = erin.get(SUGGESTIONS).content.decode()

    assert (
        "Nothing to suggest: every visible paper featured in the last 30 days has a topic." in body
    )


def test_papers_too_few_to_group_are_still_linked(erin):
    make_paper("A lonely paper", None, day=TODAY)

    body = erin.get(SUGGESTIONS).content.decode()

    assert "too few or too unlike each other to group" in body
    assert "See them in Papers" in body


def test_people_who_are_not_staff_are_sent_to_the_login_page(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("mallory", "m@example.com", "pw"))

    page = client.get(SUGGESTIONS)

    assert page.status_code == 302
    assert page["Location"].startswith(reverse("admin:login"))


def test_staff_without_the_right_to_see_topics_are_refused(client, django_user_model):
    staff = django_user_model.objects.create_user("sam", "sam@example.com", "pw", is_staff=True)
    client.force_login(staff)

    assert client.get(SUGGESTIONS).status_code == 403

    staff.user_permissions.add(Permission.objects.get(codename="view_topic"))
    page = client.get(SUGGESTIONS)
    assert page.status_code == 200
    assert "Create topic from this" not in page.content.decode()  # may look, not add


def test_the_topics_list_the_admin_index_and_the_dashboard_link_to_it(erin):
    for url in (
        reverse("admin:digest_topic_changelist"),
        reverse("admin:index"),
        reverse("admin_dashboard"),
    ):
        assert f'href="{SUGGESTIONS}"' in erin.get(url).content.decode(), url


# --- helpers ----------------------------------------------------------------------------------
def tagged_already() -> None:
    kites = Topic.objects.create(name="Kite aerodynamics", slug="kite-aerodynamics")
    make_paper("Tagged already", kites.slug, day=TODAY)


def suggestions_on(client) -> list[dict]:
    return client.get(SUGGESTIONS).context["suggestions"]


class FormValues(HTMLParser):
    """The values a browser would show in a page's text inputs and text areas, by name."""

    def __init__(self, html: str):
        super().__init__()
        self.values: dict[str, str] = {}
        self._textarea: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "input" and named.get("type") == "text" and named.get("name"):
            self.values[named["name"] or ""] = named.get("value") or ""
        elif tag == "textarea" and named.get("name"):
            self._textarea = named["name"]
            self.values[self._textarea or ""] = ""

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea:
            # HTML drops a text area's first newline, which Django writes after the tag.
            self.values[self._textarea] = self.values[self._textarea].removeprefix("\n")
            self._textarea = None

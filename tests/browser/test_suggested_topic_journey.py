"""An editor turns a suggested topic into a real one, in a real browser: from Topics to
"Suggested topics", "Create topic from this", a new name (the slug follows it as typed),
Save; the papers of the suggestion are then tagged with it.

The screenshot of the suggestions goes to test-artifacts/suggested_topics.png (ignored by git).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from digest.models import Paper, Topic
from tests.browser.chromium import ARTIFACTS, chromium
from tests.digest.conftest import make_paper
from tests.support import three_subjects

# The live server answers from another thread, so the data must really be committed;
# serialized_rollback puts the topics from the data migration back for later tests.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def browser(live_server) -> Iterator[object]:
    with chromium(with_database=True) as browser:
        yield browser


@pytest.fixture
def untagged_papers() -> None:
    today = timezone.localdate()
    for n, (_, title, abstract) in enumerate(three_subjects.numbered()):
        make_paper(title, None, abstract=abstract, day=today - timedelta(days=n))


def test_an_editor_creates_a_topic_from_a_suggestion(
    browser, live_server, untagged_papers, django_user_model
):
    django_user_model.objects.create_superuser("erin", "erin@example.com", "pw-erin-123")
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_server.url + "/admin/digest/topic/")
    page.get_by_label("Username:").fill("erin")
    page.get_by_label("Password:").fill("pw-erin-123")
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("link", name="Suggested topics").click()
    speech = page.locator("section.suggestion", has_text="Speech Synthesis")
    expect(speech.get_by_text("Expressive speech synthesis with prosody tokens")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "suggested_topics.png"), full_page=True)
    speech.get_by_role("link", name="Create topic from this").click()

    assert page.get_by_label("Name:").input_value() == "Speech Synthesis"
    assert page.get_by_label("Keywords:").input_value().startswith("speech synthesis, ")
    name = page.get_by_label("Name:")
    name.fill("")
    name.press_sequentially("Speech synthesis and voices")  # typed, as a person would
    assert page.get_by_label("Slug:").input_value() == "speech-synthesis-and-voices"
    page.get_by_role("button", name="Save", exact=True).click()

    page.get_by_text("was added successfully").wait_for()  # the changelist, once loaded
    page.close()
    topic = Topic.objects.get(slug="speech-synthesis-and-voices")
    assert topic.keywords.startswith("speech synthesis, ")
    tagged = set(Paper.objects.filter(topic_links__topic=topic).values_list("title", flat=True))
    assert {title for title, _ in three_subjects.SPEECH_SYNTHESIS} <= tagged

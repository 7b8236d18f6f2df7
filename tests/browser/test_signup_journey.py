"""A person subscribes, confirms from the email, changes preferences, rates papers from a
digest and leaves, in a real browser: Debian's Chromium driven by Playwright against a
live server.

Screenshots of / at 1280 and 375 px go to test-artifacts/ (ignored by git).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from digest.mailing import dispatch, planning
from digest.models import Feedback, Paper, PaperSnapshot, Topic
from subscriptions.models import Subscriber
from tests.browser.chromium import ARTIFACTS, chromium

# The live server answers from another thread, so the data must really be committed;
# serialized_rollback puts the topics from the data migration back for later tests.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def browser(site: str) -> Iterator[object]:
    """Chromium for one test, started after the database is set up and stopped before it
    is flushed."""
    with chromium(with_database=True) as browser:
        yield browser


@pytest.fixture
def papers() -> list[Paper]:
    today = timezone.localdate()
    made = []
    for i, (title, votes, slugs) in enumerate(
        [
            (
                "Reasoning Agents That Search Before They Answer",
                120,
                ["agents-and-tool-use", "llm-reasoning-and-rl-post-training"],
            ),
            ("Zeroth-Order Fine-Tuning Without Backpropagation", 64, ["zeroth-order-optimization"]),
            ("Dense Retrieval for Long Scientific Documents", 33, ["retrieval-and-rag"]),
            ("A Small Vision-Language Model for Charts", 12, ["vision-language-models"]),
        ]
    ):
        paper = Paper.objects.create(
            title=title,
            featured_on=today,
            upvotes=votes,
            arxiv_id=f"2511.1000{i}",
            sources=["hf-api"],
            authors=["Ada Lovelace", "Alan Turing"],
            abstract="We propose a method and show that it works on several benchmarks. " * 3,
        )
        PaperSnapshot.objects.create(paper=paper, upvotes=votes, taken_at=timezone.now())
        for slug in slugs:
            paper.set_topic(Topic.objects.get(slug=slug))
        made.append(paper)
    Paper.objects.create(
        title="Yesterday's Paper", featured_on=today - timedelta(days=1), upvotes=80
    )
    return made


def outbox_messages(directory: Path) -> list[EmailMessage]:
    return [
        BytesParser(policy=policy.default).parsebytes(p.read_bytes())
        for p in sorted(directory.glob("*.eml"))
    ]


def link_in(message: EmailMessage, site: str, kind: str) -> str:
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    match = re.search(rf"{re.escape(site)}/{kind}/\S+/", text)
    assert match, text
    return match.group(0)


def test_the_daily_papers_page_at_desktop_and_phone_width(browser, site, papers):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(site + "/")

    heading = page.get_by_role("heading", name="Get trending papers in your email inbox!")
    expect(heading).to_be_visible()
    assert page.locator("li.paper h3").first.inner_text().startswith("Reasoning Agents")
    page.screenshot(path=str(ARTIFACTS / "daily-papers-1280.png"), full_page=True)

    page.set_viewport_size({"width": 375, "height": 800})
    # Readable on a phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(ARTIFACTS / "daily-papers-375.png"), full_page=True)
    page.close()

    assert (ARTIFACTS / "daily-papers-1280.png").stat().st_size > 10_000
    assert (ARTIFACTS / "daily-papers-375.png").stat().st_size > 10_000


def test_subscribe_confirm_change_preferences_and_unsubscribe(browser, site, papers, settings):
    context = browser.new_context(timezone_id="Europe/Berlin")
    page = context.new_page()
    page.goto(site + "/")

    # Subscribe with two topics; the browser filled in its time zone.
    page.get_by_label("Email:", exact=True).fill("ria@example.com")
    page.get_by_label("Agents and tool use", exact=True).check()
    page.get_by_label("LLM reasoning and RL post-training", exact=True).check()
    assert page.locator("#id_timezone").input_value() == "Europe/Berlin"
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

    ria = Subscriber.objects.get(email="ria@example.com")
    assert ria.status == "pending"
    assert sorted(t.slug for t in ria.topics.all()) == [
        "agents-and-tool-use",
        "llm-reasoning-and-rl-post-training",
    ]
    assert ria.timezone == "Europe/Berlin"

    # The confirmation email, as written to the outbox.
    [message] = outbox_messages(Path(settings.OUTBOX_DIR))
    assert message["To"] == "ria@example.com"
    # Opening the link only shows a button (scanners open links too); pressing it confirms.
    page.goto(link_in(message, site, "confirm"))
    expect(page.get_by_role("heading", name="Confirm your subscription")).to_be_visible()
    ria.refresh_from_db()
    assert ria.status == "pending"
    page.get_by_role("button", name="Yes, subscribe me").click()
    expect(page.get_by_role("heading", name="You're subscribed")).to_be_visible()
    ria.refresh_from_db()
    assert ria.status == "active" and ria.confirmed_at is not None

    # Preferences: weekly on Friday at 18:00, one more topic.
    page.get_by_role("link", name="Change your preferences").click()
    page.get_by_label("Weekly", exact=True).check()
    page.get_by_label("Weekday:", exact=True).select_option(label="Friday")
    page.get_by_label("Send at:", exact=True).select_option(label="18:00")
    page.get_by_label("Retrieval and RAG", exact=True).check()
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_text("Your preferences are saved.")).to_be_visible()
    ria.refresh_from_db()
    assert (ria.frequency, ria.weekday, ria.send_hour) == ("weekly", 4, 18)
    assert ria.topics.count() == 3

    # Leave with the button on the unsubscribe page.
    page.get_by_role("link", name="unsubscribe").click()
    expect(page.get_by_role("heading", name="Unsubscribe from Daily Papers?")).to_be_visible()
    ria.refresh_from_db()
    assert ria.status == "active"  # opening the page changed nothing
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", name="You're unsubscribed")).to_be_visible()
    ria.refresh_from_db()
    assert ria.status == "unsubscribed"
    context.close()


def test_signing_up_works_without_javascript(browser, site, papers):
    context = browser.new_context(java_script_enabled=False, timezone_id="Asia/Tokyo")
    page = context.new_page()
    page.goto(site + "/")

    page.get_by_label("Email:", exact=True).fill("noscript@example.com")
    page.get_by_label("Retrieval and RAG", exact=True).check()
    page.get_by_role("button", name="Subscribe").click()

    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    # Without JavaScript the time zone stays at its default.
    assert Subscriber.objects.get(email="noscript@example.com").timezone == "UTC"
    context.close()


def test_a_new_reader_rates_papers_on_one_page_without_javascript(browser, site, papers, settings):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(site + "/")
    page.get_by_label("Email:", exact=True).fill("noscript@example.com")
    page.get_by_label("Agents and tool use", exact=True).check()
    page.get_by_label("Retrieval and RAG", exact=True).check()
    page.get_by_role("button", name="Subscribe").click()
    [message] = outbox_messages(Path(settings.OUTBOX_DIR))
    page.goto(link_in(message, site, "confirm"))
    page.get_by_role("button", name="Yes, subscribe me").click()

    # The confirmation offers the page of papers to rate: one per topic in turn.
    page.get_by_role("link", name="Rate a few papers").click()
    expect(page.get_by_role("heading", name="Papers you like")).to_be_visible()
    offered = page.locator("fieldset legend").all_inner_texts()
    assert offered == [
        "Reasoning Agents That Search Before They Answer",
        "Dense Retrieval for Long Scientific Documents",
    ]
    liked = page.get_by_role("group", name="Reasoning Agents That Search Before They Answer")
    liked.get_by_label("More like this").check()
    disliked = page.get_by_role("group", name="Dense Retrieval for Long Scientific Documents")
    disliked.get_by_label("Less like this").check()
    page.get_by_role("button", name="Save my ratings").click()

    expect(page.get_by_text("Saved 2 ratings: your next digest takes them in.")).to_be_visible()
    reader = Subscriber.objects.get(email="noscript@example.com")
    assert sorted(Feedback.objects.filter(subscriber=reader).values_list("value", flat=True)) == [
        -1,
        1,
    ]
    expect(page.get_by_role("heading", name="What your ratings taught us")).to_be_visible()
    context.close()


def test_rating_a_paper_from_the_digest_takes_one_click_and_one_button(
    browser, site, papers, settings
):
    ria = Subscriber.objects.create(
        email="ria@example.com", status="active", confirmed_at=timezone.now(), send_hour=0
    )
    ria.topics.set(Topic.objects.filter(slug__in=["agents-and-tool-use", "retrieval-and-rag"]))
    now = timezone.now()
    dispatch.send_deliveries(planning.plan(now).created, now)
    [message] = outbox_messages(Path(settings.OUTBOX_DIR))
    html_part = message.get_body(("html",))
    assert html_part is not None, "the digest has no HTML part"
    html = html_part.get_content()
    page = browser.new_page()
    page.set_content(html)

    # One click in the email opens the page; it records nothing by itself.
    page.get_by_role("link", name="More like this").first.click()
    expect(page.get_by_role("heading", name="More like this")).to_be_visible()
    expect(page.get_by_text("Reasoning Agents That Search Before They Answer")).to_be_visible()
    assert not Feedback.objects.exists()

    # One button records it, and can be undone.
    page.get_by_role("button", name="Yes, more like this").click()
    expect(page.get_by_text("Saved: more like this.")).to_be_visible()
    assert Feedback.objects.get().value == 1
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_text("Undone: your rating of this paper is removed.")).to_be_visible()
    assert not Feedback.objects.exists()

    # Rated again, it shows on the preferences page, where it can be removed.
    page.get_by_role("button", name="Yes, more like this").click()
    # The saved page also links to the ratings: wait for it, or the click lands on the form's.
    expect(page.get_by_text("Saved: more like this.")).to_be_visible()
    page.get_by_role("link", name="See all your ratings").click()
    ratings = page.locator("#ratings")
    expect(ratings.get_by_text("Reasoning Agents That Search Before They Answer")).to_be_visible()
    ratings.get_by_role("button", name="Remove the rating of Reasoning Agents").click()
    expect(page.get_by_text("That rating is removed.")).to_be_visible()
    assert not Feedback.objects.exists()
    page.close()

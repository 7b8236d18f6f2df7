"""Every page and email against axe-core's WCAG 2.1 AA rules, in Debian's Chromium, in the
light and in the dark colour scheme: the public pages, the signup, preferences (with
follows, ratings and what they taught, a digest and the personal feed's address), the
papers to rate, unsubscribe and feedback pages, a digest as its view-in-browser page and
as a 30-paper email, and the three account emails.

axe-core comes from the npm registry (tests/browser/axe/package-lock.json; scripts/test.sh
runs `npm ci`). Without it the test is skipped on a developer's machine and fails under
CI=true. A failure lists each violation with its rule, the element and, for contrast, the
colours and the ratio.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from digest.mailing import dispatch, messages, planning
from digest.models import Delivery, Feedback, Paper, PaperSnapshot, Topic
from digest.taste import profiles
from subscriptions.models import Subscriber
from tests.browser.chromium import chromium
from tests.subscriptions.helpers import Outbox, link_path
from tests.support import sample_emails

# The live server answers from another thread, so the data must really be committed;
# serialized_rollback puts the topics from the data migration back for later tests.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# Each violation as a plain dict; contrast checks carry the colours and the ratio.
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: tags}, resultTypes: ["violations"],
  });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({
      target: n.target.join(" "),
      summary: n.failureSummary,
      contrast: [...n.any, ...n.all, ...n.none]
        .map((check) => check.data).find((data) => data && data.contrastRatio) || null,
    })),
  }));
}"""


def require_axe() -> None:
    if not AXE.exists():
        reason = f"axe-core is not installed at {AXE} (npm ci --prefix tests/browser/axe)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; scripts/test.sh installs it")
        pytest.skip(reason)


def describe(where: str, violations: list[dict]) -> list[str]:
    lines = []
    for v in violations:
        lines.append(f"{where}: {v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"]:
            contrast = node["contrast"]
            if contrast:
                detail = (
                    f"{contrast['fgColor']} on {contrast['bgColor']} is "
                    f"{contrast['contrastRatio']}:1, needs {contrast['expectedContrastRatio']}"
                )
            else:
                detail = " ".join(str(node["summary"]).split())
            lines.append(f"    {node['target']}: {detail}")
    return lines


@pytest.fixture
def browser(site: str) -> Iterator[object]:
    require_axe()
    with chromium(with_database=True) as browser:
        yield browser


@pytest.fixture
def ria(site) -> Subscriber:
    """A reader with topics, a keyword and follows, a sent digest and one rating."""
    today = timezone.localdate()
    for i, (title, votes, slugs) in enumerate(
        [
            ("Reasoning Agents That Search Before They Answer", 120, ["agents-and-tool-use"]),
            ("Zeroth-Order Fine-Tuning Without Backpropagation", 64, ["zeroth-order-optimization"]),
            ("Dense Retrieval for Long Scientific Documents", 33, ["retrieval-and-rag"]),
        ]
    ):
        paper = Paper.objects.create(
            title=title,
            featured_on=today,
            upvotes=votes,
            arxiv_id=f"2511.2000{i}",
            sources=["hf-api"],
            authors=["Ada Lovelace", "Alan Turing"],
            organization="Example Lab",
            abstract="We propose a method and show that it works on several benchmarks. " * 3,
            editor_note="Read section 3." if i == 0 else "",
        )
        PaperSnapshot.objects.create(paper=paper, upvotes=votes, taken_at=timezone.now())
        for slug in slugs:
            paper.set_topic(Topic.objects.get(slug=slug))
    ria = Subscriber.objects.create(
        email="ria@example.com",
        status="active",
        confirmed_at=timezone.now(),
        send_hour=0,
        keywords="retrieval",
        authors="Ada Lovelace, Grace Hopper",
        organizations="Example Lab",
    )
    ria.topics.set(Topic.objects.filter(slug__in=["agents-and-tool-use", "retrieval-and-rag"]))
    now = timezone.now()
    dispatch.send_deliveries(planning.plan(now).created, now)
    assert Delivery.objects.filter(subscriber=ria, status="sent").exists()
    # One "more" and one "less": the preferences page shows what they taught.
    first, second = Paper.objects.order_by("pk")[:2]
    profiles.rate(ria.pk, first.pk, 1)
    profiles.rate(ria.pk, second.pk, -1)
    profiles.fit_profiles()
    return ria


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_page_or_email_breaks_a_wcag_21_aa_rule(scheme, browser, site, ria, settings):
    delivery = Delivery.objects.get(subscriber=ria, status="sent")
    rated = Feedback.objects.filter(subscriber=ria).values("paper_id")
    paper_id = delivery.items.exclude(paper_id__in=rated).values_list("paper_id", flat=True)[0]
    feedback = messages.feedback_links(ria, [paper_id])[paper_id]["more"]
    # bypass_csp: axe is injected as a script, which a strict Content-Security-Policy
    # would block; what it checks does not depend on the policy.
    context = browser.new_context(color_scheme=scheme, bypass_csp=True)
    page = context.new_page()
    found: list[str] = []
    audited: list[str] = []

    def audit(where: str, open_it: Callable[[], object]) -> None:
        open_it()
        page.add_script_tag(path=str(AXE))
        found.extend(describe(f"{scheme} {where}", page.evaluate(RUN_AXE, WCAG_21_AA)))
        audited.append(where)

    topic = Topic.objects.get(slug="agents-and-tool-use")
    audit("/", lambda: page.goto(site + "/"))
    audit(f"/topics/{topic.slug}/", lambda: page.goto(f"{site}/topics/{topic.slug}/"))
    audit("/subscribe/", lambda: page.goto(site + "/subscribe/"))

    def sign_up() -> None:
        page.goto(site + "/")
        page.get_by_label("Email:", exact=True).fill(f"new-{scheme}@example.com")
        page.get_by_label("Retrieval and RAG", exact=True).check()
        page.get_by_role("button", name="Subscribe").click()
        expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

    audit("check your inbox", sign_up)
    [confirmation] = Outbox(Path(settings.OUTBOX_DIR)).to(f"new-{scheme}@example.com")
    audit("confirmed", lambda: page.goto(site + link_path(confirmation, "confirm")))
    audit("/preferences/", lambda: page.goto(site + "/preferences/"))

    def preferences() -> None:
        page.goto(ria.preferences_url())
        assert page.locator("input.feed-url").input_value() == ria.personal_feed_url()
        expect(page.get_by_text("Grace Hopper — no papers")).to_be_visible()
        expect(page.get_by_role("heading", name="What your ratings taught us")).to_be_visible()

    audit("preferences", preferences)

    def papers_to_rate() -> None:
        page.goto(site + ria.papers_path())
        expect(page.locator("fieldset legend")).to_have_count(1)

    audit("papers you like", papers_to_rate)
    audit("feedback", lambda: page.goto(feedback))

    def feedback_saved() -> None:
        page.goto(feedback)
        page.get_by_role("button", name="Yes, more like this").click()
        expect(page.get_by_text("Saved: more like this.")).to_be_visible()

    audit("feedback, saved", feedback_saved)
    audit("view in browser", lambda: page.goto(messages.view_url(delivery.pk, ria.email)))
    audit("unsubscribe", lambda: page.goto(ria.unsubscribe_url()))

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    emails = {"digest email (30 papers)": sample_emails.digest_email(30)}
    emails |= {f"{name} email": m for name, m in sample_emails.account_emails().items()}
    for where, message in emails.items():
        audit(where, partial(page.set_content, sample_emails.html_of(message)))
    context.close()

    assert len(audited) == 16
    assert not found, f"{len(found)} lines of WCAG 2.1 AA violations:\n" + "\n".join(found)

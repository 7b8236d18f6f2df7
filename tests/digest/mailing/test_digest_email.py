"""The digest email as a person receives it: subject, plain text and HTML with CSS inlined once.

No database: the templates get the context the digest service builds, as a plain dict.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import lxml.html
import pytest

from digest.mailing import rendering
from digest.mailing.rendering import inline_css, render_email

SITE = "https://papers.example.com"
TOKEN = "42.AbCdEf:1vX2yZ:sig-_"
ADDRESS = "Daily Papers Digest, 1 Example Street, Springfield"

ABSTRACT = (
    "Effective information searching is essential for enhancing the reasoning and generation "
    "capabilities of large language models (LLMs). Recent research has explored using "
    "reinforcement learning to improve LLMs' search capabilities by interacting with live "
    "search engines in real-world environments. While these approaches show promising "
    "results, they face two major challenges: uncontrolled document quality and…"
)

# Titles, bylines, reasons and abstracts as the ranking and the feeds produce them.
SAMPLES = [
    (
        "ZeroSearch: Incentivize the Search Capability of LLMs without Searching",
        "Hao Sun, Zile Qiao and 7 more",
        41,
        ["Retrieval and RAG"],
        "Retrieval and RAG · 41 upvotes",
        ABSTRACT,
    ),
    (
        "Absolute Zero: Reinforced Self-play Reasoning with Zero Data",
        "Tsinghua University",
        156,
        ["Zero-shot learning", "LLM reasoning and RL"],
        "Editor's pick · Zero-shot learning · 156 upvotes",
        "Reinforcement learning with verifiable rewards has shown promise in enhancing the "
        "reasoning of large language models by learning directly from outcome-based rewards. "
        "We propose a new paradigm in which a single model learns to propose tasks that "
        "maximize its own learning progress and improves reasoning by solving them, without "
        "relying on any external data…",
    ),
    (
        "Unified Multimodal Chain-of-Thought Reward Model through Reinforcement Fine-Tuning",
        "Yibin Wang, Zhimin Li and 5 more",
        73,
        ["Zero-shot learning"],
        "Zero-shot learning · 73 upvotes",
        "Reward models are central to aligning vision models with human preferences, yet "
        "current ones give direct responses or shallow reasoning, which leads to inaccurate "
        "reward signals. We present the first unified multimodal chain-of-thought reward "
        "model, capable of step-by-step long-chain reasoning for both visual understanding "
        "and generation tasks.",
    ),
    (
        "Dense Passage Retrieval for Long Scientific Documents at Scale",
        "9 authors",
        3,
        ["Retrieval and RAG"],
        "matches “retrieval” · 3 upvotes",
        "Scientific papers are long and their key claims are spread over sections. We split "
        "documents into passages aligned with their structure, train a bi-encoder with hard "
        "negatives mined from citations, and show gains of 7 points nDCG@10 on three "
        "benchmarks while indexing 2M papers on a single GPU.",
    ),
    (
        "A Small Vision-Language Model for Charts & Tables",
        "",
        0,
        [],
        "matches “retrieval” · new",
        "We train a 1B-parameter model on synthetic charts and show it reads values as well "
        "as models ten times larger.",
    ),
    (
        "Scaling Test-Time Compute for Zero-Shot Classification with Small Models",
        "Google DeepMind",
        28,
        ["Zero-shot learning"],
        "Zero-shot learning · 28 upvotes",
        "Small models can match larger ones on zero-shot classification when allowed to "
        "think longer. We study how accuracy scales with samples, verifier quality and "
        "prompt diversity across twelve benchmarks, and give a simple recipe that picks the "
        "compute budget per query from a calibrated estimate of its difficulty…",
    ),
    (
        "RAG Does Not Need a Reranker: Late Interaction Is Enough",
        "Ana Silva, Tom Becker",
        19,
        ["Retrieval and RAG"],
        "Retrieval and RAG · 19 upvotes",
        "We revisit the standard retrieve-then-rerank pipeline and find that a late "
        "interaction retriever with token pruning closes most of the gap to cross-encoder "
        "rerankers at a fraction of the latency.",
    ),
    (
        "CLIP Knows More Than It Says: Probing Zero-Shot Features for Fine-Grained Recognition",
        "Mei Chen, Rahul Iyer and 3 more",
        12,
        ["Zero-shot learning"],
        "Zero-shot learning · 12 upvotes",
        "Zero-shot CLIP accuracy on fine-grained datasets understates what its features "
        "encode. Linear probes trained on a handful of labels recover most of the gap, and "
        "prompt ensembles built from attribute descriptions recover a third of it without "
        "any labels at all.",
    ),
    (
        "Query Rewriting with Small LLMs for Conversational Search",
        "Microsoft Research",
        9,
        ["Retrieval and RAG"],
        "matches “retrieval” · 9 upvotes",
        "Conversational queries depend on earlier turns. A 3B model fine-tuned to rewrite "
        "them into standalone queries improves retrieval recall by 11% on TREC CAsT and "
        "runs in 40 ms on a CPU.",
    ),
    (
        "Benchmarks Leak: Measuring Contamination in Zero-Shot Evaluation of LLMs",
        "14 authors",
        64,
        ["Zero-shot learning", "Evaluation"],
        "Zero-shot learning · 64 upvotes",
        "Zero-shot results are only meaningful when the test data was not seen in training. "
        "We estimate contamination for 40 popular benchmarks with n-gram and embedding "
        "overlap against open pre-training corpora, and show that reported gains shrink by "
        "half on the clean subsets…",
    ),
]


def paper(i: int, **overrides: object) -> dict[str, Any]:
    title, byline, upvotes, topics, reason, abstract = SAMPLES[i % len(SAMPLES)]
    return {
        "title": title,
        "url": f"https://huggingface.co/papers/2505.{4588 + i:05d}",
        "byline": byline,
        "date_label": "May 7, 2025" if i % 4 else "",
        "upvotes": upvotes,
        "topics": topics,
        "reason": reason,
        "abstract": abstract,
        "editor_note": "Worth reading for the curriculum trick in section 3." if i == 1 else "",
        "feedback": {
            choice: f"{SITE}/feedback/{TOKEN}{i}/{choice}/" for choice in ("more", "less")
        },
        **overrides,
    }


def digest_context(count: int = 5, **overrides: object) -> dict[str, Any]:
    """The context digest.mailing.rendering gets from the digest service, `count` papers long."""
    papers = [paper(i) for i in range(count)]
    more = f" and {count - 1} more trending papers" if count > 1 else ""
    return {
        "site_url": SITE,
        "sender_address": ADDRESS,
        "frequency": "daily",
        "period_label": "Thursday, 26 November 2026",
        "date_label": "Nov 26",
        "topic_names": ["Zero-shot learning", "Retrieval and RAG"],
        "keywords": ["retrieval"],
        "follows": [],
        "preheader": f"{papers[0]['title'][:45]}…{more}",
        "papers": papers,
        "view_url": f"{SITE}/digest/{TOKEN}/",
        "preferences_url": f"{SITE}/preferences/{TOKEN}/",
        "unsubscribe_url": f"{SITE}/unsubscribe/{TOKEN}/",
        "subscriber_email": "alice@example.com",
        **overrides,
    }


class Tags(HTMLParser):
    """Every start tag with its attributes, as the mail client's parser sees them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def same_document(html: str) -> str:
    """One spelling per document: lxml writes `'` where Jinja wrote `&#39;`, whitespace
    between tags does not count."""
    canonical = lxml.html.tostring(lxml.html.document_fromstring(html), encoding="unicode")
    return re.sub(r"\s+", " ", canonical).replace("> <", "><").strip()


# Subject


def test_the_subject_counts_the_papers_and_names_the_topics_and_the_day():
    subject = render_email("digest", digest_context(5)).subject

    assert subject == "5 trending papers in Zero-shot learning, Retrieval and RAG — Nov 26"


def test_the_subject_of_a_single_paper_says_paper():
    subject = render_email("digest", digest_context(1)).subject

    assert subject == "1 trending paper in Zero-shot learning, Retrieval and RAG — Nov 26"


def test_a_reader_with_only_keywords_gets_a_subject_with_the_keywords():
    context = digest_context(3, topic_names=[], keywords=["retrieval"])

    assert (
        render_email("digest", context).subject == "3 trending papers matching retrieval — Nov 26"
    )


def test_many_topics_are_cut_to_the_first_two_and_a_count():
    topics = ["Zero-shot learning", "Retrieval and RAG", "Agents", "Robotics", "Speech"]

    subject = render_email("digest", digest_context(5, topic_names=topics)).subject

    assert subject == "5 trending papers in Zero-shot learning, Retrieval and RAG +3 more — Nov 26"


def test_the_subject_is_one_line_even_with_line_breaks_in_the_data():
    context = digest_context(2, topic_names=["Zero-shot\nlearning", "Agents\r\n"])

    subject = render_email("digest", context).subject

    assert "\n" not in subject and "\r" not in subject
    assert subject == "2 trending papers in Zero-shot learning, Agents — Nov 26"


# Escaping

SCRIPT = "<script>alert('x')</script>"


def test_a_script_in_the_feed_shows_as_text_in_both_parts_and_never_runs():
    evil = paper(
        0,
        title=f"Attention {SCRIPT} & more",
        abstract=f"We show {SCRIPT} is text.",
        byline=f"Eve {SCRIPT}",
        reason=f"Agents {SCRIPT} · 3 upvotes",
        editor_note=f"Note {SCRIPT}",
        topics=[f"Topic {SCRIPT}"],
    )
    context = digest_context(
        1, papers=[evil], topic_names=[f"T {SCRIPT}"], keywords=[f"k {SCRIPT}"]
    )

    rendered = render_email("digest", context)

    assert "<script" not in rendered.html.lower()
    assert "Attention &lt;script&gt;alert(" in rendered.html
    assert "We show &lt;script&gt;alert(" in rendered.html
    assert "&amp; more" in rendered.html
    assert not [tag for tag, _ in Tags(rendered.html).tags if tag == "script"]
    assert f"Attention {SCRIPT} & more" in rendered.text
    assert f"We show {SCRIPT} is text." in rendered.text


# Links


def test_every_link_in_the_html_is_absolute_https():
    html = render_email("digest", digest_context(10)).html
    tags = Tags(html)

    hrefs = [attrs.get("href") for attrs in tags.all("a")]
    assert len(hrefs) >= 10 + 4  # the papers, view in browser, preferences, unsubscribe, site
    assert all(href and href.startswith("https://") for href in hrefs), hrefs
    assert all((attrs.get("src") or "https://").startswith("https://") for _, attrs in tags.tags)
    assert "{{" not in html and "%7B" not in html and "%20" not in html


def test_each_paper_title_links_to_its_page():
    context = digest_context(5)
    html = render_email("digest", context).html

    for p in context["papers"]:
        assert f'href="{p["url"]}"' in html


@pytest.mark.parametrize("link", ["view_url", "preferences_url", "unsubscribe_url"])
def test_the_view_preferences_and_unsubscribe_links_are_in_both_parts(link):
    context = digest_context(3)
    rendered = render_email("digest", context)

    assert f'href="{context[link]}"' in rendered.html
    assert re.search(rf"^{re.escape(context[link])}$", rendered.text, re.MULTILINE)


def test_the_postal_address_and_the_reason_for_the_email_are_in_both_parts():
    rendered = render_email("digest", digest_context(3))
    why = (
        "You get this because you subscribed to the daily digest for Zero-shot learning, "
        "Retrieval and RAG, plus papers matching “retrieval”, as alice@example.com."
    )

    assert ADDRESS in rendered.html and ADDRESS in rendered.text
    assert why in rendered.html
    assert why in " ".join(rendered.text.split())


@pytest.mark.parametrize(
    ("topic_names", "keywords", "why"),
    [
        (["Agents"], [], "the daily digest for Agents, as alice@example.com."),
        (
            [],
            ["retrieval", "RAG"],
            "the daily digest of papers matching “retrieval”, “RAG”, as alice@example.com.",
        ),
        ([], [], "the daily digest of trending papers, as alice@example.com."),
    ],
)
def test_the_footer_says_which_topics_and_keywords_the_email_is_for(topic_names, keywords, why):
    rendered = render_email("digest", digest_context(2, topic_names=topic_names, keywords=keywords))

    assert f"You get this because you subscribed to {why}" in rendered.html
    assert f"You get this because you subscribed to {why}" in " ".join(rendered.text.split())


def test_the_footer_names_whom_the_reader_follows_after_their_topics():
    context = digest_context(2, topic_names=["Agents"], keywords=[], follows=["Yann LeCun"])
    rendered = render_email("digest", context)

    why = "the daily digest for Agents, and papers by Yann LeCun, as alice@example.com."
    assert f"You get this because you subscribed to {why}" in rendered.html
    assert f"You get this because you subscribed to {why}" in " ".join(rendered.text.split())


def test_a_reader_who_only_follows_people_gets_a_subject_with_their_names():
    context = digest_context(2, topic_names=[], keywords=[], follows=["Yann LeCun", "Meta AI"])

    assert render_email("digest", context).subject == (
        "2 trending papers by Yann LeCun, Meta AI — Nov 26"
    )


def test_a_weekly_digest_is_headed_by_its_week():
    context = digest_context(
        4, frequency="weekly", period_label="the week of 23 November 2026", date_label="Nov 23"
    )

    rendered = render_email("digest", context)

    assert "<h1" in rendered.html and ">The week of 23 November 2026</h1>" in rendered.html
    assert "WEEKLY DIGEST\nThe week of 23 November 2026\n" in rendered.text


# The plain-text part


def test_the_text_part_numbers_the_papers_with_the_url_on_its_own_line():
    context = digest_context(12)
    text = render_email("digest", context).text

    assert "1.  ZeroSearch: Incentivize the Search Capability of LLMs without Searching" in text
    assert re.search(r"^10\. ", text, re.MULTILINE)
    for p in context["papers"]:
        assert re.search(rf"^    {re.escape(p['url'])}$", text, re.MULTILINE)
    assert "    Hao Sun, Zile Qiao and 7 more · 41 upvotes\n" in text  # this one has no date
    assert "    Tsinghua University · May 7, 2025 · 156 upvotes" in text
    assert "    Why: Editor's pick · Zero-shot learning · 156 upvotes" in text
    assert (
        "    Editor\N{RIGHT SINGLE QUOTATION MARK}s note: Worth reading for the curriculum trick"
        in text
    )
    assert max(len(line) for line in text.splitlines()) <= 80


def test_the_html_shows_byline_date_upvotes_topics_reason_abstract_and_note():
    html = render_email("digest", digest_context(2)).html

    assert "Tsinghua University · May 7, 2025 · 156 upvotes" in html
    tags = re.findall(r'<span class="tag"[^>]*>([^<]*)</span>', html)
    assert tags == ["Retrieval and RAG", "Zero-shot learning", "LLM reasoning and RL"]
    assert "Editor&#39;s pick · Zero-shot learning · 156 upvotes" in html
    assert "without relying on any external data…" in html
    assert "Worth reading for the curriculum trick in section 3." in html


# The HTML as mail clients need it


def test_thirty_long_papers_stay_well_under_gmails_102_kb_clip():
    long_title = "A Very Long Title About Scaling Retrieval-Augmented Reasoning Agents " * 2
    context = digest_context(30)
    worst: dict[str, object] = {
        "title": long_title.strip(),
        "abstract": ABSTRACT,
        "byline": "Hao Sun, Zile Qiao and 7 more",
        "date_label": "May 7, 2025",
        "topics": ["Zero-shot learning", "Retrieval and RAG", "LLM reasoning and RL"],
        "reason": "Editor's pick · Zero-shot learning · matches “retrieval” · 156 upvotes",
        "editor_note": "A clear write-up with code and data; the ablations in section 4 are "
        "the part to read.",
    }
    # Feedback links as long as real ones: a six-digit reader, a signature, a full host.
    token = "482113.9f86d081884c7d65.{}:Xq3vJ8kM2pL5nR7tW0yB4cD6fH9"
    worst["feedback"] = {
        c: f"https://papers.example.org/feedback/{token}/{c}/" for c in ("more", "less")
    }
    context["papers"] = [paper(i, **worst) for i in range(30)]

    size = len(render_email("digest", context).html.encode())

    assert size < 102 * 1024
    # About 2.5 KB a paper, of which 0.5 KB are its two feedback links.
    assert size < 85 * 1024, f"{size} bytes: keep the per-paper markup lean"


def test_after_inlining_only_media_queries_stay_in_the_style_block():
    html = render_email("digest", digest_context(5)).html

    head = html[: html.index("<body")]
    styles = re.findall(r"<style[^>]*>(.*?)</style>", html, re.DOTALL)
    assert styles and all(style in head for style in styles)  # Gmail reads <style> in <head> only
    for style in styles:
        assert re.fullmatch(r"(\s*@media[^{]*\{(?:[^{}]*\{[^{}]*\})*\s*\})+\s*", style), style
    assert "@media only screen and (max-width: 620px)" in html
    assert "@media (prefers-color-scheme: dark)" in html
    assert re.search(r'<td class="paper" style="[^"]*padding:22px 32px', html)


def test_inlining_the_template_once_equals_inlining_each_message():
    context = digest_context(7)
    context["papers"][2]["title"] = f"Q&A over {SCRIPT} “quotes”"
    once = render_email("digest", context)
    context["subject"] = once.subject
    plain = rendering.Environment(
        loader=rendering.FileSystemLoader(str(rendering._templates_dir())),
        autoescape=True,
        undefined=rendering.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    plain.globals["shared"] = rendering.shared
    source = rendering.InliningLoader(rendering._templates_dir()).files.get_source(
        plain, "emails/digest.html"
    )[0]
    expanded = rendering.InliningLoader(rendering._templates_dir())._expand(plain, source, [], 0)
    per_message = inline_css(plain.from_string(expanded).render(context))

    assert same_document(once.html) == same_document(per_message)


def test_layout_tables_are_presentation_tables_about_600_px_wide():
    tags = Tags(render_email("digest", digest_context(3)).html)

    tables = tags.all("table")
    assert tables and all(t.get("role") == "presentation" for t in tables)
    assert {t.get("width") for t in tables} == {"100%", "600"}


def test_the_html_declares_light_and_dark_color_schemes():
    tags = Tags(render_email("digest", digest_context(3)).html)

    metas = {m.get("name"): m.get("content") for m in tags.all("meta") if m.get("name")}
    assert metas["color-scheme"] == "light dark"
    assert metas["supported-color-schemes"] == "light dark"


def test_a_hidden_preheader_comes_first_and_is_padded():
    context = digest_context(5)
    html = render_email("digest", context).html

    body = html[html.index("<body") :]
    match = re.search(r'<div class="preheader" style="([^"]*)">(.*?)</div>', body, re.DOTALL)
    assert match and "display:none" in match.group(1)
    assert match.group(2).startswith(context["preheader"])
    assert len(match.group(2)) > len(context["preheader"]) + 100
    assert body.index("preheader") < body.index("View in browser")


def test_images_if_any_have_alt_text():
    tags = Tags(render_email("digest", digest_context(5)).html)

    assert all(img.get("alt") is not None for img in tags.all("img"))


def test_the_other_emails_still_render_with_the_shared_footer():
    confirm = render_email(
        "confirm",
        {
            "confirm_url": f"{SITE}/confirm/x/",
            "topics": ["Agents"],
            "frequency": "daily",
            "valid_days": 7,
            "site_url": SITE,
            "sender_address": ADDRESS,
        },
    )

    assert ADDRESS in confirm.html and f'href="{SITE}"' in confirm.html

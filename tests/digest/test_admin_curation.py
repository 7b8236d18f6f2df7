"""Editors curate papers and topics in the admin."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse

from digest.models import Paper, PaperTopic, Topic

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(client, django_user_model):
    user = django_user_model.objects.create_superuser("erin", "erin@example.com", "pw-erin-123")
    client.force_login(user)
    return client


@pytest.fixture
def papers(seed_path):
    from django.core.management import call_command

    call_command("ingest", str(seed_path), stdout=io.StringIO())
    return Paper.objects.all()


def test_the_paper_list_shows_titles_upvotes_trending_and_topics(editor, papers):
    page = editor.get(reverse("admin:digest_paper_changelist"))

    body = page.content.decode()
    assert page.status_code == 200
    assert "ZeroSearch" in body
    assert "trending" in body.lower()
    assert "Zero-shot learning" in body


@pytest.mark.parametrize(
    "query",
    [
        "q=ZeroSearch",
        "q=Garosi",
        "source=hf-page",
        "hidden__exact=0",
        "pinned__exact=1",
        "featured_on__gte=2025-11-20",
    ],
)
def test_the_paper_list_searches_and_filters_without_errors(editor, papers, query):
    page = editor.get(reverse("admin:digest_paper_changelist") + "?" + query)

    assert page.status_code == 200


def test_filtering_by_topic_and_source(editor, papers):
    topic = Topic.objects.get(slug="zeroth-order-optimization")
    url = reverse("admin:digest_paper_changelist")

    by_topic = editor.get(f"{url}?topics__id__exact={topic.pk}").content.decode()
    by_source = editor.get(f"{url}?source=arxiv-rss").content.decode()

    assert "DeepZero" in by_topic and "Adaptive Confidence Smoothing" not in by_topic
    assert "0 papers" in by_source or "DeepZero" not in by_source


def test_hide_and_pin_actions(editor, papers):
    paper = Paper.objects.get(title__startswith="ZeroSearch")
    url = reverse("admin:digest_paper_changelist")

    editor.post(url, {"action": "hide", "_selected_action": [paper.pk]})
    editor.post(url, {"action": "pin", "_selected_action": [paper.pk]})

    paper.refresh_from_db()
    assert paper.hidden and paper.pinned


def test_the_change_page_shows_snapshots_and_topic_assignments(editor, papers):
    paper = Paper.objects.get(title__startswith="ZeroSearch")

    page = editor.get(reverse("admin:digest_paper_change", args=[paper.pk]))

    body = page.content.decode()
    assert page.status_code == 200
    assert "Upvote history" in body
    assert "ZeroSearch" in body


def test_an_editor_removing_a_topic_inline_is_remembered(editor, papers):
    paper = Paper.objects.get(title__startswith="LLM-guided Hierarchical Retrieval")
    link = paper.topic_links.get(topic__slug="retrieval-and-rag")
    url = reverse("admin:digest_paper_change", args=[paper.pk])
    form = editor.get(url).context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and not isinstance(value, list | dict)
    }
    data.update(
        {
            "authors": "[]" if not paper.authors else str(paper.authors).replace("'", '"'),
            "sources": '["hf-page"]',
            "removed_topics": [],
            "featured_on": str(paper.featured_on),
            "published_on": str(paper.published_on or ""),
            "topic_links-TOTAL_FORMS": "1",
            "topic_links-INITIAL_FORMS": "1",
            "topic_links-0-id": link.pk,
            "topic_links-0-paper": paper.pk,
            "topic_links-0-topic": link.topic_id,
            "topic_links-0-score": link.score,
            "topic_links-0-DELETE": "on",
            "snapshots-TOTAL_FORMS": "0",
            "snapshots-INITIAL_FORMS": "0",
        }
    )
    for other in paper.topic_links.exclude(pk=link.pk):
        other.delete()

    response = editor.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    paper.refresh_from_db()
    assert not paper.topic_links.filter(topic__slug="retrieval-and-rag").exists()
    assert paper.removed_topics.filter(slug="retrieval-and-rag").exists()


def test_editing_a_topics_keywords_re_tags_papers(
    editor, papers, django_capture_on_commit_callbacks
):
    topic = Topic.objects.get(slug="agents-and-tool-use")
    url = reverse("admin:digest_topic_change", args=[topic.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = editor.post(
            url,
            {
                "name": topic.name,
                "slug": topic.slug,
                "description": topic.description,
                "keywords": "softmax",
                "active": "on",
            },
        )

    assert response.status_code == 302
    tagged = Paper.objects.filter(topic_links__topic=topic, topic_links__source="auto")
    assert tagged.filter(title="The Two-Pass Softmax Algorithm").exists()


def test_the_topic_list_shows_paper_counts(editor, papers):
    page = editor.get(reverse("admin:digest_topic_changelist"))

    assert page.status_code == 200
    assert "Zeroth-order optimization" in page.content.decode()


def test_an_editor_assignment_is_marked_as_editor(papers):
    paper = Paper.objects.get(title__startswith="ZeroSearch")
    topic = Topic.objects.get(slug="agents-and-tool-use")

    paper.set_topic(topic)

    assert paper.topic_links.get(topic=topic).source == PaperTopic.Source.EDITOR


def test_editors_hide_papers_and_cannot_delete_them(editor, papers):
    paper = Paper.objects.earliest("pk")

    page = editor.get(reverse("admin:digest_paper_delete", args=[paper.pk]))
    listing = editor.get(reverse("admin:digest_paper_changelist"))

    assert page.status_code == 403
    actions = [name for name, _ in listing.context["action_form"].fields["action"].choices]
    assert "hide" in actions and "delete_selected" not in actions
    assert Paper.objects.filter(pk=paper.pk).exists()

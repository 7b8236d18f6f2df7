"""Papers that fall through: no topic at all, so no reader's topics ever bring them (only a
keyword or a followed author can). Editors see how many there are and act on them.

- `no_topic()`: the condition, a NOT EXISTS subquery on PaperTopic (auto and editor rows
  alike), which the database answers from the (paper, topic) unique index.
- Last week's share of them, for the sending dashboard: `UntaggedShare` is plain numbers
  (tested without a database), `load_untagged_share` one aggregate query.
- The recent ones, for suggested topics (`digest/papers/suggestions.py` clusters them), and the
  admin page that lists the suggestions with a link that opens a pre-filled new topic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from django.contrib.admin import ModelAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef
from django.db.models.expressions import Combinable, NegatedExpression
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from digest.models import Paper, PaperTopic
from digest.papers.suggestions import Suggestion, suggest_topics

# The Papers admin filter (PaperAdmin's list_filter) and its "no topic" value.
FILTER_PARAMETER = "has_topic"
NO_TOPIC = "no"
WITH_TOPIC = "yes"

WEEK_DAYS = 7
# Suggestions are drawn from the untagged visible papers of this many days, newest first.
RECENT_DAYS = 30
RECENT_LIMIT = 2_000


def no_topic() -> NegatedExpression[Combinable]:
    """True for a paper without any PaperTopic row, automatic or an editor's."""
    return ~Exists(PaperTopic.objects.filter(paper=OuterRef("pk")))


def days_ending(today: date, count: int) -> tuple[date, date]:
    """The first and last of `count` days ending with today, as the dashboard counts days."""
    return today - timedelta(days=count - 1), today


def papers_changelist_url(**params: str) -> str:
    return f"{reverse('admin:digest_paper_changelist')}?{urlencode(params)}"


def untagged_papers_url(start: date, end: date) -> str:
    """The Papers admin showing the visible papers without a topic featured start..end."""
    return papers_changelist_url(
        **{
            FILTER_PARAMETER: NO_TOPIC,
            "hidden__exact": "0",
            # The featured-date filter's own parameters: it shows the range as applied.
            "featured_on__gte": start.isoformat(),
            "featured_on__lt": (end + timedelta(days=1)).isoformat(),
        }
    )


# --- last week's share, for the dashboard ------------------------------------------------------
@dataclass(frozen=True)
class UntaggedShare:
    """Visible papers featured from `start` to `end`, and how many of them have no topic."""

    start: date
    end: date
    papers: int
    untagged: int

    @property
    def share(self) -> float | None:
        """None when no paper was featured: there is no share to show."""
        if self.papers <= 0:
            return None
        return self.untagged / self.papers

    @property
    def percent_text(self) -> str:
        if self.share is None:
            return "\N{EN DASH}"
        return f"{self.share * 100:.1f} %"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def changelist_url(self) -> str:
        return untagged_papers_url(self.start, self.end)


def load_untagged_share(today: date) -> UntaggedShare:
    """Last week's visible papers and those without a topic, in one aggregate query.

    Visible only: hidden papers are never sent, so whether they have a topic matters to
    nobody.
    """
    start, end = days_ending(today, WEEK_DAYS)
    counts = Paper.objects.filter(hidden=False, featured_on__range=(start, end)).aggregate(
        papers=Count("pk"), untagged=Count("pk", filter=no_topic())
    )
    return UntaggedShare(start, end, counts["papers"], counts["untagged"])


# --- suggested topics -------------------------------------------------------------------------
def recent_untagged(today: date) -> list[tuple[int, str, str]]:
    """(id, title, abstract) of the visible papers without a topic featured in the last
    RECENT_DAYS days, newest first, at most RECENT_LIMIT."""
    start, end = days_ending(today, RECENT_DAYS)
    rows = (
        Paper.objects.filter(no_topic(), hidden=False, featured_on__range=(start, end))
        .order_by("-featured_on", "-pk")
        .values_list("pk", "title", "abstract")[:RECENT_LIMIT]
    )
    return list(rows)


def add_topic_url(suggestion: Suggestion) -> str:
    """The new-topic form filled in from a suggestion; the slug follows the name as the
    editor edits it (the admin's prepopulated field), and nothing exists until they save."""
    query = urlencode(
        {
            "name": suggestion.name,
            "description": suggestion.description,
            "keywords": suggestion.keywords,
        }
    )
    return f"{reverse('admin:digest_topic_add')}?{query}"


def suggestion_rows(suggestions: list[Suggestion]) -> list[dict]:
    """What the page shows of each suggestion, URLs built, before the template runs."""
    return [
        {
            "name": s.name,
            "count": s.count,
            "terms": s.terms,
            "description": s.description,
            "examples": [
                (title, reverse("admin:digest_paper_change", args=[paper_id]))
                for paper_id, title in zip(s.paper_ids, s.examples, strict=False)
            ],
            "more": s.count - len(s.examples),
            "add_url": add_topic_url(s),
        }
        for s in suggestions
    ]


def suggested_topics(request: HttpRequest, model_admin: ModelAdmin) -> TemplateResponse:
    """The admin page of suggestions (TopicAdmin's URL, so staff only)."""
    if not model_admin.has_view_or_change_permission(request):
        raise PermissionDenied
    today = timezone.localdate()
    papers = recent_untagged(today)
    start, end = days_ending(today, RECENT_DAYS)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Suggested topics",
        "opts": model_admin.model._meta,
        "days": RECENT_DAYS,
        "limit": RECENT_LIMIT,
        "untagged": len(papers),
        "untagged_url": untagged_papers_url(start, end),
        "suggestions": suggestion_rows(suggest_topics(papers)),
        "can_add": model_admin.has_add_permission(request),
    }
    return TemplateResponse(request, "admin/digest/suggestions.html", context)

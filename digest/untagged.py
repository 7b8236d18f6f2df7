"""Papers that fall through: no topic at all, so no reader's topics ever bring them (only a
keyword or a followed author can). Editors see how many there are and act on them.

- `no_topic()`: the condition, a NOT EXISTS subquery on PaperTopic (auto and editor rows
  alike), which the database answers from the (paper, topic) unique index.
- Last week's share of them, for the sending dashboard: `UntaggedShare` is plain numbers
  (tested without a database), `load_untagged_share` one aggregate query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from django.db.models import Count, Exists, OuterRef
from django.urls import reverse

from digest.models import Paper, PaperTopic

# The Papers admin filter (PaperAdmin's list_filter) and its "no topic" value.
FILTER_PARAMETER = "has_topic"
NO_TOPIC = "no"
WITH_TOPIC = "yes"

WEEK_DAYS = 7


def no_topic() -> Exists:
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

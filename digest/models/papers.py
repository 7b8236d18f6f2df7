"""Papers, their upvote history, topics and topic assignments."""

from __future__ import annotations

from urllib.parse import urlencode

from django.db import models
from django.db.models import Q
from django.utils import timezone

# Source names, one per feed format; Paper.sources lists the ones that saw a paper.
HF_PAGE = "hf-page"
HF_JSON = "hf-json"
ARXIV_ATOM = "arxiv-atom"
ARXIV_RSS = "arxiv-rss"
FORMATS = (HF_PAGE, HF_JSON, ARXIV_ATOM, ARXIV_RSS)
HF_SOURCES = frozenset({HF_PAGE, HF_JSON})


class Paper(models.Model):
    """One research paper, whatever feed or day it came from.

    A paper is matched by its arXiv base id when one is known, otherwise by its
    normalized title (`title_key`); versions and sources all land on the same row.
    """

    arxiv_id = models.CharField(
        "arXiv id",
        max_length=64,
        null=True,
        blank=True,
        unique=True,
        help_text="Without version; old-style ids such as cs/0101001 are kept whole.",
    )
    arxiv_version = models.PositiveIntegerField(null=True, blank=True)
    title = models.TextField()
    title_key = models.CharField(max_length=255, db_index=True, editable=False)
    abstract = models.TextField(blank=True)
    authors = models.JSONField(default=list, blank=True)
    author_count = models.PositiveIntegerField(null=True, blank=True)
    organization = models.CharField(max_length=255, blank=True)
    published_on = models.DateField(null=True, blank=True)
    featured_on = models.DateField()
    upvotes = models.PositiveIntegerField(default=0)
    upvotes_observed_at = models.DateTimeField(null=True, blank=True, editable=False)
    num_comments = models.PositiveIntegerField(default=0)
    github_repo = models.URLField(max_length=500, blank=True)
    github_stars = models.PositiveIntegerField(null=True, blank=True)
    project_page = models.URLField(max_length=500, blank=True)
    thumbnail = models.URLField(max_length=500, blank=True)
    sources = models.JSONField(default=list, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    hidden = models.BooleanField(default=False, help_text="Hidden papers are never sent.")
    pinned = models.BooleanField(default=False, help_text="Pinned papers lead their topics.")
    editor_note = models.TextField(blank=True)

    topics: models.ManyToManyField[Topic, PaperTopic] = models.ManyToManyField(
        "Topic", through="PaperTopic", related_name="papers", blank=True
    )
    removed_topics: models.ManyToManyField[Topic, models.Model] = models.ManyToManyField(
        "Topic",
        related_name="+",
        blank=True,
        help_text="Topics an editor took off this paper: re-tagging never adds them back.",
    )

    class Meta:
        ordering = ["-featured_on", "-upvotes"]
        indexes = [models.Index(fields=["featured_on", "hidden"], name="paper_featured_visible")]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="paper_title_not_empty"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def listed_on_hf(self) -> bool:
        return bool(HF_SOURCES.intersection(self.sources))

    @property
    def url(self) -> str:
        """The page a reader should land on: HF's paper page when HF listed it."""
        if self.arxiv_id and self.listed_on_hf:
            return f"https://huggingface.co/papers/{self.arxiv_id}"
        if self.arxiv_id:
            return f"https://arxiv.org/abs/{self.arxiv_id}"
        if self.project_page or self.github_repo:
            return self.project_page or self.github_repo
        # No id yet (the pasted page has none): a search that finds it, never a dead link.
        if self.listed_on_hf:
            return f"https://huggingface.co/papers?{urlencode({'q': self.title})}"
        query = urlencode({"query": self.title, "searchtype": "title"})
        return f"https://arxiv.org/search/?{query}"

    @property
    def byline(self) -> str:
        """Authors or organization, the way the Daily Papers page shows them."""
        if self.authors:
            shown = ", ".join(self.authors[:3])
            more = len(self.authors) - 3
            return f"{shown} and {more} more" if more > 0 else shown
        if self.organization:
            return self.organization
        if self.author_count:
            return f"{self.author_count} author{'s' if self.author_count != 1 else ''}"
        return ""

    def set_topic(self, topic: Topic, score: float = 1.0) -> PaperTopic:
        """An editor's assignment: it survives every automatic re-tagging."""
        self.removed_topics.remove(topic)
        assignment, _ = PaperTopic.objects.update_or_create(
            paper=self,
            topic=topic,
            defaults={"source": PaperTopic.Source.EDITOR, "score": score},
        )
        return assignment

    def remove_topic(self, topic: Topic) -> None:
        """An editor's removal: remembered so that re-tagging never adds the topic back."""
        PaperTopic.objects.filter(paper=self, topic=topic).delete()
        self.removed_topics.add(topic)


class PaperSnapshot(models.Model):
    """An observed upvote count: one row per change, the history behind trending velocity."""

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="snapshots")
    taken_at = models.DateTimeField(default=timezone.now)
    upvotes = models.PositiveIntegerField()

    class Meta:
        ordering = ["taken_at"]
        indexes = [models.Index(fields=["paper", "taken_at"], name="snapshot_paper_time")]

    def __str__(self) -> str:
        return f"{self.upvotes} upvotes at {self.taken_at:%Y-%m-%d %H:%M}"


class Topic(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(
        blank=True, help_text="A few sentences in the field's own words; used for tagging."
    )
    keywords = models.TextField(
        blank=True,
        help_text=(
            "Comma-separated words or phrases; a whole-word match is evidence for the topic "
            "(on its own for a topic without learned weights)."
        ),
    )
    active = models.BooleanField(default=True)
    weights = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text="A classifier fitted on labelled papers (manage.py fit_topics); empty: "
        "the topic is tagged by its keywords and description alone.",
    )
    former_slugs = models.CharField(
        max_length=255,
        blank=True,
        help_text="Comma-separated slugs it had before: their pages and feeds redirect here.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def keyword_list(self) -> list[str]:
        return [k.strip() for k in self.keywords.split(",") if k.strip()]

    @property
    def former_slug_list(self) -> list[str]:
        return [s.strip() for s in self.former_slugs.split(",") if s.strip()]


class PaperTopic(models.Model):
    class Source(models.TextChoices):
        AUTO = "auto", "Automatic"
        EDITOR = "editor", "Editor"

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="topic_links")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="paper_links")
    score = models.FloatField(default=1.0, help_text="How strongly the paper fits, 0 to 1.")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.EDITOR)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["paper", "topic"], name="papertopic_unique"),
        ]
        indexes = [models.Index(fields=["topic", "paper"], name="papertopic_topic_paper")]

    def __str__(self) -> str:
        return f"{self.topic} ({self.get_source_display().lower()}, {self.score:.2f})"

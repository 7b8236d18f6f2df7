"""Papers, their upvote history, topics and topic assignments."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from digest.ingestion.records import HF_SOURCES


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

    topics = models.ManyToManyField(
        "Topic", through="PaperTopic", related_name="papers", blank=True
    )
    removed_topics = models.ManyToManyField(
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

    def trending_score(self, now: datetime | None = None) -> float:
        """This paper's trending score; uses prefetched snapshots when present."""
        from digest.ranking import trending_score

        history = [(s.taken_at, s.upvotes) for s in self.snapshots.all()]
        return trending_score(
            upvotes=self.upvotes,
            featured_on=self.featured_on,
            now=now or timezone.now(),
            history=history,
        )

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


class Delivery(models.Model):
    """One subscriber's digest for one period: planned, sent, failed or skipped.

    The unique (subscriber, period) constraint is what makes planning twice harmless, and
    the status moves only by compare-and-swap updates (queued -> sending -> sent), so a
    sent digest is never sent again. The papers, in order with their reasons, are stored
    with it: the same email can be built again from this row (view in browser, retries).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    subscriber = models.ForeignKey(
        "subscriptions.Subscriber", on_delete=models.CASCADE, related_name="deliveries"
    )
    period = models.CharField(max_length=20, help_text="daily:YYYY-MM-DD or weekly:YYYY-Www")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    window_start = models.DateField(help_text="First featured date the digest covers.")
    window_end = models.DateField(help_text="Last featured date the digest covers.")
    papers = models.ManyToManyField(Paper, through="DeliveryPaper", related_name="deliveries")
    subject = models.CharField(max_length=255, blank=True)
    message_id = models.CharField(max_length=255, blank=True, db_index=True)
    skipped_reason = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True, help_text="While sending.")
    sent_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(
        null=True, blank=True, help_text="When a send task for it was last queued."
    )
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When a transient failure may be tried again."
    )
    # What the provider reported back through its webhook (first time each happened).
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "period"], name="delivery_one_per_subscriber_period"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "sending", "sent", "failed", "skipped"]),
                name="delivery_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["status", "lease_until"], name="delivery_status_lease")]

    def __str__(self) -> str:
        return f"{self.period} for subscriber {self.subscriber_id} ({self.status})"

    @property
    def frequency(self) -> str:
        return self.period.partition(":")[0]

    def view_path(self) -> str:
        """The "view in browser" page of this digest (signed for its reader's address, and
        for VIEW_IN_BROWSER_MAX_AGE: only its reader has it, and not for ever)."""
        from digest.digests import view_token

        return reverse("digest:view", args=[view_token(self.pk, self.subscriber.email)])


class DeliveryPaper(models.Model):
    """A paper in a digest, at its place, with the reason it was picked.

    The subscriber is repeated here so that the database itself refuses to send one
    person the same paper twice (a paper row covers all its versions and sources).
    """

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="items")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="+")
    subscriber = models.ForeignKey(
        "subscriptions.Subscriber", on_delete=models.CASCADE, related_name="+"
    )
    position = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=255)

    class Meta:
        ordering = ["delivery", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "paper"], name="deliverypaper_never_twice"
            ),
            models.UniqueConstraint(fields=["delivery", "position"], name="deliverypaper_position"),
        ]

    def __str__(self) -> str:
        return f"#{self.position} {self.reason}"


class Feedback(models.Model):
    """A reader's "more like this" (+1) or "less like this" (-1) on a paper of a digest.

    One per reader and paper: a new click replaces the old one.
    """

    class Value(models.IntegerChoices):
        MORE = 1, "More like this"
        LESS = -1, "Less like this"

    subscriber = models.ForeignKey(
        "subscriptions.Subscriber", on_delete=models.CASCADE, related_name="feedback"
    )
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="feedback")
    value = models.SmallIntegerField(choices=Value.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "feedback"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "paper"], name="feedback_one_per_paper"),
            models.CheckConstraint(condition=Q(value__in=[1, -1]), name="feedback_value_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_value_display()}: {self.paper_id} for subscriber {self.subscriber_id}"


class ReaderProfile(models.Model):
    """A reader's taste learned from their feedback, stored for the sends to load in bulk.

    `changed_at` moves with every rating given or removed; a profile is fitted again only
    when it is later than `fitted_at`, the `changed_at` the last fit saw.
    """

    subscriber = models.OneToOneField(
        "subscriptions.Subscriber", on_delete=models.CASCADE, primary_key=True,
        related_name="profile",
    )  # fmt: skip
    terms = models.JSONField(default=dict, help_text="The taste: {term: weight}.")
    liked = models.JSONField(
        default=list, help_text="Recent likes a reason may name: [[paper id, title, terms]]."
    )
    ratings = models.PositiveIntegerField(default=0)
    changed_at = models.DateTimeField(default=timezone.now)
    fitted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Profile of subscriber {self.subscriber_id} ({self.ratings} ratings)"

    @property
    def stale(self) -> bool:
        return self.fitted_at is None or self.changed_at > self.fitted_at

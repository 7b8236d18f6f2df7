"""Readers' ratings of papers ("more / less like this") and the tastes learned from them."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from digest.models.papers import Paper


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
    """A reader's taste learned from their feedback (digest/taste/features.py): a classifier's
    weights, stored for the sends to load in bulk.

    `changed_at` moves with every rating given or removed; a profile is fitted again only
    when it is later than `fitted_at`, the `changed_at` the last fit saw.
    """

    subscriber = models.OneToOneField(
        "subscriptions.Subscriber",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="profile",
    )
    bias = models.FloatField(default=0.0)
    terms = models.JSONField(default=dict, help_text="The weight of each term: {term: weight}.")
    topics = models.JSONField(
        default=dict, help_text="The weight of each topic's tag score: {topic id: weight}."
    )
    liked = models.JSONField(
        default=list, help_text="Recent likes a reason may name: [[paper id, title, terms]]."
    )
    likes = models.PositiveIntegerField(default=0)
    dislikes = models.PositiveIntegerField(default=0)
    changed_at = models.DateTimeField(default=timezone.now)
    fitted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Profile of subscriber {self.subscriber_id} ({self.ratings} ratings)"

    @property
    def ratings(self) -> int:
        return self.likes + self.dislikes

    @property
    def stale(self) -> bool:
        return self.fitted_at is None or self.changed_at > self.fitted_at

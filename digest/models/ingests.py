"""What each ingest of a feed did: kept for operators (the dashboard, /metrics)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class IngestRun(models.Model):
    """One feed (a file, a page, an API day, an RSS feed) read: how many papers it created,
    updated, left unchanged and rejected, or why it could not be read at all."""

    source = models.CharField(max_length=40, help_text="The feed's format: hf-json, arxiv-rss, …")
    label = models.CharField(max_length=500, blank=True, help_text="The file or URL read.")
    at = models.DateTimeField(default=timezone.now)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    error = models.TextField(
        blank=True, help_text="Why the feed could not be read, if it could not."
    )

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["source", "at"], name="ingestrun_source_at")]

    def __str__(self) -> str:
        return f"{self.source} {self.label} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def failed(self) -> bool:
        return bool(self.error)

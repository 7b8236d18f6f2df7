"""Digests: one per reader and period, and the papers in each, with their reasons."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from digest.models.papers import Paper
from subscriptions.tokens import make_view_token


class DeliveryQuerySet(models.QuerySet["Delivery"]):
    def finish_recorded(self, now: datetime) -> int:
        """Sending, and sent_at recorded: the provider accepted the message, and its sender
        died before the batch wrote the rest. They are sent, as recorded; the provider's own
        message id died with the sender (webhooks find these by the delivery id in their
        metadata). Returns how many."""
        return self.filter(status=Delivery.Status.SENDING, sent_at__isnull=False).update(
            **Delivery.SENT_STATE, attempts=F("attempts") + 1, updated_at=now
        )


class Delivery(models.Model):
    """One subscriber's digest for one period: planned, sent, failed or skipped.

    The unique (subscriber, period) constraint is what makes planning twice harmless, and
    the status moves only by compare-and-swap updates (queued -> sending -> sent), so a
    sent digest is never sent again. The papers, in order with their reasons, are stored
    with it: the same email can be built again from this row (view in browser, retries).

    While sending, `sent_at` is the durable record that the provider accepted the message,
    written alone the moment it did; the rest (status, message id, attempts) follows for a
    whole batch in one statement. A sending row with sent_at is therefore sent, never
    claimable again.
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
    papers: models.ManyToManyField[Paper, DeliveryPaper] = models.ManyToManyField(
        Paper, through="DeliveryPaper", related_name="deliveries"
    )
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

    # What a delivery's bookkeeping becomes once its message was accepted, besides one more
    # attempt: for one row (mark_sent) and for rows in bulk (finish_recorded) alike.
    SENT_STATE: ClassVar[dict[str, object]] = {
        "status": Status.SENT,
        "lease_until": None,
        "next_attempt_at": None,
        "last_error": "",
    }

    objects = DeliveryQuerySet.as_manager()

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

    def mark_sent(self, now: datetime) -> None:
        """This row as it is written once the provider accepted its message (not saved)."""
        for name, value in self.SENT_STATE.items():
            setattr(self, name, value)
        self.attempts += 1
        self.updated_at = now

    def view_path(self) -> str:
        """The "view in browser" page of this digest (signed for its reader's address, and
        for VIEW_IN_BROWSER_MAX_AGE: only its reader has it, and not for ever)."""
        return reverse("digest:view", args=[make_view_token(self.pk, self.subscriber.email)])


class DeliveryPaper(models.Model):
    """A paper in a digest, at its place, with the reason it was picked.

    The subscriber is repeated here so that the database itself refuses to send one
    person the same paper twice (a paper row covers all its versions and sources).
    """

    # The two unique constraints below lead with `delivery` and with `subscriber`: their
    # indexes serve every lookup by either key, so neither key has an index of its own
    # (each is one more b-tree to write for every paper of every digest). Nor has `paper`:
    # a batch's rows land all over an index by paper (every paper of the window gets some),
    # and at 100,000 readers, with a million rows, writing that index was three quarters
    # of storing a batch's picks (0.37 ms a digest on SQLite). Only deleting a paper would
    # look rows up by paper: papers are hidden, not deleted (PaperAdmin), and a deletion
    # from the shell reads the whole table.
    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="+", db_index=False)
    subscriber = models.ForeignKey(
        "subscriptions.Subscriber", on_delete=models.CASCADE, related_name="+", db_index=False
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

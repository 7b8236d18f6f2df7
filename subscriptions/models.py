"""Subscribers and the suppression list.

State changes are explicit methods (`confirm`, `unsubscribe`, `pause`, ...), never side
effects of `save()`; the database constraints hold the invariants that protect consent.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse

# `timezone` is a Subscriber field: importing `now` keeps the class body unambiguous.
from django.utils.timezone import now

from subscriptions import tokens

PAUSE_WEEKS = (1, 2, 4)


def email_hash(email: str) -> str:
    """sha256 of the lower-cased address.

    Plain sha256, not an HMAC with SECRET_KEY: a suppression must outlive key rotation.
    """
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def site_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


class SubscriberStatus(models.TextChoices):
    PENDING = "pending", "Pending confirmation"
    ACTIVE = "active", "Active"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    BOUNCED = "bounced", "Bounced"
    COMPLAINED = "complained", "Complained"


class Frequency(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"


class Subscriber(models.Model):
    Status = SubscriberStatus
    Frequency = Frequency

    # Statuses that must never be emailed again, whatever anyone submits.
    UNREACHABLE = (Status.BOUNCED, Status.COMPLAINED)

    email = models.EmailField(max_length=254, unique=True, help_text="Stored lower-cased.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    topics = models.ManyToManyField("digest.Topic", related_name="subscribers")
    keywords = models.CharField(
        max_length=500, blank=True, help_text="Comma-separated words that boost a paper."
    )
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.DAILY)
    weekday = models.PositiveSmallIntegerField(
        default=0, help_text="For weekly digests: 0 is Monday, 6 is Sunday."
    )
    send_hour = models.PositiveSmallIntegerField(default=7, help_text="Local hour, 0 to 23.")
    timezone = models.CharField(max_length=64, default="UTC", help_text="An IANA time zone.")
    max_papers = models.PositiveSmallIntegerField(default=10)
    paused_until = models.DateTimeField(null=True, blank=True)

    # The consent record (GDPR Art. 7): when, from where and on which form they asked,
    # and when and from where they confirmed.
    signed_up_at = models.DateTimeField(default=now)
    signup_ip = models.GenericIPAddressField(null=True, blank=True)
    signup_user_agent = models.CharField(max_length=500, blank=True)
    form_version = models.CharField(max_length=40, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirm_ip = models.GenericIPAddressField(null=True, blank=True)

    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    unsubscribe_reason = models.CharField(max_length=200, blank=True)

    created_at = models.DateTimeField(default=now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-signed_up_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(email=Lower("email")), name="subscriber_email_lowercase"
            ),
            models.CheckConstraint(
                condition=Q(status__in=SubscriberStatus.values), name="subscriber_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(frequency__in=Frequency.values),
                name="subscriber_frequency_valid",
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="subscriber_weekday_range"),
            models.CheckConstraint(
                condition=Q(send_hour__lte=23), name="subscriber_send_hour_range"
            ),
            models.CheckConstraint(
                condition=Q(max_papers__gte=5, max_papers__lte=30),
                name="subscriber_max_papers_range",
            ),
            # Nobody is active without a recorded confirmation: that is the double opt-in.
            models.CheckConstraint(
                condition=~Q(status="active") | Q(confirmed_at__isnull=False),
                name="subscriber_active_is_confirmed",
            ),
            models.CheckConstraint(
                condition=~Q(status="unsubscribed") | Q(unsubscribed_at__isnull=False),
                name="subscriber_unsubscribed_has_time",
            ),
        ]
        indexes = [models.Index(fields=["status", "frequency"], name="subscriber_status_freq")]

    def __str__(self) -> str:
        return self.email

    # --- links -------------------------------------------------------------------------------
    def token(self, salt: str) -> str:
        return tokens.make_token(salt, self.pk, self.email)

    def confirm_url(self) -> str:
        return site_url(reverse("subscriptions:confirm", args=[self.token(tokens.SALT_CONFIRM)]))

    def preferences_url(self) -> str:
        return site_url(self.preferences_path())

    def unsubscribe_url(self) -> str:
        return site_url(self.unsubscribe_path())

    # Pages link with paths, emails with absolute URLs (SITE_URL).
    def preferences_path(self) -> str:
        return reverse("subscriptions:preferences", args=[self.token(tokens.SALT_PREFERENCES)])

    def unsubscribe_path(self) -> str:
        return reverse("subscriptions:unsubscribe", args=[self.token(tokens.SALT_UNSUBSCRIBE)])

    # --- state -------------------------------------------------------------------------------
    @property
    def can_be_emailed(self) -> bool:
        return self.status not in self.UNREACHABLE

    @property
    def is_paused(self) -> bool:
        return self.paused_until is not None and self.paused_until > now()

    def confirm(self, ip: str | None = None) -> bool:
        """Pending becomes active; True when this call confirmed it.

        Compare-and-swap on the status, so two clicks racing confirm once and an address
        that unsubscribed, bounced or complained in between stays as it is.
        """
        moment = now()
        changed = Subscriber.objects.filter(pk=self.pk, status=self.Status.PENDING).update(
            status=self.Status.ACTIVE, confirmed_at=moment, confirm_ip=ip, updated_at=moment
        )
        self.refresh_from_db()
        return changed == 1

    def unsubscribe(self, reason: str) -> bool:
        """Stop all email now; True when this call did it (a repeat changes nothing).

        Bounced and complained keep their status: it is the stronger reason to stay silent.
        """
        moment = now()
        changed = Subscriber.objects.filter(
            pk=self.pk, status__in=[self.Status.PENDING, self.Status.ACTIVE]
        ).update(
            status=self.Status.UNSUBSCRIBED,
            unsubscribed_at=moment,
            unsubscribe_reason=reason[:200],
            updated_at=moment,
        )
        self.refresh_from_db()
        return changed == 1

    def restart_signup(self, *, ip: str | None, user_agent: str, form_version: str) -> None:
        """Back to pending with a fresh consent record (a new signup of a known address)."""
        self.status = self.Status.PENDING
        self.signed_up_at = now()
        self.signup_ip = ip
        self.signup_user_agent = user_agent[:500]
        self.form_version = form_version
        self.confirmed_at = None
        self.confirm_ip = None
        self.unsubscribed_at = None
        self.unsubscribe_reason = ""
        self.paused_until = None

    def pause(self, weeks: int) -> datetime:
        if weeks not in PAUSE_WEEKS:
            raise ValueError(f"pause for {PAUSE_WEEKS} weeks, not {weeks}")
        self.paused_until = now() + timedelta(weeks=weeks)
        self.save(update_fields=["paused_until", "updated_at"])
        return self.paused_until

    def resume(self) -> None:
        self.paused_until = None
        self.save(update_fields=["paused_until", "updated_at"])

    def switch_frequency(self, frequency: str) -> None:
        self.frequency = frequency
        self.save(update_fields=["frequency", "updated_at"])

    def drop_topic(self, slug: str) -> bool:
        """Removes one topic; False when it is not theirs or is the last one they have."""
        topics = list(self.topics.all())
        gone = [t for t in topics if t.slug == slug]
        if not gone or len(topics) == 1:
            return False
        self.topics.remove(*gone)
        return True

    def change_email(self, new_email: str) -> None:
        """The new address was proven by a link sent to it; old links die with the old one."""
        self.email = new_email.strip().lower()
        self.save(update_fields=["email", "updated_at"])


class Suppression(models.Model):
    """Addresses that must never be emailed, kept only as a hash.

    What stays after someone who bounced or complained asks to be deleted: we can
    recognise the address if it is entered again, without storing it.
    """

    class Reason(models.TextChoices):
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Complained"
        MANUAL = "manual", "Added by an editor"

    email_hash = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email_hash[:12]}… ({self.reason})"

    @classmethod
    def covers(cls, email: str) -> bool:
        return cls.objects.filter(email_hash=email_hash(email)).exists()

    @classmethod
    def add(cls, email: str, reason: str) -> Suppression:
        row, _ = cls.objects.get_or_create(
            email_hash=email_hash(email), defaults={"reason": reason}
        )
        return row

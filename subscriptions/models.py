"""Subscribers and the suppression list.

State changes are explicit methods (`confirm`, `unsubscribe`, `pause`, ...), never side
effects of `save()`; the database constraints hold the invariants that protect consent.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.urls import get_script_prefix, get_urlconf, reverse

# `timezone` is a Subscriber field: importing `now` keeps the class body unambiguous.
from django.utils.timezone import now

from digest.mailing.periods import next_due
from digest.papers.names import split_names
from subscriptions import tokens

PAUSE_WEEKS = (1, 2, 4)


def email_hash(email: str) -> str:
    """sha256 of the lower-cased address.

    Plain sha256, not an HMAC with SECRET_KEY: a suppression must outlive key rotation.
    """
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def site_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


# Where links are made: the root URLconf, the current thread's URLconf and script prefix.
UrlPlace = tuple[str, str | None, str]


def url_place() -> UrlPlace:
    """Reading the current URLconf and script prefix (asgiref's context-local storage, 12
    us) costs more than making a link: a caller making several reads them once."""
    return settings.ROOT_URLCONF, get_urlconf(), get_script_prefix()


def token_path(viewname: str, token: str, place: UrlPlace | None = None) -> str:
    """reverse(viewname, args=[token]) for our tokens, which are URL-safe as they are:
    reverse() costs more than signing, so the token goes between the path's pieces."""
    head, tail = path_pieces(viewname, 1, place)
    return f"{head}{token}{tail}"


def path_pieces(viewname: str, count: int, place: UrlPlace | None = None) -> tuple[str, ...]:
    """The view's path split where its `count` arguments go, resolved once per URLconf and
    script prefix (`place`, read now when not given)."""
    return _path_pieces(viewname, count, *(place or url_place()))


_SLOT = "URL-ARGUMENT-SLOT"


@lru_cache(maxsize=64)
def _path_pieces(
    viewname: str, count: int, root: str, urlconf: str | None, prefix: str
) -> tuple[str, ...]:
    # `root` and `prefix` are only in the cache's key: reverse() reads both itself.
    pieces = tuple(reverse(viewname, args=[_SLOT] * count, urlconf=urlconf).split(_SLOT))
    assert len(pieces) == count + 1, pieces
    return pieces


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
    # Someone who follows an author or organization may have no topic at all.
    topics = models.ManyToManyField("digest.Topic", related_name="subscribers", blank=True)
    keywords = models.CharField(
        max_length=500, blank=True, help_text="Comma-separated words that boost a paper."
    )
    authors = models.CharField(
        max_length=500,
        blank=True,
        help_text="Comma-separated full names followed: their papers come whatever the topic.",
    )
    organizations = models.CharField(
        max_length=500,
        blank=True,
        help_text="Comma-separated organizations followed: their papers come whatever the topic.",
    )
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.DAILY)
    weekday = models.PositiveSmallIntegerField(
        default=0, help_text="For weekly digests: 0 is Monday, 6 is Sunday."
    )
    send_hour = models.PositiveSmallIntegerField(default=7, help_text="Local hour, 0 to 23.")
    timezone = models.CharField(max_length=64, default="UTC", help_text="An IANA time zone.")
    max_papers = models.PositiveSmallIntegerField(default=10)
    paused_until = models.DateTimeField(null=True, blank=True)
    # Planning reads only the readers due: this is when to look at this one again (the send
    # moment of their next period, or the end of a pause). Empty or past: at the next pass.
    # Kept by the methods below and by planning; wrong at worst delays a digest to the next
    # pass, since planning reads every empty, past or implausibly far one.
    next_due_at = models.DateTimeField(null=True, blank=True, editable=False)

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
    soft_bounces = models.PositiveIntegerField(
        default=0,
        help_text="Messages that soft-bounced or were deferred since the last delivery.",
    )

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
        indexes = [
            models.Index(fields=["status", "frequency"], name="subscriber_status_freq"),
            models.Index(fields=["status", "next_due_at"], name="subscriber_status_next_due"),
        ]

    def __str__(self) -> str:
        return self.email

    # --- links -------------------------------------------------------------------------------
    def token(self, salt: str) -> str:
        return tokens.make_token(salt, self.pk, self.email)

    def confirm_url(self) -> str:
        return site_url(token_path("subscriptions:confirm", self.token(tokens.SALT_CONFIRM)))

    def preferences_url(self, place: UrlPlace | None = None) -> str:
        return site_url(self.preferences_path(place))

    def unsubscribe_url(self, place: UrlPlace | None = None) -> str:
        return site_url(self.unsubscribe_path(place))

    def personal_feed_url(self) -> str:
        """This reader's digests as an Atom feed: as private as the digests themselves."""
        token = self.token(tokens.SALT_PERSONAL_FEED)
        return site_url(token_path("digest:personal_feed", token))

    # Pages link with paths, emails with absolute URLs (SITE_URL).
    def preferences_path(self, place: UrlPlace | None = None) -> str:
        token = self.token(tokens.SALT_PREFERENCES)
        return token_path("subscriptions:preferences", token, place)

    def papers_path(self) -> str:
        """The "papers you like" page: recent papers of their topics to rate."""
        return token_path("subscriptions:rate_papers", self.token(tokens.SALT_PREFERENCES))

    def unsubscribe_path(self, place: UrlPlace | None = None) -> str:
        token = self.token(tokens.SALT_UNSUBSCRIBE)
        return token_path("subscriptions:unsubscribe", token, place)

    # --- state -------------------------------------------------------------------------------
    @property
    def can_be_emailed(self) -> bool:
        return self.status not in self.UNREACHABLE

    @property
    def is_paused(self) -> bool:
        return self.paused_until is not None and self.paused_until > now()

    @property
    def followed_authors(self) -> tuple[str, ...]:
        return split_names(self.authors)

    @property
    def followed_organizations(self) -> tuple[str, ...]:
        return split_names(self.organizations)

    def schedule_changed(self, moment: datetime | None = None) -> None:
        """Sets `next_due_at` after the schedule (frequency, weekday, hour, time zone, pause)
        or the status changed; the caller saves it. Whether today's or this week's digest
        was already planned is planning's to find out: when its send moment has passed,
        the reader is due at once, and planning moves them on if the period has its
        delivery."""
        moment = moment or now()
        if self.paused_until is not None and self.paused_until > moment:
            self.next_due_at = self.paused_until
            return
        self.next_due_at = next_due(
            self.frequency, self.weekday, self.send_hour, self.timezone, moment, planned=False
        )

    def confirm(self, ip: str | None = None) -> bool:
        """Pending becomes active; True when this call confirmed it.

        Compare-and-swap on the status, so two clicks racing confirm once and an address
        that unsubscribed, bounced or complained in between stays as it is.
        """
        moment = now()
        self.schedule_changed(moment)
        changed = Subscriber.objects.filter(pk=self.pk, status=self.Status.PENDING).update(
            status=self.Status.ACTIVE,
            confirmed_at=moment,
            confirm_ip=ip,
            next_due_at=self.next_due_at,
            updated_at=moment,
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

    def mark_undeliverable(self, status: str, reason: str) -> bool:
        """Bounced or complained: never email this address again; True when this call did it.

        A compare-and-swap from any weaker status (pending, active, unsubscribed), and
        complained also replaces bounced: a complaint is the stronger reason to stay silent.
        The address hash goes on the suppression list either way, so that it is refused
        even after the row is deleted.
        """
        if status not in self.UNREACHABLE:
            raise ValueError(f"{status!r} is not one of {self.UNREACHABLE}")
        weaker = [self.Status.PENDING, self.Status.ACTIVE, self.Status.UNSUBSCRIBED]
        if status == self.Status.COMPLAINED:
            weaker.append(self.Status.BOUNCED)
        moment = now()
        with transaction.atomic():
            changed = Subscriber.objects.filter(pk=self.pk, status__in=weaker).update(
                status=status, unsubscribe_reason=reason[:200], updated_at=moment
            )
            Suppression.add(self.email, reason=status)
        self.refresh_from_db()
        return changed == 1

    def count_soft_bounce(self, limit: int, reason: str) -> bool:
        """One more message soft-bounced; True when that reached `limit` and bounced them.

        Counted in the database (F + 1), so two workers counting at once lose nothing.
        """
        Subscriber.objects.filter(pk=self.pk).update(
            soft_bounces=F("soft_bounces") + 1, updated_at=now()
        )
        self.refresh_from_db(fields=["soft_bounces"])
        if self.soft_bounces < limit:
            return False
        return self.mark_undeliverable(self.Status.BOUNCED, reason)

    def clear_soft_bounces(self) -> None:
        """A message got through: the address works, earlier soft bounces were passing."""
        Subscriber.objects.filter(pk=self.pk, soft_bounces__gt=0).update(
            soft_bounces=0, updated_at=now()
        )
        self.soft_bounces = 0

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
        self.schedule_changed()
        self.save(update_fields=["paused_until", "next_due_at", "updated_at"])
        return self.paused_until

    def resume(self) -> None:
        self.paused_until = None
        self.schedule_changed()
        self.save(update_fields=["paused_until", "next_due_at", "updated_at"])

    def switch_frequency(self, frequency: str) -> None:
        self.frequency = frequency
        self.schedule_changed()
        self.save(update_fields=["frequency", "next_due_at", "updated_at"])

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
        return cls.add_hash(email_hash(email), reason)

    @classmethod
    def add_hash(cls, address_hash: str, reason: str) -> Suppression:
        row, created = cls.objects.get_or_create(
            email_hash=address_hash, defaults={"reason": reason}
        )
        if not created and reason == cls.Reason.COMPLAINED and row.reason == cls.Reason.BOUNCED:
            # A complaint after a bounce: record the stronger reason.
            cls.objects.filter(pk=row.pk).update(reason=reason)
            row.reason = reason
        return row


class EmailEffect(models.TextChoices):
    """What an ESP event does to the subscriber or the delivery."""

    BOUNCED = "bounced", "Hard bounce: never email again"
    COMPLAINED = "complained", "Complaint: never email again"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed at the ESP"
    SOFT_BOUNCE = "soft_bounce", "Soft bounce or deferral: counted"
    DELIVERED = "delivered", "Delivered"
    OPENED = "opened", "Opened"
    CLICKED = "clicked", "Clicked"
    NONE = "none", "Recorded only"


class EmailEvent(models.Model):
    """A delivery or tracking event an ESP reported through its webhook, once.

    The (esp, event_id, recipient_hash) constraint makes an ESP's retry of the same event a
    no-op. No address is stored, only its hash: the row goes with the subscriber (CASCADE),
    and one whose recipient was unknown keeps nothing that names a person.
    """

    Effect = EmailEffect

    esp = models.CharField(max_length=40, help_text="As anymail names it: Postmark, Mailgun, …")
    event_id = models.CharField(
        max_length=255, help_text="The ESP's id, or a hash of the event when it gives none."
    )
    event_type = models.CharField(max_length=20, help_text="anymail's normalized event type.")
    effect = models.CharField(max_length=20, choices=EmailEffect.choices, default=EmailEffect.NONE)
    message_id = models.CharField(max_length=255, blank=True)
    recipient_hash = models.CharField(
        max_length=64, blank=True, help_text="sha256 of the lower-cased address."
    )
    delivery = models.ForeignKey(
        "digest.Delivery",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="email_events",
    )
    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, null=True, blank=True, related_name="email_events"
    )
    occurred_at = models.DateTimeField(default=now, help_text="When the ESP says it happened.")
    received_at = models.DateTimeField(default=now)
    processed_at = models.DateTimeField(
        null=True, blank=True, help_text="When its effect was applied (empty: not yet)."
    )
    reject_reason = models.CharField(max_length=20, blank=True)
    description = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["esp", "event_id", "recipient_hash"], name="emailevent_once"
            ),
            models.CheckConstraint(
                condition=Q(effect__in=EmailEffect.values), name="emailevent_effect_valid"
            ),
        ]
        indexes = [
            # Bounces and complaints per day (the admin dashboard).
            models.Index(fields=["effect", "occurred_at"], name="emailevent_effect_time"),
            # "Did this message soft-bounce already?" when counting soft bounces.
            models.Index(fields=["subscriber", "message_id"], name="emailevent_subscriber_msg"),
        ]

    def __str__(self) -> str:
        return f"{self.esp} {self.event_type} ({self.get_effect_display().lower()})"

"""What the subscription views do, in functions that tests and the admin call too.

No function here tells its caller whether an address was known: the views answer the same
page whatever happens, so nobody can learn who is on the list.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from django.apps import apps
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.urls import reverse
from django.utils import timezone

from digest.errors import short_error
from digest.mailing.messages import build_message
from digest.papers.names import NameMatcher, normalize_name
from subscriptions import tokens
from subscriptions.models import Subscriber, Suppression, site_url

log = logging.getLogger(__name__)

FOLLOW_COUNT_DAYS = 90


@dataclass(frozen=True)
class Consent:
    ip: str | None
    user_agent: str
    form_version: str


# --- signup and links ----------------------------------------------------------------------
def subscribe(
    email: str,
    preferences: dict[str, object],
    consent: Consent,
    send: AccountEmailSender | None = None,
) -> None:
    """Handle a valid signup; sends at most one email and tells the caller nothing.

    - new or unsubscribed: pending, fresh consent record, confirmation email
    - pending: preferences and consent replaced, a new confirmation email
    - active: nothing changes (the submitter may not own the address); a preferences link
    - bounced, complained, suppressed: nothing stored, nothing sent
    """
    if Suppression.covers(email):
        return
    preferences = dict(preferences)
    topics = preferences.pop("topics")
    try:
        with transaction.atomic():
            subscriber = Subscriber.objects.select_for_update().filter(email=email).first()
            if subscriber is not None and not subscriber.can_be_emailed:
                return
            if subscriber is not None and subscriber.status == Subscriber.Status.ACTIVE:
                kind = PREFERENCES_LINK
            else:
                subscriber = subscriber or Subscriber(email=email)
                subscriber.restart_signup(
                    ip=consent.ip, user_agent=consent.user_agent, form_version=consent.form_version
                )
                for field, value in preferences.items():
                    setattr(subscriber, field, value)
                subscriber.save()
                subscriber.topics.set(topics)  # type: ignore[arg-type]
                kind = CONFIRMATION
            # Sent by a task after commit: the row lock is not held while the provider
            # answers, and the answer takes as long whether or not mail goes out.
            (send or send_account_email)(kind, subscriber.pk, "")
    except IntegrityError:
        # Two signups of a new address at the same moment: the other request created the
        # row and sends the confirmation; a second email would only be noise.
        log.info("concurrent signup of one address; the first request sends")


def request_link(email: str, send: AccountEmailSender | None = None) -> None:
    """Someone asks for a fresh link: a preferences link, or a confirmation while pending."""
    if Suppression.covers(email):
        return
    subscriber = Subscriber.objects.filter(email=email).first()
    if subscriber is None or not subscriber.can_be_emailed:
        return
    pending = subscriber.status == Subscriber.Status.PENDING
    (send or send_account_email)(CONFIRMATION if pending else PREFERENCES_LINK, subscriber.pk, "")


# --- account emails -------------------------------------------------------------------
# Sending inside the request made the answer slow exactly when mail went out, so its time
# told who is on the list. The functions above hand the email to `send`: the web layer
# passes one that queues a task after commit (digest.tasks.queue_account_email); without
# one (a test, a management command) it is sent at once.
CONFIRMATION = "confirmation"
PREFERENCES_LINK = "preferences-link"
EMAIL_CHANGE = "email-change"

# (kind, subscriber id, new address or "")
AccountEmailSender = Callable[[str, int, str], None]


def send_account_email(kind: str, subscriber_id: int, new_email: str = "") -> None:
    """What the task does: send it if it still makes sense (the row may have changed)."""
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None or not subscriber.can_be_emailed or Suppression.covers(subscriber.email):
        return
    if kind == CONFIRMATION:
        if subscriber.status == Subscriber.Status.PENDING:
            send_confirmation(subscriber)
    elif kind == PREFERENCES_LINK:
        send_preferences_link(subscriber)
    elif kind == EMAIL_CHANGE:
        send_email_change(subscriber, new_email)
    else:
        raise ValueError(f"no account email is called {kind!r}")


def _send(message: EmailMessage) -> None:
    """Send now; a failure is logged in one line for the operator (without the address: a
    log is read by more people than the email was for), not shown.

    The visitor gets the same page either way (telling them would reveal whether the
    address is on the list) and can ask for a new link; a 500 would help nobody.
    """
    try:
        message.send()
    except Exception as exc:
        log.warning("could not send %r: %s", message.subject, short_error(exc))


def send_confirmation(subscriber: Subscriber) -> None:
    topics = [t.name for t in subscriber.topics.all()]
    # Someone may follow a few names and pick no topic: the email says what they asked for.
    follows = [*subscriber.followed_authors, *subscriber.followed_organizations]
    topics += [f"papers by {name}" for name in follows]
    _send(
        build_message(
            "confirm",
            subscriber.email,
            {
                "confirm_url": subscriber.confirm_url(),
                "topics": topics,
                "frequency": subscriber.get_frequency_display().lower(),
                "valid_days": tokens.CONFIRM_MAX_AGE.days,
            },
            tags=["confirm"],
            metadata={"subscriber_id": subscriber.pk},
        )
    )


def send_preferences_link(subscriber: Subscriber) -> None:
    _send(
        build_message(
            "preferences_link",
            subscriber.email,
            {
                "preferences_url": subscriber.preferences_url(),
                "unsubscribe_url": subscriber.unsubscribe_url(),
                "subscribed": subscriber.status == Subscriber.Status.ACTIVE,
            },
            tags=["preferences-link"],
            metadata={"subscriber_id": subscriber.pk},
        )
    )


def request_email_change(
    subscriber: Subscriber, new_email: str, send: AccountEmailSender | None = None
) -> None:
    """Queues a link to the new address; the change happens when it is opened.

    Whether the new address is taken is decided in the task, so the answer says nothing
    about it, not even by its time: that would let any subscriber probe the list from
    their preferences page.
    """
    (send or send_account_email)(EMAIL_CHANGE, subscriber.pk, new_email)


def send_email_change(subscriber: Subscriber, new_email: str) -> None:
    if Suppression.covers(new_email) or Subscriber.objects.filter(email=new_email).exists():
        return
    token = tokens.make_email_change_token(subscriber.pk, subscriber.email, new_email)
    _send(
        build_message(
            "email_change",
            new_email,
            {
                "change_url": site_url(reverse("subscriptions:change_email", args=[token])),
                "valid_days": tokens.EMAIL_CHANGE_MAX_AGE.days,
            },
            tags=["email-change"],
            metadata={"subscriber_id": subscriber.pk},
        )
    )


@dataclass(frozen=True)
class EmailChange:
    """What an email-change link asks for: this subscriber, to this address."""

    subscriber: Subscriber
    new_email: str

    @property
    def done(self) -> bool:
        return self.subscriber.email == self.new_email


def read_email_change(token: str) -> EmailChange | None:
    """What an email-change link would do, changing nothing; None when the new address
    cannot be used (suppressed, or the subscriber is gone).

    Raises tokens.TokenInvalid / TokenExpired for a bad token.
    """
    subject, new_email = tokens.read_email_change_token(token)
    subscriber = Subscriber.objects.filter(pk=subject.pk).first()
    if subscriber is None:
        return None
    change = EmailChange(subscriber, new_email)
    if change.done:
        return change
    if tokens.fingerprint(subscriber.email) != subject.fingerprint:
        # The address changed again since this link was sent: a stale link.
        raise tokens.TokenInvalid
    if Suppression.covers(new_email):
        return None
    return change


def apply_email_change(token: str) -> Subscriber | None:
    """Carries out an email-change link; None when the new address cannot be used (taken,
    suppressed, or the subscriber is gone). Applying it twice is harmless.

    Raises tokens.TokenInvalid / TokenExpired for a bad token.
    """
    change = read_email_change(token)
    if change is None:
        return None
    subscriber, new_email = change.subscriber, change.new_email
    if change.done:
        return subscriber
    try:
        with transaction.atomic():
            subscriber.change_email(new_email)
    except IntegrityError:  # someone else subscribed with it since the link was sent
        return None
    return subscriber


def subscriber_for(salt: str, token: str) -> Subscriber | None:
    """The subscriber a token was made for, or None when they or their address are gone.

    Raises tokens.TokenInvalid / TokenExpired for a bad token.
    """
    return subscriber_named(tokens.read_token(salt, token))


@dataclass(frozen=True)
class UnsubscribeLink:
    """Whom an unsubscribe link names. `same_address` is False for a recent link sent to an
    address they have changed since: it may unsubscribe them, and show nothing else."""

    subscriber: Subscriber | None
    same_address: bool = True


def unsubscribe_link(token: str) -> UnsubscribeLink:
    """The reader an unsubscribe link was made for; raises tokens.TokenInvalid for a bad
    token, and for an old link to an address that changed since (it would do nothing, and
    saying "done" would be a lie)."""
    subject, made_at = tokens.read_unsubscribe_token(token)
    subscriber = Subscriber.objects.filter(pk=subject.pk).first()
    if subscriber is None:
        return UnsubscribeLink(None)  # deleted: nothing is sent to them, nothing to stop
    if tokens.fingerprint(subscriber.email) == subject.fingerprint:
        return UnsubscribeLink(subscriber)
    if made_at is not None and timezone.now() - made_at <= tokens.UNSUBSCRIBE_AFTER_CHANGE_MAX_AGE:
        return UnsubscribeLink(subscriber, same_address=False)
    raise tokens.TokenInvalid


def subscriber_named(subject: tokens.TokenSubject) -> Subscriber | None:
    """The subscriber a verified token names, unless they or their address are gone."""
    subscriber = Subscriber.objects.filter(pk=subject.pk).first()
    if subscriber is None or tokens.fingerprint(subscriber.email) != subject.fingerprint:
        return None
    return subscriber


# --- preferences ---------------------------------------------------------------------------
def update_preferences(subscriber: Subscriber, preferences: dict[str, object]) -> None:
    preferences = dict(preferences)
    topics = preferences.pop("topics")
    with transaction.atomic():
        for field, value in preferences.items():
            setattr(subscriber, field, value)
        subscriber.schedule_changed()  # the hour, day, frequency or time zone may be new
        subscriber.save()
        subscriber.topics.set(topics)  # type: ignore[arg-type]


@dataclass(frozen=True)
class FollowCount:
    name: str  # as the reader typed it
    kind: str  # "author" or "organization"
    papers: int


def follow_counts(subscriber: Subscriber, today: date | None = None) -> list[FollowCount]:
    """How many visible papers featured in the last FOLLOW_COUNT_DAYS each followed name
    matched, in the reader's order: a name with none is most likely misspelled.

    One query, names and organizations only, matched in Python with the normaliser the
    ranking uses, so a count is exactly what the digests would have found.
    """
    authors = {normalize_name(n): n for n in subscriber.followed_authors}
    organizations = {normalize_name(n): n for n in subscriber.followed_organizations}
    if not authors and not organizations:
        return []
    today = today or timezone.localdate()
    papers = apps.get_model("digest", "Paper").objects.filter(
        hidden=False,
        featured_on__gt=today - timedelta(days=FOLLOW_COUNT_DAYS),
        featured_on__lte=today,
    )
    by_author, by_organization = NameMatcher(authors), NameMatcher(organizations)
    found: Counter[tuple[str, str]] = Counter()
    rows = papers.values_list("authors", "organization").iterator(chunk_size=2_000)
    for names, organization in rows:
        found.update(("author", n) for n in by_author(names if isinstance(names, list) else ()))
        if organization:
            found.update(("organization", n) for n in by_organization((organization,)))
    return [
        FollowCount(name, kind, found[kind, key])
        for kind, named in (("author", authors), ("organization", organizations))
        for key, name in named.items()
    ]


def recent_deliveries(subscriber: Subscriber, limit: int = 10) -> list[Model]:
    """The last digests planned for this person: sent ones, and skipped ones with the reason."""
    delivery = apps.get_model("digest", "Delivery")
    return list(
        delivery.objects.filter(subscriber=subscriber)
        .select_related("subscriber")  # each row's "view" link is signed for the address
        .prefetch_related("items__paper")
        .order_by("-created_at", "-pk")[:limit]
    )


def ratings(subscriber: Subscriber, limit: int | None = None) -> list[Model]:
    """This person's "more/less like this" ratings, newest first, with their papers."""
    feedback = apps.get_model("digest", "Feedback")
    rows = feedback.objects.filter(subscriber=subscriber).select_related("paper")
    return list(rows.order_by("-created_at", "-pk")[:limit])


def _row(instance: Model) -> dict[str, object]:
    """Every stored column of a row, by field name (foreign keys as ids)."""
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def export_data(subscriber: Subscriber) -> dict[str, object]:
    """Everything stored about this person, for "download my data" (GDPR Art. 15 and 20)."""
    data = _row(subscriber)
    data["topics"] = [{"slug": t.slug, "name": t.name} for t in subscriber.topics.all()]
    data["consent"] = {
        "signed_up_at": subscriber.signed_up_at,
        "signup_ip": subscriber.signup_ip,
        "signup_user_agent": subscriber.signup_user_agent,
        "form_version": subscriber.form_version,
        "confirmed_at": subscriber.confirmed_at,
        "confirm_ip": subscriber.confirm_ip,
    }
    data["deliveries"] = [
        _row(d)
        | {
            "papers": [
                {"title": item.paper.title, "url": item.paper.url, "reason": item.reason}
                for item in d.items.all()  # type: ignore[attr-defined]
            ]
        }
        for d in recent_deliveries(subscriber, limit=10_000)
    ]
    data["ratings"] = [
        {
            "paper": {"title": r.paper.title, "url": r.paper.url},  # type: ignore[attr-defined]
            "value": r.get_value_display(),  # type: ignore[attr-defined]
            "rated_at": r.created_at,  # type: ignore[attr-defined]
        }
        for r in ratings(subscriber)
    ]
    data["learned_from_ratings"] = _learned(subscriber)
    data["exported_at"] = timezone.now()
    return data


def _learned(subscriber: Subscriber) -> dict[str, object] | None:
    """The classifier fitted on this person's ratings, as stored: its weights are theirs."""
    profile = apps.get_model("digest", "ReaderProfile").objects.filter(subscriber=subscriber)
    found = profile.first()
    if found is None:
        return None
    names = dict(apps.get_model("digest", "Topic").objects.values_list("pk", "name"))
    return {
        "likes": found.likes,
        "dislikes": found.dislikes,
        "bias": found.bias,
        "term_weights": found.terms,
        "topic_weights": {names.get(int(t), t): w for t, w in found.topics.items()},
        "fitted_at": found.fitted_at,
    }


def delete_subscriber(subscriber: Subscriber) -> None:
    """Erasure (GDPR Art. 17): the row and everything hanging off it go.

    Someone who bounced or complained leaves only a hash on the suppression list, so that
    a later signup of the same address is recognised and never emailed.
    """
    with transaction.atomic():
        if subscriber.status in Subscriber.UNREACHABLE:
            Suppression.add(subscriber.email, reason=subscriber.status)
        subscriber.delete()
    log.info("subscriber deleted at their request")

"""What an ESP tells us through its tracking webhook: bounces, complaints, deliveries.

anymail's views (`/anymail/<esp>/tracking/`) check the basic-auth secret and the ESP's
signature, normalize the payload and send the `tracking` signal. The receiver here stays
fast: it decides the effect, finds whom the event is about and stores it in one INSERT,
deduplicated on the ESP's event id; `apply_event` (run by a Celery task after commit) then
changes the subscriber or the delivery, exactly once.

A receiver that raises makes the webhook answer with an error and the ESP retry: that is
what a database outage should do, so database errors propagate. An event about someone we
do not know is recorded and answered 200, or the ESP would retry it forever.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Mapping
from copy import copy
from functools import wraps
from typing import Any

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.signals import AnymailTrackingEvent, EventType, RejectReason
from anymail.utils import get_anymail_setting
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.utils import timezone

from digest.models import Delivery
from subscriptions.models import EmailEffect, EmailEvent, Subscriber, Suppression, email_hash

log = logging.getLogger(__name__)

Effect = EmailEffect
ESP_UNSUBSCRIBED = "esp-unsubscribed"
DESCRIPTION_CHARS = 255
ADDRESS = re.compile(r"[^\s<>()\"',;:]+@[^\s<>()\"',;:]+")

# A rejected or failed message says something about the address only for these reasons;
# the others (blocked, other, none) are about us or the content: a DMARC failure or an ESP
# policy must not put the whole list on the suppression list at once.
REASON_EFFECTS: dict[str | None, str] = {
    RejectReason.INVALID: Effect.BOUNCED,
    RejectReason.BOUNCED: Effect.BOUNCED,
    RejectReason.TIMED_OUT: Effect.BOUNCED,
    RejectReason.SPAM: Effect.COMPLAINED,
    RejectReason.UNSUBSCRIBED: Effect.UNSUBSCRIBED,
}
TRACKED = {
    EventType.DELIVERED: Effect.DELIVERED,
    EventType.OPENED: Effect.OPENED,
    EventType.CLICKED: Effect.CLICKED,
}


# --- what an event means ---------------------------------------------------------------------
def _dig(data: Any, *keys: str) -> Any:
    """data[k1][k2]… or None, whatever the payload's shape."""
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _sparkpost_event(raw: Any) -> Any:
    events = _dig(raw, "msys")
    return next(iter(events.values()), None) if isinstance(events, Mapping) and events else None


# anymail reports some ESPs' soft bounces as "bounced"; only the raw payload tells them
# apart. Each test returns True for a bounce that says nothing permanent about the address.
SOFT_BOUNCES: dict[str, Callable[[Any], bool]] = {
    # Postmark: SoftBounce ("might also receive HardBounce later") and virus warnings.
    "Postmark": lambda e: _dig(e, "Type") in {"SoftBounce", "VirusNotification"},
    "Amazon SES": lambda e: _dig(e, "bounce", "bounceType") in {"Transient", "Undetermined"},
    "Resend": lambda e: _dig(e, "data", "bounce", "type") in {"Transient", "Undetermined"},
    "Brevo": lambda e: _dig(e, "event") == "soft_bounce",
    "SendinBlue": lambda e: _dig(e, "event") == "soft_bounce",
    "Mandrill": lambda e: _dig(e, "event") == "soft_bounce",
    "MailerSend": lambda e: _dig(e, "data", "type") == "soft_bounced",
    "Mailjet": lambda e: _dig(e, "event") == "bounce" and not _dig(e, "hard_bounce"),
    # SparkPost's hard classes: invalid recipient, no RCPT, unsubscribe.
    "SparkPost": lambda e: _dig(_sparkpost_event(e), "bounce_class") not in {"10", "30", "90"},
}

# Mailgun gives a permanent failure for an address on its own suppression lists; the
# reason says which list, and anymail calls all of them "bounced".
MAILGUN_SUPPRESSIONS = {
    "suppress-complaint": Effect.COMPLAINED,
    "suppress-unsubscribe": Effect.UNSUBSCRIBED,
}


def effect_of(event: AnymailTrackingEvent, esp_name: str) -> str:
    """The effect of a normalized event: pure, no database."""
    kind = event.event_type
    if kind in TRACKED:
        return TRACKED[kind]
    if kind == EventType.COMPLAINED:
        return Effect.COMPLAINED
    if kind == EventType.UNSUBSCRIBED:
        return Effect.UNSUBSCRIBED
    if kind == EventType.DEFERRED:
        return Effect.SOFT_BOUNCE
    if kind == EventType.BOUNCED:
        return _bounce_effect(event, esp_name)
    if kind == EventType.REJECTED:
        return REASON_EFFECTS.get(event.reject_reason, Effect.SOFT_BOUNCE)
    if kind == EventType.FAILED:
        # Failed without an address reason is our side (a template, an API error).
        return REASON_EFFECTS.get(event.reject_reason, Effect.NONE)
    return Effect.NONE


def _bounce_effect(event: AnymailTrackingEvent, esp_name: str) -> str:
    raw = event.esp_event
    if esp_name == "Mailgun":
        suppression = MAILGUN_SUPPRESSIONS.get(_dig(raw, "event-data", "reason"))
        if suppression:
            return suppression
    is_soft = SOFT_BOUNCES.get(esp_name)
    if is_soft is not None and is_soft(raw):
        return Effect.SOFT_BOUNCE
    return Effect.BOUNCED


def event_key(event: AnymailTrackingEvent, esp_name: str) -> str:
    """The ESP's event id, or (when it gives none) a hash of what makes the event itself."""
    if event.event_id:
        return str(event.event_id)[:255]
    parts = [esp_name, event.event_type, event.message_id, event.timestamp, event.recipient]
    return "derived:" + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def scrub(text: str | None, limit: int = DESCRIPTION_CHARS) -> str:
    """The ESP's description without any address in it (bounce texts often quote one)."""
    return ADDRESS.sub("[address]", text or "")[:limit]


# --- who it is about ---------------------------------------------------------------------------
def _metadata_id(metadata: Mapping[str, Any] | None, key: str) -> int | None:
    """An id we put in the message's metadata; ESPs hand values back as strings or numbers."""
    value = (metadata or {}).get(key)
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() else None


def find_delivery(event: AnymailTrackingEvent) -> Delivery | None:
    """The digest the event is about: its id in the metadata, else the ESP's message id."""
    rows = Delivery.objects.select_related("subscriber")
    delivery_id = _metadata_id(event.metadata, "delivery_id")
    if delivery_id is not None:
        return rows.filter(pk=delivery_id).first()
    if event.message_id:
        return rows.filter(message_id=event.message_id).order_by("-pk").first()
    return None


def find_subscriber(event: AnymailTrackingEvent, delivery: Delivery | None) -> Subscriber | None:
    """The subscriber the event is about, or None when we do not know them.

    The metadata (or the delivery) names the person; the recipient must then be their
    address: after an email change, a late bounce of the old address, or of a link sent
    to a new one, must not touch the address they use now.
    """
    recipient = (event.recipient or "").strip().lower()
    subscriber_id = _metadata_id(event.metadata, "subscriber_id")
    candidate: Subscriber | None = None
    if delivery is not None and subscriber_id in (None, delivery.subscriber_id):
        candidate = delivery.subscriber
    elif subscriber_id is not None:
        candidate = Subscriber.objects.filter(pk=subscriber_id).first()
    if candidate is not None and (not recipient or candidate.email == recipient):
        return candidate
    if recipient:
        return Subscriber.objects.filter(email=recipient).first()
    return None


# --- the receiver ------------------------------------------------------------------------------
def webhook_secret_configured() -> bool:
    return bool(get_anymail_setting("webhook_secret", default=None))


def record_tracking_event(event: AnymailTrackingEvent, esp_name: str) -> int | None:
    """What anymail's `tracking` signal does (digest.tasks.receive_tracking_event): store
    the event once; returns its row when its effect is still to be applied."""
    if not webhook_secret_configured():
        # anymail only warns when WEBHOOK_SECRET is unset; then anyone could post a fake
        # complaint for any address. Refuse (400): nothing from an open webhook is trusted.
        log.error("tracking event from %s refused: set ANYMAIL_WEBHOOK_SECRET", esp_name)
        raise AnymailWebhookValidationFailure("ANYMAIL_WEBHOOK_SECRET is not configured")
    return store(event, esp_name)


def store(event: AnymailTrackingEvent, esp_name: str) -> int | None:
    """Record the event; the pk to apply, or None when it was applied before (a retry)."""
    effect = effect_of(event, esp_name)
    delivery = find_delivery(event)
    subscriber = find_subscriber(event, delivery)
    row = EmailEvent(
        esp=esp_name[:40],
        event_id=event_key(event, esp_name),
        event_type=str(event.event_type)[:20],
        effect=effect,
        message_id=str(event.message_id or "")[:255],
        recipient_hash=email_hash(event.recipient) if event.recipient else "",
        delivery=delivery,
        subscriber=subscriber,
        occurred_at=event.timestamp or timezone.now(),
        reject_reason=str(event.reject_reason or "")[:20],
        description=scrub(event.description),
    )
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError as error:
        return _seen_before(row, error)
    if subscriber is None and effect != Effect.NONE:
        log.info("%s %s event for an unknown recipient recorded", esp_name, event.event_type)
    return row.pk


def _seen_before(row: EmailEvent, error: IntegrityError) -> int | None:
    """The earlier copy of a duplicate when it still waits to be applied (its task was
    lost), else None.

    Raises again when there is no earlier copy: then the insert failed for another reason
    (the subscriber was deleted meanwhile), and the ESP's retry will find the world settled.
    """
    earlier = (
        EmailEvent.objects.filter(
            esp=row.esp, event_id=row.event_id, recipient_hash=row.recipient_hash
        )
        .values_list("pk", "processed_at")
        .first()
    )
    if earlier is None:
        raise error
    pk, processed_at = earlier
    return pk if processed_at is None else None


# --- applying it -------------------------------------------------------------------------------
def apply_event(event_pk: int) -> bool:
    """Apply a stored event's effect; True when this call did, False when done before.

    The compare-and-swap on processed_at and the effect share one transaction: a failure
    leaves the event unapplied for the task's retry, and two workers apply it once.
    """
    with transaction.atomic():
        claimed = EmailEvent.objects.filter(pk=event_pk, processed_at__isnull=True).update(
            processed_at=timezone.now()
        )
        if not claimed:
            return False
        event = EmailEvent.objects.select_related("subscriber", "delivery").get(pk=event_pk)
        EFFECTS[event.effect](event)
    return True


def _reason(event: EmailEvent) -> str:
    detail = f": {event.description}" if event.description else ""
    return f"{event.esp} {event.event_type}{detail}"


def _undeliverable(status: str) -> Callable[[EmailEvent], None]:
    def apply(event: EmailEvent) -> None:
        if event.subscriber is not None:
            if event.subscriber.mark_undeliverable(status, _reason(event)):
                log.info("subscriber %s is now %s (%s)", event.subscriber_id, status, event.esp)
        elif event.recipient_hash:
            # Nobody on the list has this address (now): it still is never to be emailed,
            # should it be entered again.
            Suppression.add_hash(event.recipient_hash, reason=status)

    return apply


def _unsubscribe(event: EmailEvent) -> None:
    if event.subscriber is not None:
        event.subscriber.unsubscribe(ESP_UNSUBSCRIBED)


def _soft_bounce(event: EmailEvent) -> None:
    """Counted once per message: ESPs report each retry of a deferred message."""
    if event.subscriber_id is None:
        return
    # The row lock orders two workers counting for the same person.
    subscriber = Subscriber.objects.select_for_update().get(pk=event.subscriber_id)
    if event.message_id and (
        EmailEvent.objects.filter(
            subscriber_id=subscriber.pk,
            message_id=event.message_id,
            effect=Effect.SOFT_BOUNCE,
            processed_at__isnull=False,
        )
        .exclude(pk=event.pk)
        .exists()
    ):
        return
    limit = settings.SOFT_BOUNCE_LIMIT
    if subscriber.count_soft_bounce(limit, f"{limit} soft bounces; last: {_reason(event)}"):
        log.info("subscriber %s bounced after %d soft bounces", subscriber.pk, limit)


def _tracked(field: str) -> Callable[[EmailEvent], None]:
    """The first time the delivery was delivered, opened or clicked; later ones keep it."""

    def apply(event: EmailEvent) -> None:
        if event.delivery_id is not None:
            Delivery.objects.filter(pk=event.delivery_id, **{f"{field}__isnull": True}).update(
                **{field: event.occurred_at, "updated_at": timezone.now()}
            )
        if field == "delivered_at" and event.subscriber is not None:
            event.subscriber.clear_soft_bounces()

    return apply


def _nothing(event: EmailEvent) -> None:
    pass


EFFECTS: dict[str, Callable[[EmailEvent], None]] = {
    Effect.BOUNCED: _undeliverable(Subscriber.Status.BOUNCED),
    Effect.COMPLAINED: _undeliverable(Subscriber.Status.COMPLAINED),
    Effect.UNSUBSCRIBED: _unsubscribe,
    Effect.SOFT_BOUNCE: _soft_bounce,
    Effect.DELIVERED: _tracked("delivered_at"),
    Effect.OPENED: _tracked("opened_at"),
    Effect.CLICKED: _tracked("clicked_at"),
    Effect.NONE: _nothing,
}


# --- the views' answers --------------------------------------------------------------------
# What a body that is not what the ESP sends makes anymail's parsers raise: JSON that is
# malformed (ValueError) or of the wrong shape (a list where an object was expected).
UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, IndexError, LookupError)


def guarded(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """anymail's webhook view, answering 400 or 404 with one log line where it raised.

    - a forged request (wrong secret or signature): 400, one line, no traceback;
    - an ESP that is not configured here (Mailgun without its signing key, SES without
      boto3): 404, as if the URL did not exist;
    - a body that cannot be read, even with the right secret: 400, or the ESP would retry
      it for ever.
    Database errors still raise: a 500 makes the ESP send the event again later.
    """

    @wraps(view)  # keeps csrf_exempt
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except AnymailWebhookValidationFailure as exc:
            return _answer(HttpResponseBadRequest(), "refused", request, exc)
        except ImproperlyConfigured as exc:
            return _answer(HttpResponseNotFound(), "not configured", request, exc)
        except UNREADABLE as exc:
            return _answer(HttpResponseBadRequest(), "unreadable body", request, exc)

    return wrapped


def _answer(
    response: HttpResponse, what: str, request: HttpRequest, exc: Exception
) -> HttpResponse:
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    log.warning("webhook %s %s: %s: %s", request.path, what, type(exc).__name__, reason)
    response._has_been_logged = True  # type: ignore[attr-defined]  # Django logs it once
    return response


def anymail_urlpatterns() -> list[Any]:
    """anymail's URLs (`/anymail/<esp>/tracking/` and the rest), each view guarded."""
    from anymail import urls

    patterns = []
    for pattern in urls.urlpatterns:
        guarded_pattern = copy(pattern)
        guarded_pattern.callback = guarded(pattern.callback)
        patterns.append(guarded_pattern)
    return patterns


# --- deployment check ----------------------------------------------------------------------------
def check_webhook_secret(app_configs: object = None, **kwargs: object) -> list[checks.CheckMessage]:
    """`manage.py check --deploy`: an ESP without ANYMAIL_WEBHOOK_SECRET ignores all events."""
    if settings.EMAIL_PROVIDER in settings.ANYMAIL_PROVIDERS and not webhook_secret_configured():
        return [
            checks.Warning(
                "ANYMAIL_WEBHOOK_SECRET is not set: every tracking webhook is refused, so "
                "bounces and complaints are not recorded.",
                hint="Set ANYMAIL_WEBHOOK_SECRET=user:password and use it in the ESP's URL.",
                id="subscriptions.W001",
            )
        ]
    return []

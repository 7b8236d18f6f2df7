"""ESP webhooks: bounces and complaints stop all email to an address; deliveries are recorded.

Real payload shapes (tests/fixtures/webhooks/) are posted to the real URLs, through
anymail's own views, with and without the basic-auth secret and the ESP's signature.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from base64 import b64encode
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from anymail.signals import AnymailTrackingEvent
from anymail.webhooks import amazon_ses
from django.core.management import call_command
from django.utils import timezone

from digest.models import Delivery
from subscriptions import webhooks
from subscriptions.models import EmailEvent, Subscriber, Suppression, email_hash
from tests.digest.conftest import DAY, make_paper, make_reader
from tests.subscriptions.helpers import signup_data
from tests.support.paths import FIXTURES

pytestmark = pytest.mark.django_db

FIXTURES = FIXTURES / "webhooks"
SECRET = "esp-webhooks:correct-horse-battery-staple"
SIGNING_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
POSTMARK_MESSAGE = "883953f4-6105-42a2-a16a-77a8eac79483"
SES_MESSAGE = "0102019ab1c2d3e4-5f6a7b8c-9d0e-4f1a-8b2c-3d4e5f6a7b8c-000000"


@pytest.fixture(autouse=True)
def webhook_settings(settings) -> None:
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}
    settings.SOFT_BOUNCE_LIMIT = 3


@pytest.fixture(autouse=True)
def ses_without_boto3(monkeypatch) -> None:
    """anymail's SES views read boto3 settings when built; boto3 comes with the
    django-anymail[amazon-ses] extra. These tests reach neither boto3 nor AWS."""
    try:
        import boto3  # type: ignore[import-not-found]  # noqa: F401  # an optional extra
    except ImportError:
        monkeypatch.setattr(amazon_ses, "_get_anymail_boto3_params", lambda kwargs: ({}, {}))


# --- payloads as the ESPs send them ------------------------------------------------------------
def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def ids(person: Subscriber | None = None, delivery: Delivery | None = None) -> dict[str, str]:
    """The metadata our messages carry; ESPs give the values back as strings."""
    metadata = {"subscriber_id": str(person.pk)} if person else {}
    return metadata | ({"delivery_id": str(delivery.pk)} if delivery else {})


def postmark(name: str, to: str, metadata: dict[str, str], **fields: object) -> dict[str, Any]:
    payload = load(name)
    payload["Email" if "Email" in payload else "Recipient"] = to
    payload["Metadata"] = metadata
    return payload | fields


def mailgun(
    name: str,
    to: str,
    variables: dict[str, str],
    *,
    key: str = SIGNING_KEY,
    token: str | None = None,
) -> dict[str, Any]:
    payload = load(name)
    data = payload["event-data"]
    data["recipient"] = data["envelope"]["targets"] = data["message"]["headers"]["to"] = to
    data["user-variables"] = variables
    signature = payload["signature"]
    signature["token"] = token or signature["token"]
    # Exactly what Mailgun sends and anymail checks: HMAC-SHA256 of timestamp + token.
    signature["signature"] = hmac.new(
        key.encode(), f"{signature['timestamp']}{signature['token']}".encode(), hashlib.sha256
    ).hexdigest()
    return payload


def ses(
    name: str,
    to: str,
    metadata: dict[str, str] | None = None,
    change: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """An SNS envelope whose Message is the SES event as a JSON string."""
    envelope = load(name)
    event = json.loads(envelope["Message"])
    mail = event["mail"]
    mail["destination"] = [to]
    for kind in ("bounce", "complaint"):
        for recipient in event.get(kind, {}).get(f"{kind}edRecipients", []):
            recipient["emailAddress"] = to
    headers = [h for h in mail.get("headers", []) if h["name"] != "X-Metadata"]
    if metadata is not None:
        # anymail's SES backend sends metadata as an X-Metadata header (JSON).
        headers.append({"name": "X-Metadata", "value": json.dumps(metadata)})
    if "headers" in mail:
        mail["headers"] = headers
    if change:
        change(event)
    envelope["Message"] = json.dumps(event)
    return envelope


def basic_auth(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + b64encode(secret.encode()).decode()}


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    """POST a payload to /anymail/<esp>/tracking/; the after-commit task runs in-process."""

    def send(esp: str, payload: dict[str, Any], *, secret: str | None = SECRET):
        headers = basic_auth(secret) if secret else {}
        content_type = "application/json"
        if esp == "amazon_ses":
            content_type = "text/plain; charset=UTF-8"  # SNS posts its JSON as text/plain
            headers |= {
                "HTTP_X_AMZ_SNS_MESSAGE_TYPE": payload["Type"],
                "HTTP_X_AMZ_SNS_MESSAGE_ID": payload["MessageId"],
            }
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                f"/anymail/{esp}/tracking/",
                data=json.dumps(payload),
                content_type=content_type,
                **headers,
            )

    return send


def sent_delivery(person: Subscriber, message_id: str = "", period: str = "daily:2026-11-26"):
    return Delivery.objects.create(
        subscriber=person,
        period=period,
        window_start=date(2026, 11, 26),
        window_end=date(2026, 11, 26),
        status=Delivery.Status.SENT,
        message_id=message_id,
        sent_at=timezone.now(),
    )


def refreshed(person: Subscriber) -> Subscriber:
    person.refresh_from_db()
    return person


def suppressed(address: str) -> bool:
    return Suppression.covers(address)


# --- bounces and complaints ------------------------------------------------------------------
def test_a_postmark_hard_bounce_marks_the_subscriber_bounced_and_suppresses_the_address(
    post, alice
):
    delivery = sent_delivery(alice, POSTMARK_MESSAGE)

    response = post("postmark", postmark("postmark_bounce.json", alice.email, ids(alice, delivery)))

    assert response.status_code == 200
    assert refreshed(alice).status == Subscriber.Status.BOUNCED
    assert not alice.can_be_emailed
    assert suppressed("alice@example.com")
    event = EmailEvent.objects.get()
    assert (event.esp, event.event_id, event.event_type) == (
        "Postmark",
        "4323372036854775807",
        "bounced",
    )
    assert (event.effect, event.subscriber, event.delivery) == ("bounced", alice, delivery)
    assert event.occurred_at == datetime(2026, 11, 26, 8, 3, 54, 907025, tzinfo=UTC)
    assert event.processed_at is not None


def test_a_postmark_spam_complaint_marks_the_subscriber_complained(post, alice):
    post("postmark", postmark("postmark_spam_complaint.json", alice.email, ids(alice)))

    assert refreshed(alice).status == Subscriber.Status.COMPLAINED
    assert Suppression.objects.get().reason == Suppression.Reason.COMPLAINED


def test_after_a_postmark_spam_complaint_a_new_signup_of_that_address_sends_nothing(
    client, post, outbox, settings
):
    settings.RATE_LIMIT_PER_ADDRESS = 100  # nothing is held back by the rate limit
    client.post("/subscribe/", signup_data(email="erin@example.com"))
    erin = Subscriber.objects.get(email="erin@example.com")
    assert len(outbox.to("erin@example.com")) == 1  # the confirmation she complained about

    post("postmark", postmark("postmark_spam_complaint.json", erin.email, ids(erin)))
    client.post("/subscribe/", signup_data(email="erin@example.com"))
    client.post("/preferences/", {"email": "erin@example.com"})
    erin.delete()  # even after erasure, the suppression hash remains
    client.post("/subscribe/", signup_data(email="Erin@Example.com"))

    assert len(outbox.to("erin@example.com")) == 1
    assert not Subscriber.objects.filter(email="erin@example.com").exists()


def test_a_complaint_after_a_bounce_wins_but_a_bounce_never_undoes_a_complaint(post, alice):
    post("postmark", postmark("postmark_bounce.json", alice.email, ids(alice)))
    post("postmark", postmark("postmark_spam_complaint.json", alice.email, ids(alice)))
    assert refreshed(alice).status == Subscriber.Status.COMPLAINED

    post("postmark", postmark("postmark_bounce.json", alice.email, ids(alice), ID=99))

    assert refreshed(alice).status == Subscriber.Status.COMPLAINED
    assert Suppression.objects.get().reason == Suppression.Reason.COMPLAINED


def test_unsubscribed_and_pending_people_who_bounce_become_bounced(post, bob, carol):
    post("postmark", postmark("postmark_bounce.json", bob.email, ids(bob)))
    post("postmark", postmark("postmark_bounce.json", carol.email, ids(carol)))

    assert refreshed(bob).status == Subscriber.Status.BOUNCED
    assert refreshed(carol).status == Subscriber.Status.BOUNCED
    assert suppressed(bob.email) and suppressed(carol.email)


def test_an_unsubscribe_at_the_esp_unsubscribes_them(post, alice):
    post("postmark", postmark("postmark_subscription_change.json", alice.email, ids(alice)))

    alice = refreshed(alice)
    assert alice.status == Subscriber.Status.UNSUBSCRIBED
    assert alice.unsubscribe_reason == "esp-unsubscribed"
    assert not suppressed(alice.email)  # they may come back by signing up again


def test_a_mailgun_permanent_failure_marks_the_subscriber_bounced(post, alice):
    delivery = sent_delivery(alice)

    response = post(
        "mailgun", mailgun("mailgun_permanent_failure.json", alice.email, ids(alice, delivery))
    )

    assert response.status_code == 200
    assert refreshed(alice).status == Subscriber.Status.BOUNCED
    event = EmailEvent.objects.get()
    assert event.event_id == "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    assert event.message_id == "<20261126080000.1.4C8A5F1E2B9D3A77@mg.example.org>"
    assert event.delivery == delivery


def test_after_a_mailgun_permanent_failure_send_digests_sends_that_person_nothing(post, outbox):
    make_paper("ZeroSearch: search without searching", "retrieval-and-rag", upvotes=41)
    make_paper(
        "Fresh retrieval paper of the 27th", "retrieval-and-rag", day=DAY + timedelta(days=1)
    )
    grace = make_reader("grace@example.com", ["retrieval-and-rag"])
    make_reader("frank@example.com", ["retrieval-and-rag"])  # the control: still mailed
    call_command("send_digests", "--now", "2026-11-26T08:00:00+00:00")
    assert len(outbox.to("grace@example.com")) == 1
    delivery = Delivery.objects.get(subscriber=grace)

    post("mailgun", mailgun("mailgun_permanent_failure.json", grace.email, ids(grace, delivery)))
    call_command("send_digests", "--now", "2026-11-27T08:00:00+00:00")

    assert len(outbox.to("grace@example.com")) == 1
    assert len(outbox.to("frank@example.com")) == 2
    assert refreshed(grace).status == Subscriber.Status.BOUNCED
    assert list(Delivery.objects.filter(subscriber=grace)) == [delivery]


def test_an_ses_bounce_through_sns_marks_the_subscriber_bounced(post, alice):
    delivery = sent_delivery(alice, SES_MESSAGE)

    response = post("amazon_ses", ses("ses_bounce.json", alice.email, ids(alice, delivery)))

    assert response.status_code == 200
    assert refreshed(alice).status == Subscriber.Status.BOUNCED
    event = EmailEvent.objects.get()
    assert (event.esp, event.event_id) == ("Amazon SES", "19ba9823-d7f2-53c1-860e-cb10e0d13dfc")
    assert (event.message_id, event.delivery, event.description) == (
        SES_MESSAGE,
        delivery,
        "Permanent: General",
    )


def test_an_ses_complaint_without_metadata_finds_the_delivery_by_the_message_id(post, alice):
    delivery = sent_delivery(alice, SES_MESSAGE)

    post("amazon_ses", ses("ses_complaint.json", alice.email))

    assert refreshed(alice).status == Subscriber.Status.COMPLAINED
    assert EmailEvent.objects.get().delivery == delivery
    assert suppressed(alice.email)


def test_an_sns_subscription_confirmation_is_confirmed_by_anymail_and_records_nothing(
    post, monkeypatch
):
    confirmed = []
    monkeypatch.setattr(
        amazon_ses.AmazonSESTrackingWebhookView,
        "auto_confirm_sns_subscription",
        lambda view, message: confirmed.append(message["TopicArn"]),
    )

    response = post("amazon_ses", load("sns_subscription_confirmation.json"))

    assert response.status_code == 200
    assert confirmed == ["arn:aws:sns:eu-west-1:123456789012:ses-digest-events"]
    assert not EmailEvent.objects.exists()


# --- soft bounces ------------------------------------------------------------------------------
def soft_bounce(post, person: Subscriber, n: int) -> None:
    """The n-th soft bounce: another message, another event."""
    post(
        "postmark",
        postmark(
            "postmark_soft_bounce.json", person.email, ids(person), ID=n, MessageID=f"message-{n}"
        ),
    )


def test_soft_bounces_suppress_only_at_the_threshold(post, alice):
    soft_bounce(post, alice, 1)
    soft_bounce(post, alice, 2)
    assert (refreshed(alice).status, alice.soft_bounces) == (Subscriber.Status.ACTIVE, 2)
    assert not suppressed(alice.email)

    soft_bounce(post, alice, 3)

    assert (refreshed(alice).status, alice.soft_bounces) == (Subscriber.Status.BOUNCED, 3)
    assert suppressed(alice.email)
    assert alice.unsubscribe_reason.startswith("3 soft bounces; last: Postmark bounced")


def test_the_retries_of_one_deferred_message_count_as_one_soft_bounce(post, alice):
    first = mailgun("mailgun_temporary_failure.json", alice.email, ids(alice))
    # Mailgun's next retry of the same message: another event, another token.
    second = mailgun("mailgun_temporary_failure.json", alice.email, ids(alice), token="t" * 50)
    third = postmark("postmark_soft_bounce.json", alice.email, ids(alice))

    for esp, payload in [("mailgun", first), ("mailgun", second), ("postmark", third)]:
        post(esp, payload)

    assert EmailEvent.objects.filter(effect="soft_bounce").count() == 3
    assert refreshed(alice).soft_bounces == 2  # two messages
    assert alice.status == Subscriber.Status.ACTIVE


def test_a_delivery_clears_the_soft_bounce_count(post, alice):
    soft_bounce(post, alice, 1)
    soft_bounce(post, alice, 2)

    post("postmark", postmark("postmark_delivery.json", alice.email, ids(alice)))
    soft_bounce(post, alice, 3)

    assert (refreshed(alice).status, alice.soft_bounces) == (Subscriber.Status.ACTIVE, 1)


def test_a_hard_bounce_after_soft_ones_bounces_at_once(post, alice):
    soft_bounce(post, alice, 1)

    post("postmark", postmark("postmark_bounce.json", alice.email, ids(alice)))

    assert refreshed(alice).status == Subscriber.Status.BOUNCED


def test_a_transient_ses_bounce_is_a_soft_bounce(post, alice):
    def transient(event: dict[str, Any]) -> None:
        event["bounce"] |= {"bounceType": "Transient", "bounceSubType": "MailboxFull"}

    post("amazon_ses", ses("ses_bounce.json", alice.email, ids(alice), change=transient))

    assert (refreshed(alice).status, alice.soft_bounces) == (Subscriber.Status.ACTIVE, 1)
    assert EmailEvent.objects.get().effect == "soft_bounce"


# --- delivered, opened, clicked ---------------------------------------------------------------
def test_delivered_opened_and_clicked_set_the_delivery_times_once(post, alice):
    delivery = sent_delivery(alice, POSTMARK_MESSAGE)
    meta = ids(alice, delivery)

    post("postmark", postmark("postmark_delivery.json", alice.email, meta))
    post("postmark", postmark("postmark_open.json", alice.email, meta))
    post("postmark", postmark("postmark_click.json", alice.email, meta))
    post(
        "postmark",
        postmark("postmark_open.json", alice.email, meta, ReceivedAt="2026-11-27T07:00:00Z"),
    )

    delivery.refresh_from_db()
    assert delivery.delivered_at == datetime(2026, 11, 26, 8, 0, 7, tzinfo=UTC)
    assert delivery.opened_at == datetime(2026, 11, 26, 8, 30, tzinfo=UTC)  # the first open
    assert delivery.clicked_at == datetime(2026, 11, 26, 8, 31, tzinfo=UTC)
    assert EmailEvent.objects.count() == 4
    assert refreshed(alice).status == Subscriber.Status.ACTIVE


def test_a_delivery_without_metadata_is_found_by_the_esp_message_id(post, alice):
    delivery = sent_delivery(alice, POSTMARK_MESSAGE)

    post("postmark", postmark("postmark_open.json", alice.email, {}))

    delivery.refresh_from_db()
    assert delivery.opened_at is not None
    assert EmailEvent.objects.get().subscriber == alice


# --- once, and only from the ESP ---------------------------------------------------------------
def test_the_same_event_posted_twice_is_applied_once(post, alice):
    payload = postmark("postmark_soft_bounce.json", alice.email, ids(alice))

    first, second = post("postmark", payload), post("postmark", payload)

    assert (first.status_code, second.status_code) == (200, 200)
    assert EmailEvent.objects.count() == 1
    assert refreshed(alice).soft_bounces == 1


def test_events_without_an_esp_id_are_deduplicated_by_their_content(post, alice):
    payload = postmark("postmark_open.json", alice.email, ids(alice))

    post("postmark", payload)
    post("postmark", payload)
    post("postmark", payload | {"ReceivedAt": "2026-11-26T09:00:00Z"})

    assert EmailEvent.objects.count() == 2
    assert all(e.event_id.startswith("derived:") for e in EmailEvent.objects.all())


def test_a_stored_event_whose_task_was_lost_is_applied_when_the_esp_retries(post, alice):
    payload = postmark("postmark_bounce.json", alice.email, ids(alice))
    post("postmark", payload)
    EmailEvent.objects.update(processed_at=None)
    Subscriber.objects.filter(pk=alice.pk).update(status=Subscriber.Status.ACTIVE)

    post("postmark", payload)

    assert refreshed(alice).status == Subscriber.Status.BOUNCED
    assert EmailEvent.objects.count() == 1


def test_applying_an_event_twice_changes_nothing_the_second_time(post, alice):
    soft_bounce(post, alice, 1)
    event = EmailEvent.objects.get()

    assert webhooks.apply_event(event.pk) is False
    assert refreshed(alice).soft_bounces == 1


@pytest.mark.parametrize(
    ("esp", "build"),
    [
        ("postmark", lambda p: postmark("postmark_bounce.json", p.email, ids(p))),
        ("mailgun", lambda p: mailgun("mailgun_permanent_failure.json", p.email, ids(p))),
        ("amazon_ses", lambda p: ses("ses_bounce.json", p.email, ids(p))),
    ],
)
@pytest.mark.parametrize("secret", [None, "esp-webhooks:guessed"])
def test_a_webhook_without_the_right_secret_changes_nothing(post, alice, esp, build, secret):
    response = post(esp, build(alice), secret=secret)

    assert response.status_code in (400, 401, 403)
    assert not EmailEvent.objects.exists()
    assert refreshed(alice).status == Subscriber.Status.ACTIVE
    assert not Suppression.objects.exists()


def test_a_mailgun_event_with_a_wrong_signature_changes_nothing(post, alice):
    forged = mailgun("mailgun_permanent_failure.json", alice.email, ids(alice), key="key-guessed")

    response = post("mailgun", forged)

    assert response.status_code == 400
    assert not EmailEvent.objects.exists()
    assert refreshed(alice).status == Subscriber.Status.ACTIVE


@pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailInsecureWebhookWarning")
def test_a_server_without_a_webhook_secret_refuses_every_event(post, alice, settings):
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}

    postmark_answer = post("postmark", postmark("postmark_bounce.json", alice.email, ids(alice)))
    mailgun_answer = post(
        "mailgun", mailgun("mailgun_permanent_failure.json", alice.email, ids(alice))
    )

    assert (postmark_answer.status_code, mailgun_answer.status_code) == (400, 400)
    assert not EmailEvent.objects.exists()
    assert refreshed(alice).status == Subscriber.Status.ACTIVE


# --- unknown people, other addresses, privacy --------------------------------------------------
def test_an_unknown_recipient_is_recorded_and_answered_with_200(post):
    response = post("postmark", postmark("postmark_bounce.json", "nobody@example.net", {}))

    assert response.status_code == 200
    event = EmailEvent.objects.get()
    assert (event.subscriber, event.delivery, event.effect) == (None, None, "bounced")
    assert event.recipient_hash == email_hash("nobody@example.net")
    assert event.processed_at is not None
    assert suppressed("nobody@example.net")  # never to be emailed, should it sign up


def test_metadata_of_a_deleted_subscriber_is_answered_with_200(post, alice):
    delivery = sent_delivery(alice, POSTMARK_MESSAGE)
    payload = postmark("postmark_delivery.json", alice.email, ids(alice, delivery))
    alice.delete()

    response = post("postmark", payload)

    assert response.status_code == 200
    assert EmailEvent.objects.get().subscriber is None


def test_a_bounce_of_another_address_leaves_the_subscriber_in_the_metadata_alone(post, alice):
    # A link sent to a new address (an email change) carries alice's id; the new one bounced.
    post("postmark", postmark("postmark_bounce.json", "alice@exmaple.com", ids(alice)))

    assert refreshed(alice).status == Subscriber.Status.ACTIVE
    assert not suppressed(alice.email)
    assert suppressed("alice@exmaple.com")


def test_events_keep_no_address_and_go_with_the_subscriber(post, alice):
    payload = postmark("postmark_bounce.json", alice.email, ids(alice))
    payload["Description"] = "smtp; 550 5.1.1 <alice@example.com>: Recipient address rejected"
    post("postmark", payload)

    event = EmailEvent.objects.get()
    stored = " ".join(str(getattr(event, f.attname)) for f in EmailEvent._meta.concrete_fields)
    assert "alice@example.com" not in stored
    assert event.description == "smtp; 550 5.1.1 <[address]>: Recipient address rejected"

    alice.delete()
    assert not EmailEvent.objects.exists()
    assert suppressed("alice@example.com")


def test_the_webhook_stores_an_event_with_one_insert(post, alice, django_assert_max_num_queries):
    delivery = sent_delivery(alice, POSTMARK_MESSAGE)
    payload = postmark("postmark_open.json", alice.email, ids(alice, delivery))
    event = AnymailTrackingEvent(
        event_type="opened",
        event_id=None,
        message_id=POSTMARK_MESSAGE,
        recipient=alice.email,
        metadata=ids(alice, delivery),
        timestamp=timezone.now(),
        esp_event=payload,
    )

    # One SELECT (delivery and subscriber joined), a savepoint around one INSERT.
    with django_assert_max_num_queries(4) as queries:
        webhooks.store(event, "Postmark")

    assert [q["sql"].split()[0] for q in queries.captured_queries].count("INSERT") == 1


# --- what each ESP's event means (no database) ------------------------------------------------
def event_of(kind: str, esp_event: object = None, reject_reason: str | None = None):
    return AnymailTrackingEvent(event_type=kind, esp_event=esp_event, reject_reason=reject_reason)


SES_UNDETERMINED = {"bounce": {"bounceType": "Undetermined"}}
MAILGUN_SUPPRESSED = {"event-data": {"reason": "suppress-complaint"}}
MAILJET_SOFT = {"event": "bounce", "hard_bounce": False}


def sparkpost_class(number: str) -> dict[str, Any]:
    return {"msys": {"message_event": {"bounce_class": number}}}


@pytest.mark.parametrize(
    ("esp", "kind", "raw", "reason", "effect"),
    [
        ("Postmark", "bounced", {"Type": "HardBounce"}, "bounced", "bounced"),
        ("Postmark", "bounced", {"Type": "SoftBounce"}, "bounced", "soft_bounce"),
        ("Postmark", "deferred", {"Type": "Transient"}, None, "soft_bounce"),
        ("Amazon SES", "bounced", {"bounce": {"bounceType": "Permanent"}}, "bounced", "bounced"),
        ("Amazon SES", "bounced", SES_UNDETERMINED, "bounced", "soft_bounce"),
        ("Mailgun", "bounced", {"event-data": {"reason": "bounce"}}, "bounced", "bounced"),
        ("Mailgun", "bounced", MAILGUN_SUPPRESSED, "other", "complained"),
        ("Brevo", "bounced", {"event": "soft_bounce"}, "bounced", "soft_bounce"),
        ("Brevo", "bounced", {"event": "hard_bounce"}, "bounced", "bounced"),
        ("Mailjet", "bounced", MAILJET_SOFT, "bounced", "soft_bounce"),
        ("Resend", "bounced", {"data": {"bounce": {"type": "Permanent"}}}, "bounced", "bounced"),
        ("SparkPost", "bounced", sparkpost_class("22"), "bounced", "soft_bounce"),
        ("SparkPost", "bounced", sparkpost_class("10"), "invalid", "bounced"),
        ("Postmark", "rejected", {}, "invalid", "bounced"),
        ("Postmark", "rejected", {}, "spam", "complained"),
        ("Postmark", "rejected", {}, "blocked", "soft_bounce"),
        ("Postmark", "failed", {}, None, "none"),
        ("Postmark", "failed", {}, "bounced", "bounced"),
        ("Postmark", "complained", {}, "spam", "complained"),
        ("Postmark", "subscribed", {}, None, "none"),
        ("Postmark", "sent", {}, None, "none"),
        ("Postmark", "clicked", {}, None, "clicked"),
    ],
)
def test_each_event_has_the_effect_its_esp_means(esp, kind, raw, reason, effect):
    assert webhooks.effect_of(event_of(kind, raw, reason), esp) == effect


def test_a_derived_event_id_depends_on_the_event_not_on_when_it_arrived():
    moment = datetime(2026, 11, 26, 8, tzinfo=UTC)
    one = AnymailTrackingEvent(event_type="opened", message_id="m", timestamp=moment)
    same = AnymailTrackingEvent(event_type="opened", message_id="m", timestamp=moment)
    later = AnymailTrackingEvent(
        event_type="opened", message_id="m", timestamp=moment + timedelta(days=1)
    )

    assert webhooks.event_key(one, "Postmark") == webhooks.event_key(same, "Postmark")
    assert webhooks.event_key(one, "Postmark") != webhooks.event_key(later, "Postmark")


def test_a_soft_bounce_of_a_person_already_bounced_keeps_them_bounced(post, dave):
    for n in range(1, 4):
        soft_bounce(post, dave, n)

    assert refreshed(dave).status == Subscriber.Status.BOUNCED


def test_a_new_complaint_makes_a_bounced_person_complained(post, dave):
    post("postmark", postmark("postmark_spam_complaint.json", dave.email, ids(dave)))

    assert refreshed(dave).status == Subscriber.Status.COMPLAINED


def test_the_deploy_check_warns_when_an_esp_sends_without_a_webhook_secret(settings):
    settings.EMAIL_PROVIDER = "postmark"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "server-token"}
    assert [m.id for m in webhooks.check_webhook_secret()] == ["subscriptions.W001"]

    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "server-token", "WEBHOOK_SECRET": SECRET}
    assert webhooks.check_webhook_secret() == []


# --- bodies and ESPs that are not what they should be: 400 or 404, one line, never a 500 ----
@pytest.mark.parametrize(
    ("esp", "body"),
    [
        ("postmark", "{not json"),
        ("postmark", "[1, 2, 3]"),
        ("postmark", '"a string"'),
        ("mailgun", "{not json"),
        ("mailgun", "[]"),
        ("sparkpost", "{not json"),
        ("brevo", "[]"),
    ],
)
def test_a_malformed_body_with_the_right_secret_is_a_400_and_one_log_line(
    client, alice, caplog, esp, body
):
    response = client.post(
        f"/anymail/{esp}/tracking/",
        data=body,
        content_type="application/json",
        **basic_auth(SECRET),
    )

    assert response.status_code == 400
    assert not EmailEvent.objects.exists()
    assert refreshed(alice).status == Subscriber.Status.ACTIVE
    warnings = [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    message = warnings[0].getMessage()
    assert "unreadable body" in message or "invalid payload" in message  # anymail's own word
    assert warnings[0].exc_info is None


def test_mailgun_without_a_signing_key_answers_404_not_500(client, settings, caplog):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}

    response = client.post(
        "/anymail/mailgun/tracking/",
        data="{}",
        content_type="application/json",
        **basic_auth(SECRET),
    )
    anonymous = client.post("/anymail/mailgun/tracking/", data="{}", content_type="text/plain")

    assert (response.status_code, anonymous.status_code) == (404, 404)
    assert all(r.exc_info is None for r in caplog.records)


def test_amazon_ses_without_boto3_answers_404_not_500(client, monkeypatch, caplog):
    from anymail.exceptions import AnymailImproperlyInstalled

    def no_boto3(kwargs):
        raise AnymailImproperlyInstalled(missing_package="boto3", install_extra="amazon-ses")

    monkeypatch.setattr(amazon_ses, "_get_anymail_boto3_params", no_boto3)

    response = client.post("/anymail/amazon_ses/tracking/", data="{}", content_type="text/plain")

    assert response.status_code == 404
    assert all(r.exc_info is None for r in caplog.records)


@pytest.mark.parametrize("secret", [None, "esp-webhooks:guessed"])
def test_a_forged_request_logs_one_line_without_a_traceback(post, alice, caplog, secret):
    response = post(
        "postmark", postmark("postmark_bounce.json", alice.email, ids(alice)), secret=secret
    )

    assert response.status_code == 400
    warnings = [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "refused" in warnings[0].getMessage()
    assert warnings[0].exc_info is None
    assert SECRET.split(":")[1] not in caplog.text

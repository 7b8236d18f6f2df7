"""Signing up stores a pending subscriber and emails a link; its page's button confirms.

Opening the link changes nothing: link scanners and mail previews open every link."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from subscriptions.forms import FORM_VERSION
from subscriptions.models import Subscriber
from tests.subscriptions.helpers import html_of, link_path, signup_data, text_of

pytestmark = pytest.mark.django_db

SUBSCRIBE = "/subscribe/"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"


def sign_up(client, **overrides):
    return client.post(
        SUBSCRIBE, signup_data(**overrides), HTTP_USER_AGENT=BROWSER, REMOTE_ADDR="203.0.113.5"
    )


def confirm(client, path, **extra):
    """What a person does: open the link, then press the page's button."""
    page = client.get(path, **extra)
    assert page.status_code == 200, page.status_code
    assert "Yes, subscribe me" in page.content.decode()
    return client.post(path, **extra)


def test_a_new_address_becomes_pending_with_its_preferences_and_consent_record(client):
    sign_up(
        client,
        frequency="weekly",
        weekday="4",
        send_hour="18",
        max_papers="15",
        keywords="diffusion",
    )

    erin = Subscriber.objects.get(email="erin@example.com")
    assert erin.status == Subscriber.Status.PENDING
    assert sorted(t.slug for t in erin.topics.all()) == [
        "llm-reasoning-and-rl-post-training",
        "retrieval-and-rag",
    ]
    assert (erin.frequency, erin.weekday, erin.send_hour) == ("weekly", 4, 18)
    assert (erin.timezone, erin.max_papers, erin.keywords) == ("Europe/Berlin", 15, "diffusion")
    assert erin.signup_ip == "203.0.113.5"
    assert erin.signup_user_agent == BROWSER
    assert erin.form_version == FORM_VERSION
    assert erin.signed_up_at is not None
    assert erin.confirmed_at is None


def test_the_confirmation_email_has_a_text_and_an_html_part_with_the_link(client, outbox):
    sign_up(client)

    [message] = outbox.to("erin@example.com")
    assert message["Subject"] == "Confirm your Daily Papers subscription"
    assert message["From"] == "Daily Papers <papers@localhost>"
    path = link_path(message, "confirm")
    assert path in text_of(message)
    assert f'href="http://localhost:8000{path}"' in html_of(message)
    assert "LLM reasoning and RL" in text_of(message)
    assert "7 days" in text_of(message)
    assert "1 Example Street" in text_of(message) and "1 Example Street" in html_of(message)


def test_the_confirmation_email_has_its_css_inlined(client, outbox):
    sign_up(client)

    html = html_of(outbox.to("erin@example.com")[0])
    assert 'class="button"' in html and "background-color:#1d4ed8" in html
    style_block = html.split("<style>")[1].split("</style>")[0]
    assert style_block.strip().startswith("@media")


def test_opening_the_link_shows_a_button_and_changes_nothing(client, outbox):
    sign_up(client)
    path = link_path(outbox.messages[0], "confirm")

    for _ in range(3):  # a mail gateway's scanner, a preview, the person
        response = client.get(path, REMOTE_ADDR="203.0.113.9")
    client.head(path)

    erin = Subscriber.objects.get(email="erin@example.com")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Confirm your subscription" in body
    assert '<button type="submit">Yes, subscribe me</button>' in body
    assert 'name="csrfmiddlewaretoken"' in body
    assert erin.status == Subscriber.Status.PENDING
    assert erin.confirmed_at is None


def test_the_button_is_csrf_protected(client, outbox):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    sign_up(client)
    path = link_path(outbox.messages[0], "confirm")

    forged = browser.post(path)  # from another site: no token
    assert forged.status_code == 403
    assert Subscriber.objects.get(email="erin@example.com").status == "pending"

    page = browser.get(path)
    token = page.context["csrf_token"]
    response = browser.post(path, {"csrfmiddlewaretoken": str(token)})
    assert response.status_code == 200
    assert Subscriber.objects.get(email="erin@example.com").status == "active"


def test_the_button_confirms_and_records_when_and_from_where(client, outbox):
    sign_up(client)
    path = link_path(outbox.messages[0], "confirm")

    response = confirm(client, path, REMOTE_ADDR="203.0.113.9")

    erin = Subscriber.objects.get(email="erin@example.com")
    assert response.status_code == 200
    assert "You're subscribed" in response.content.decode()
    assert erin.status == Subscriber.Status.ACTIVE
    assert erin.confirm_ip == "203.0.113.9"
    assert erin.confirmed_at is not None


def test_confirming_twice_changes_nothing_the_second_time(client, outbox):
    sign_up(client)
    path = link_path(outbox.messages[0], "confirm")
    confirm(client, path, REMOTE_ADDR="203.0.113.9")
    first = Subscriber.objects.get(email="erin@example.com").confirmed_at

    response = client.post(path, REMOTE_ADDR="203.0.113.10")
    assert "You're subscribed" in client.get(path).content.decode()  # no second button

    erin = Subscriber.objects.get(email="erin@example.com")
    assert response.status_code == 200
    assert erin.confirmed_at == first
    assert erin.confirm_ip == "203.0.113.9"


def test_the_link_expires_after_seven_days(client, outbox):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_up(client)
        path = link_path(outbox.messages[0], "confirm")
        traveller.shift(timedelta(days=7, seconds=1))

        response = client.get(path)
        pressed = client.post(path)

    assert response.status_code == 410
    assert pressed.status_code == 410
    assert "This link has expired" in response.content.decode()
    assert 'name="email"' in response.content.decode()  # a form to get a new link
    assert Subscriber.objects.get(email="erin@example.com").status == "pending"


def test_the_link_still_works_on_the_seventh_day(client, outbox):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_up(client)
        path = link_path(outbox.messages[0], "confirm")
        traveller.shift(timedelta(days=6, hours=23))

        confirm(client, path)

    assert Subscriber.objects.get(email="erin@example.com").status == "active"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature
        lambda t: "9" + t,  # another primary key
        lambda t: t.split(":")[0],  # no signature at all
        lambda t: "garbage",
    ],
)
def test_a_tampered_link_gets_a_clear_page_with_a_form_for_a_new_one(client, outbox, tamper):
    sign_up(client)
    token = link_path(outbox.messages[0], "confirm").split("/")[2]

    response = client.get(f"/confirm/{tamper(token)}/")
    pressed = client.post(f"/confirm/{tamper(token)}/")

    assert response.status_code == pressed.status_code == 400
    assert "This link does not work" in response.content.decode()
    assert 'action="/preferences/"' in response.content.decode()
    assert Subscriber.objects.get(email="erin@example.com").status == "pending"


def test_a_confirm_link_cannot_confirm_after_an_unsubscribe(client, outbox):
    sign_up(client)
    path = link_path(outbox.messages[0], "confirm")
    Subscriber.objects.get().unsubscribe("changed my mind")

    response = client.post(path)

    assert response.status_code == 400
    assert client.get(path).status_code == 400
    assert Subscriber.objects.get().status == "unsubscribed"


def test_a_pending_address_signing_up_again_gets_a_new_link_and_new_choices(client, outbox, bob):
    sign_up(client, email="bob@example.com", topics=["agents-and-tool-use"], send_hour="9")

    bob.refresh_from_db()
    assert bob.status == "pending"
    assert [t.slug for t in bob.topics.all()] == ["agents-and-tool-use"]
    assert bob.send_hour == 9
    assert len(outbox.to("bob@example.com")) == 1
    assert "/confirm/" in text_of(outbox.to("bob@example.com")[0])


def test_an_active_subscriber_signing_up_again_gets_a_preferences_link_and_keeps_settings(
    client, outbox, alice
):
    sign_up(client, email="alice@example.com", topics=["agents-and-tool-use"], send_hour="3")

    alice.refresh_from_db()
    assert alice.status == "active"
    assert [t.slug for t in alice.topics.order_by("slug")] == [
        "llm-reasoning-and-rl-post-training",
        "retrieval-and-rag",
    ]
    assert alice.send_hour == 7
    [message] = outbox.to("alice@example.com")
    assert message["Subject"] == "Your Daily Papers preferences link"
    assert "/preferences/" in text_of(message)
    assert "/confirm/" not in text_of(message)


def test_an_unsubscribed_address_signing_up_again_starts_over_with_fresh_consent(
    client, outbox, carol
):
    old_signup = carol.signed_up_at

    sign_up(client, email="carol@example.com")

    carol.refresh_from_db()
    assert carol.status == "pending"
    assert carol.signed_up_at > old_signup
    assert carol.signup_user_agent == BROWSER
    assert carol.confirmed_at is None and carol.confirm_ip is None
    assert carol.unsubscribed_at is None and carol.unsubscribe_reason == ""
    assert "/confirm/" in text_of(outbox.to("carol@example.com")[0])


@pytest.mark.parametrize("status", ["bounced", "complained"])
def test_addresses_that_bounced_or_complained_get_no_email_at_all(client, outbox, dave, status):
    Subscriber.objects.filter(pk=dave.pk).update(status=status)

    sign_up(client, email="dave@example.com", topics=["agents-and-tool-use"])

    dave.refresh_from_db()
    assert dave.status == status
    assert [t.slug for t in dave.topics.order_by("slug")] == [
        "llm-reasoning-and-rl-post-training",
        "retrieval-and-rag",
    ]
    assert len(outbox) == 0

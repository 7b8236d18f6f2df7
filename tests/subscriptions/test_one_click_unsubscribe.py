"""RFC 8058: GET shows a page and changes nothing; POST unsubscribes at once, no cookies."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.test import Client
from django.utils import timezone

from subscriptions import tokens
from subscriptions.models import Subscriber

pytestmark = pytest.mark.django_db

ONE_CLICK = "List-Unsubscribe=One-Click"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def mail_client() -> Client:
    """What a mail provider's server sends: no cookies, no CSRF token, just the body."""
    return Client(enforce_csrf_checks=True)


def test_get_shows_a_button_and_never_unsubscribes(client, alice):
    for _ in range(3):  # scanners, previews, the person
        response = client.get(alice.unsubscribe_path())

    alice.refresh_from_db()
    assert response.status_code == 200
    assert alice.status == "active"
    body = response.content.decode()
    assert '<button type="submit" class="danger">Unsubscribe</button>' in body
    assert "Switch to one email a week" in body
    assert "Drop a topic" in body
    assert "Pause for" in body


def test_head_changes_nothing_either(client, alice):
    client.head(alice.unsubscribe_path())

    alice.refresh_from_db()
    assert alice.status == "active"


def test_the_one_click_post_unsubscribes_without_cookies_or_csrf(mail_client, alice):
    response = mail_client.post(alice.unsubscribe_path(), ONE_CLICK, content_type=FORM)

    alice.refresh_from_db()
    assert response.status_code == 200
    assert not response.has_header("Location")
    assert not mail_client.cookies
    assert alice.status == "unsubscribed"
    assert alice.unsubscribe_reason == "one-click"
    assert alice.unsubscribed_at is not None


def test_the_button_on_the_page_unsubscribes(client, alice):
    response = client.post(alice.unsubscribe_path(), {"source": "page"})

    alice.refresh_from_db()
    assert response.status_code == 200
    assert "You're unsubscribed" in response.content.decode()
    assert alice.status == "unsubscribed"
    assert alice.unsubscribe_reason == "unsubscribe page"


def test_posting_again_is_harmless_and_keeps_the_first_time(mail_client, alice):
    mail_client.post(alice.unsubscribe_path(), ONE_CLICK, content_type=FORM)
    first = Subscriber.objects.get(pk=alice.pk).unsubscribed_at

    response = mail_client.post(alice.unsubscribe_path(), ONE_CLICK, content_type=FORM)

    assert response.status_code == 200
    assert Subscriber.objects.get(pk=alice.pk).unsubscribed_at == first


def test_a_pending_subscriber_can_unsubscribe_too(mail_client, bob):
    mail_client.post(bob.unsubscribe_path(), ONE_CLICK, content_type=FORM)

    assert Subscriber.objects.get(pk=bob.pk).status == "unsubscribed"


def test_a_bounced_address_keeps_its_stronger_status(mail_client, dave):
    response = mail_client.post(dave.unsubscribe_path(), ONE_CLICK, content_type=FORM)

    assert response.status_code == 200
    assert Subscriber.objects.get(pk=dave.pk).status == "bounced"


def test_a_forged_token_is_refused_and_changes_nothing(mail_client, alice):
    forged = f"{alice.pk}.{tokens.fingerprint(alice.email)}:not-a-real-signature"

    response = mail_client.post(f"/unsubscribe/{forged}/", ONE_CLICK, content_type=FORM)

    assert response.status_code == 400
    assert Subscriber.objects.get(pk=alice.pk).status == "active"


def test_a_token_cannot_be_pointed_at_another_address(mail_client, alice, bob):
    token = alice.token(tokens.SALT_UNSUBSCRIBE)
    value, rest = token.split(":", 1)
    for_bob = f"{bob.pk}.{value.split('.')[1]}:{rest}"

    response = mail_client.post(f"/unsubscribe/{for_bob}/", ONE_CLICK, content_type=FORM)

    assert response.status_code == 400
    assert Subscriber.objects.get(pk=bob.pk).status == "pending"
    assert Subscriber.objects.get(pk=alice.pk).status == "active"


@pytest.mark.parametrize("salt", [tokens.SALT_PREFERENCES, tokens.SALT_CONFIRM])
def test_a_token_signed_for_another_purpose_does_not_unsubscribe(mail_client, alice, salt):
    response = mail_client.post(f"/unsubscribe/{alice.token(salt)}/", ONE_CLICK, content_type=FORM)

    assert response.status_code == 400
    assert Subscriber.objects.get(pk=alice.pk).status == "active"


def test_the_url_in_emails_is_absolute_https_ready_and_works(mail_client, alice, settings):
    url = alice.unsubscribe_url()

    assert url.startswith(settings.SITE_URL + "/unsubscribe/")
    path = url.removeprefix(settings.SITE_URL)
    assert mail_client.post(path, ONE_CLICK, content_type=FORM).status_code == 200


def test_an_already_unsubscribed_person_sees_so_on_get(client, carol):
    body = client.get(carol.unsubscribe_path()).content.decode()

    assert "You're unsubscribed" in body
    assert "Unsubscribe</button>" not in body


def test_put_and_delete_are_not_allowed(client, alice):
    assert client.put(alice.unsubscribe_path()).status_code == 405
    assert client.delete(alice.unsubscribe_path()).status_code == 405


# --- after an address change: the link keeps working for the reader it was sent to ------
def test_after_an_address_change_the_link_in_an_old_email_still_unsubscribes_them(
    mail_client, alice
):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        path = alice.unsubscribe_path()  # in the List-Unsubscribe header of a digest
        alice.change_email("alice@new.example")
        traveller.shift(timedelta(days=30))

        response = mail_client.post(path, ONE_CLICK, content_type=FORM)

    alice.refresh_from_db()
    assert response.status_code == 200
    assert "You're unsubscribed" in response.content.decode()
    assert alice.status == "unsubscribed"
    assert alice.unsubscribe_reason == "one-click"


def test_the_page_of_such_a_link_offers_only_to_unsubscribe_and_shows_no_address(client, alice):
    path = alice.unsubscribe_path()
    alice.change_email("alice@new.example")

    body = client.get(path).content.decode()

    assert '<button type="submit" class="danger">Unsubscribe</button>' in body
    assert "alice@new.example" not in body and "alice@example.com" not in body
    assert "/preferences/" not in body.replace('href="/preferences/"', "")
    assert "Pause for" not in body
    assert Subscriber.objects.get(pk=alice.pk).status == "active"


def test_an_old_link_after_an_address_change_never_answers_done_while_doing_nothing(
    mail_client, alice
):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        path = alice.unsubscribe_path()
        alice.change_email("alice@new.example")
        traveller.shift(tokens.UNSUBSCRIBE_AFTER_CHANGE_MAX_AGE + timedelta(days=1))

        response = mail_client.post(path, ONE_CLICK, content_type=FORM)

    assert response.status_code == 400
    assert "You're unsubscribed" not in response.content.decode()
    assert "This link does not work" in response.content.decode()
    assert Subscriber.objects.get(pk=alice.pk).status == "active"


def test_with_the_same_address_a_link_works_however_old(mail_client, alice):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        path = alice.unsubscribe_path()
        traveller.shift(timedelta(days=400))

        mail_client.post(path, ONE_CLICK, content_type=FORM)

    assert Subscriber.objects.get(pk=alice.pk).status == "unsubscribed"


def test_links_sent_before_they_carried_a_time_still_work_for_the_same_address(mail_client, alice):
    value = f"{alice.pk}.{tokens.fingerprint(alice.email)}"
    old_kind = signing.Signer(salt=tokens.SALT_UNSUBSCRIBE).sign(value)

    response = mail_client.post(f"/unsubscribe/{old_kind}/", ONE_CLICK, content_type=FORM)

    assert response.status_code == 200
    assert Subscriber.objects.get(pk=alice.pk).status == "unsubscribed"


def test_the_link_of_a_recent_email_cannot_open_the_preferences_of_the_new_address(client, alice):
    token = alice.unsubscribe_path().split("/")[2]
    alice.change_email("alice@new.example")

    response = client.get(f"/preferences/{token}/")

    assert response.status_code == 400

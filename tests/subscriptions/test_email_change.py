"""Changing the address on the preferences page: the new address must prove itself."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from subscriptions.models import Subscriber
from tests.subscriptions.helpers import current_preferences, link_path, without_csrf

pytestmark = pytest.mark.django_db


def change(client, subscriber, new_email):
    return client.post(
        subscriber.preferences_path(), current_preferences(subscriber, email=new_email)
    )


def confirm_new_address(client, path):
    """Open the link, then press its button, as the owner of the new address does."""
    page = client.get(path)
    assert page.status_code == 200
    return client.post(path)


def test_a_new_address_gets_a_link_and_nothing_changes_until_it_is_opened(client, alice, outbox):
    change(client, alice, "Alice@New.example")

    alice.refresh_from_db()
    assert alice.email == "alice@example.com"
    [message] = outbox.to("alice@new.example")
    assert message["Subject"] == "Confirm your new address for Daily Papers"


def test_opening_the_link_changes_the_address_and_kills_old_links(client, alice, outbox):
    old_preferences = alice.preferences_path()
    old_unsubscribe = alice.unsubscribe_path()
    change(client, alice, "alice@new.example")

    response = confirm_new_address(
        client, link_path(outbox.to("alice@new.example")[0], "change-email")
    )

    alice.refresh_from_db()
    assert response.status_code == 200
    assert alice.email == "alice@new.example"
    assert client.get(old_preferences).status_code == 400
    # The one exception: an opt-out keeps working for the reader it was sent to (CAN-SPAM),
    # and it only unsubscribes (tests/subscriptions/test_one_click_unsubscribe.py).
    assert client.post(old_unsubscribe).status_code == 200
    alice.refresh_from_db()
    assert alice.status == "unsubscribed"


def test_opening_it_twice_is_harmless(client, alice, outbox):
    change(client, alice, "alice@new.example")
    path = link_path(outbox.to("alice@new.example")[0], "change-email")

    confirm_new_address(client, path)
    again = client.post(path)
    reopened = client.get(path)

    assert again.status_code == 200 and reopened.status_code == 200
    assert b"Your address is changed" in reopened.content


def test_an_address_already_on_the_list_gets_no_email_and_the_same_message(
    client, alice, bob, outbox
):
    # One moment: the page's unsubscribe link carries the time it was made.
    with time_machine.travel(timezone.now(), tick=False):
        to_new = change(client, alice, "alice@new.example")
        first = client.get(to_new["Location"]).content.decode().replace("alice@new.example", "X")
        to_taken = change(client, alice, "bob@example.com")
        second = client.get(to_taken["Location"]).content.decode().replace("bob@example.com", "X")

    assert len(outbox.to("bob@example.com")) == 0
    assert without_csrf(first.encode()) == without_csrf(second.encode())


def test_an_address_taken_after_the_link_was_sent_is_refused(client, alice, outbox):
    change(client, alice, "alice@new.example")
    Subscriber.objects.create(email="alice@new.example")

    response = confirm_new_address(
        client, link_path(outbox.to("alice@new.example")[0], "change-email")
    )

    alice.refresh_from_db()
    assert response.status_code == 409
    assert alice.email == "alice@example.com"


def test_the_link_expires_after_seven_days(client, alice, outbox):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        change(client, alice, "alice@new.example")
        path = link_path(outbox.to("alice@new.example")[0], "change-email")
        traveller.shift(timedelta(days=8))

        opened = client.get(path)
        response = client.post(path)

    assert opened.status_code == 410
    assert response.status_code == 410
    assert Subscriber.objects.get(pk=alice.pk).email == "alice@example.com"


def test_opening_the_link_changes_nothing_link_scanners_open_every_link(client, alice, outbox):
    change(client, alice, "alice@new.example")
    path = link_path(outbox.to("alice@new.example")[0], "change-email")

    page = client.get(path)
    client.head(path)

    alice.refresh_from_db()
    assert alice.email == "alice@example.com"
    assert b"Yes, send my digests here" in page.content
    assert b"alice@new.example" in page.content
    assert b"alice@example.com" not in page.content  # the old address is not shown to the new

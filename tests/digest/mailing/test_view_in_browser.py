"""The "view in browser" link shows the exact email as a web page, to the address it was
sent to, for 90 days: after an address change or later, it says the link no longer works."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import time_machine
from django.core import mail, signing
from django.core.mail import EmailMultiAlternatives

from digest.mailing import dispatch, messages, planning
from digest.models import Delivery
from subscriptions import tokens

pytestmark = pytest.mark.django_db

NOW = datetime.fromisoformat("2026-11-26T08:00:00+00:00")


@pytest.fixture
def sent(papers, alice, settings) -> str:
    """Alice's digest went out; the path of its "view in browser" link, as in the email."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(NOW, tick=False):
        plan = planning.plan(NOW)
        dispatch.send_deliveries(plan.created, NOW)
    [message] = mail.outbox
    assert isinstance(message, EmailMultiAlternatives)
    html = next(str(body) for body, mime in message.alternatives if mime == "text/html")
    link = next(w for w in html.split('"') if "/digest/" in w)
    return link.removeprefix(settings.SITE_URL)


def test_the_link_in_the_email_opens_the_same_html(client, sent):
    with time_machine.travel(NOW + timedelta(days=1)):
        page = client.get(sent)

    assert page.status_code == 200
    assert "ZeroSearch: search without searching" in page.content.decode()
    assert page["Cache-Control"] == "private, no-store"
    assert page["Referrer-Policy"] == "no-referrer"


def test_the_history_on_the_preferences_page_links_to_a_working_page(client, sent, alice):
    delivery = Delivery.objects.get()

    assert client.get(delivery.view_path()).status_code == 200


def test_after_an_address_change_the_old_link_shows_no_digest_and_no_links(client, sent, alice):
    alice.change_email("alice@new.example")

    with time_machine.travel(NOW + timedelta(days=1)):
        page = client.get(sent)

    body = page.content.decode()
    assert page.status_code == 404
    assert "This link does not work" in body
    assert "alice@new.example" not in body
    assert not re.search(r"/(preferences|unsubscribe|feed)/[^/\"]+/", body)  # no token link
    assert "ZeroSearch" not in body


def test_the_link_still_works_on_day_ninety(client, sent):
    with time_machine.travel(NOW + timedelta(days=89, hours=23), tick=False):
        assert client.get(sent).status_code == 200


def test_the_link_expires_after_ninety_days_with_a_page_that_says_so(client, sent):
    with time_machine.travel(NOW + timedelta(days=90, seconds=1), tick=False):
        page = client.get(sent)

    assert page.status_code == 410
    assert "This link has expired" in page.content.decode()
    assert "90 days" in page.content.decode()
    assert 'name="email"' in page.content.decode()  # a form to get a fresh link


def test_a_link_of_the_old_kind_without_address_or_time_fails_cleanly(client, sent):
    delivery = Delivery.objects.get()
    old_kind = signing.Signer(salt=tokens.SALT_VIEW_IN_BROWSER).sign(str(delivery.pk))

    page = client.get(f"/digest/{old_kind}/")

    assert page.status_code == 404
    assert "This link does not work" in page.content.decode()


def test_a_tampered_link_is_not_found(client, sent, alice):
    delivery = Delivery.objects.get()
    token = messages.view_token(delivery.pk, alice.email)

    assert client.get(f"/digest/{token}x/").status_code == 404
    assert client.get("/digest/12:forged/").status_code == 404
    other = messages.view_token(delivery.pk, "mallory@example.com")
    assert client.get(f"/digest/{other}/").status_code == 404


def test_a_skipped_digest_has_no_page(client, papers):
    from tests.digest.conftest import make_reader

    carl = make_reader("carl@example.com", ["code-generation-and-software-agents"])
    plan = planning.plan(NOW)
    dispatch.send_deliveries(plan.created, NOW)

    assert (
        client.get(f"/digest/{messages.view_token(plan.created[0], carl.email)}/").status_code
        == 404
    )

"""The "view in browser" link shows the exact email as a web page."""

from __future__ import annotations

import pytest
from django.utils import timezone

from digest import digests, dispatch

pytestmark = pytest.mark.django_db

NOW = timezone.datetime.fromisoformat("2026-11-26T08:00:00+00:00")


def test_the_link_in_the_email_opens_the_same_html(client, papers, alice, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from django.core import mail

    plan = digests.plan(NOW)
    dispatch.send_deliveries(plan.created, NOW)
    [message] = mail.outbox
    html = dict((mime, body) for body, mime in message.alternatives)["text/html"]
    link = digests.view_url(plan.created[0])
    assert link in html

    page = client.get(link.removeprefix(settings.SITE_URL))

    assert page.status_code == 200
    assert "ZeroSearch: search without searching" in page.content.decode()
    assert page["Cache-Control"] == "private, no-store"


def test_a_tampered_link_is_not_found(client, papers, alice):
    plan = digests.plan(NOW)
    dispatch.send_deliveries(plan.created, NOW)
    token = digests.view_token(plan.created[0])

    assert client.get(f"/digest/{token}x/").status_code == 404
    assert client.get("/digest/12:forged/").status_code == 404


def test_a_skipped_digest_has_no_page(client, papers):
    from tests.digest.conftest import make_reader

    make_reader("carl@example.com", ["code-generation-and-software-agents"])
    plan = digests.plan(NOW)
    dispatch.send_deliveries(plan.created, NOW)

    assert client.get(f"/digest/{digests.view_token(plan.created[0])}/").status_code == 404

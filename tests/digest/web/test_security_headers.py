"""What every answer carries: a Content-Security-Policy without inline script; on pages
reached through a token, no caching and no Referer; and no token in the log. Admin logins
are throttled; feeds carry no live markup."""

from __future__ import annotations

import io
import logging
import re
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
from django.test import Client

from digest.mailing import dispatch, planning
from digest.models import Delivery, Paper, Topic
from digest.web.security import MaskTokens
from subscriptions import tokens
from tests.support.paths import ROOT

pytestmark = pytest.mark.django_db

NOW = datetime.fromisoformat("2026-11-26T08:00:00+00:00")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
ATOM = "{http://www.w3.org/2005/Atom}"


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in header.split(";") if d.strip()}


@pytest.fixture
def token_pages(papers, alice, settings) -> list[str]:
    """One URL of each kind that holds a token, as the emails and pages link them."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    dispatch.send_deliveries(planning.plan(NOW).created, NOW)
    delivery = Delivery.objects.get()
    feedback = tokens.make_feedback_tokens(alice.pk, alice.email, [papers[0].pk])[papers[0].pk]
    change = tokens.make_email_change_token(alice.pk, alice.email, "alice@new.example")
    return [
        alice.preferences_path(),
        alice.preferences_path() + "my-data.json",
        alice.unsubscribe_path(),
        f"/confirm/{alice.token(tokens.SALT_CONFIRM)}/",
        f"/change-email/{change}/",
        f"/feedback/{feedback}/more/",
        delivery.view_path(),
        alice.personal_feed_url().removeprefix(settings.SITE_URL),
        "/unsubscribe/12.forged:nonsense/",  # a bad link's page is private too
    ]


def test_every_page_has_a_content_security_policy_without_inline_script(client, papers):
    for path in [
        "/",
        "/topics/retrieval-and-rag/",
        "/subscribe/",
        "/preferences/",
        "/feed/",
        "/no-such-page/",
        "/healthz",
    ]:
        response = client.get(path)
        directives = policy(response)
        assert directives["script-src"] == ["'self'"], path
        assert directives["default-src"] == ["'none'"], path
        assert directives["frame-ancestors"] == ["'none'"], path
        assert directives["style-src"] == ["'self'"], path
        assert not INLINE_SCRIPT.search(response.content.decode()), path


def test_token_pages_have_the_policy_and_no_inline_script_either(client, token_pages):
    for path in token_pages:
        response = client.get(path)
        assert policy(response)["script-src"] == ["'self'"], path
        assert not INLINE_SCRIPT.search(response.content.decode(errors="replace")), path


def test_the_admin_may_use_inline_styles_but_never_inline_scripts(client):
    response = client.get("/admin/login/")

    directives = policy(response)
    assert directives["style-src"] == ["'self'", "'unsafe-inline'"]
    assert directives["script-src"] == ["'self'"]


def test_the_digest_page_is_an_email_so_it_may_use_inline_styles_only(client, token_pages):
    response = client.get(next(p for p in token_pages if p.startswith("/digest/")))

    assert response.status_code == 200
    directives = policy(response)
    assert directives["style-src"] == ["'self'", "'unsafe-inline'"]
    assert directives["script-src"] == ["'self'"]
    assert 'style="' in response.content.decode()  # what the inline styles are for


def test_every_token_page_is_private_and_sends_no_referrer(client, token_pages):
    for path in token_pages:
        response = client.get(path)
        assert response["Cache-Control"] == "private, no-store", path
        assert response["Referrer-Policy"] == "no-referrer", path


def test_redirects_from_token_pages_are_private_too(client, alice):
    response = client.post(alice.preferences_path() + "resume/")

    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "no-referrer"


def test_public_pages_keep_the_same_origin_referrer_policy(client, papers):
    response = client.get("/")

    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" not in response.get("Cache-Control", "")


def test_a_button_on_a_token_page_works_over_https_without_origin_or_referer(alice):
    """Under no-referrer a browser posts with `Origin: null` and no Referer."""
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(alice.preferences_path(), secure=True)
    token = str(page.context["csrf_token"])

    response = browser.post(
        alice.preferences_path() + "weekly/",
        {"csrfmiddlewaretoken": token},
        secure=True,
        HTTP_ORIGIN="null",
    )

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.frequency == "weekly"


def test_without_the_csrf_token_a_token_page_still_refuses_a_post(alice):
    browser = Client(enforce_csrf_checks=True)

    response = browser.post(alice.preferences_path() + "weekly/", secure=True, HTTP_ORIGIN="null")

    assert response.status_code == 403
    alice.refresh_from_db()
    assert alice.frequency == "daily"


def test_other_pages_still_refuse_a_null_origin(papers):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/subscribe/", secure=True)
    token = str(page.context["csrf_token"])

    response = browser.post(
        "/subscribe/",
        {"csrfmiddlewaretoken": token, "email": "erin@example.com"},
        secure=True,
        HTTP_ORIGIN="null",
    )

    assert response.status_code == 403


# --- logs ----------------------------------------------------------------------------------
@pytest.fixture
def log_lines():
    """What the project's own console handler writes, as configured in settings."""
    handler = next(
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler)
        and any(isinstance(f, MaskTokens) for f in h.filters)
    )
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_tokens_are_cut_out_of_the_log(client, alice, log_lines):
    token = alice.unsubscribe_path().split("/")[2]
    tampered = token[:-2] + "xx"

    client.get(f"/unsubscribe/{tampered}/")  # "Bad Request: /unsubscribe/…/"
    client.get(f"/digest/{token}/")  # "Not Found: /digest/…/"
    logging.getLogger("django.server").info('"GET /preferences/%s/ HTTP/1.1" 200 512', token)

    text = log_lines.getvalue()
    assert "Bad Request: /unsubscribe/[token]/" in text
    assert "Not Found: /digest/[token]/" in text
    assert '"GET /preferences/[token]/ HTTP/1.1" 200' in text
    assert token.split(":")[-1] not in text and tampered.split(":")[-1] not in text


def test_file_paths_in_log_lines_are_left_alone():
    record = logging.LogRecord(
        "x",
        logging.WARNING,
        __file__,
        1,
        "cannot read /srv/app/digest/ingestion/x.json",
        None,
        None,
    )
    MaskTokens().filter(record)

    assert record.getMessage() == "cannot read /srv/app/digest/ingestion/x.json"


# --- admin login -----------------------------------------------------------------------------
@pytest.fixture
def editor(django_user_model):
    return django_user_model.objects.create_superuser("editor", "e@example.com", "right-password")


def log_in(client, password, ip="203.0.113.7", username="editor"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        REMOTE_ADDR=ip,
    )


def test_after_five_wrong_passwords_even_the_right_one_is_refused(client, editor, settings):
    answers = [log_in(client, "wrong").status_code for _ in range(settings.AXES_FAILURE_LIMIT)]
    assert answers == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]  # the fifth locks

    response = log_in(client, "right-password")

    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lockout_is_per_user_name_from_any_address_and_per_address(client, editor, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "wrong", ip=f"198.51.100.{n}")

    assert log_in(client, "right-password", ip="192.0.2.99").status_code == 429
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "wrong", ip="192.0.2.50", username=f"guess{n}")
    assert log_in(Client(), "whatever", ip="192.0.2.50", username="another").status_code == 429


def test_a_right_password_first_time_logs_in(client, editor):
    response = log_in(client, "right-password")

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(editor.pk)


# --- feeds -----------------------------------------------------------------------------------
def test_no_script_event_handler_or_javascript_url_reaches_a_feed_reader(client, papers):
    hostile = (
        "<script>alert(1)</script><img src=x onerror=alert(2)>"
        '<a href="javascript:alert(3)">x</a> and 3 < 4 & 5 > 2'
    )
    Paper.objects.filter(pk=papers[0].pk).update(abstract=hostile)
    topic = Topic.objects.get(slug="retrieval-and-rag")

    for path in ("/feed/", f"/topics/{topic.slug}/feed/"):
        response = client.get(path)
        root = ET.fromstring(response.content)  # still well-formed XML
        summaries = [s for s in root.iter(f"{ATOM}summary") if "alert(1)" in (s.text or "")]
        assert summaries, path
        assert summaries[0].get("type") == "text"
        assert summaries[0].text == hostile  # shown as written, never parsed as HTML
        assert b"<script" not in response.content and b"<img" not in response.content


def test_gunicorns_access_log_has_no_tokens_either(tmp_path):
    """The Procfile's web process logs each request through digest.web.gunicorn_logging."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    access = tmp_path / "access.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env |= {"VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)  # a bad link's page needs no database
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "digest.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            str(access),
            "--logger-class",
            "digest.web.gunicorn_logging.MaskedLogger",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/unsubscribe/7.abc:secret-sig/")
            except urllib.error.HTTPError as answer:
                assert answer.code == 400
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        time.sleep(0.5)  # the access line is written after the answer
    finally:
        server.terminate()
        server.wait(timeout=20)

    text = access.read_text()
    assert "GET /unsubscribe/[token]/" in text
    assert "secret-sig" not in text


def test_with_debug_on_django_prints_no_unmasked_line_of_its_own():
    """Django's own console handler (DEBUG only) is replaced by the masking one."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    code = (
        "import logging; logging.getLogger('django.request')"
        ".warning('Bad Request: %s', '/unsubscribe/7.abc:secret-sig/')"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        env=env | {"DEBUG": "true"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "secret-sig" not in result.stderr
    assert result.stderr.count("Bad Request: /unsubscribe/[token]/") == 1

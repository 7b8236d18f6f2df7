"""One function renders every email: subject, text and HTML with CSS inlined once."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from jinja2 import UndefinedError

from digest.mailing import rendering
from digest.mailing.messages import UnsafeAddress, build_message
from digest.mailing.rendering import InliningLoader, environment, inline_css, render_email

CONTEXT: dict[str, Any] = {
    "confirm_url": "https://papers.example/confirm/12.abcdef:sig/?utm=x&y=<1>",
    "topics": ["Retrieval & search", "Agents"],
    "frequency": "daily",
    "valid_days": 7,
    "site_url": "https://papers.example",
    "sender_address": "Daily Papers, 1 Example Street",
}


def squash(html: str) -> str:
    return re.sub(r"\s+", " ", html).replace("> <", "><").strip()


def test_it_renders_subject_text_and_html():
    rendered = render_email("confirm", CONTEXT)

    assert rendered.subject == "Confirm your Daily Papers subscription"
    assert CONTEXT["confirm_url"] in rendered.text
    assert "<html" in rendered.html and "Retrieval &amp; search" in rendered.html


def test_html_is_escaped_and_text_is_not():
    rendered = render_email("confirm", {**CONTEXT, "topics": ["<script>x</script>"]})

    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert "<script>x</script>" in rendered.text


def test_the_subject_is_always_one_line(tmp_path, monkeypatch):
    rendered = render_email("confirm", {**CONTEXT})
    assert "\n" not in rendered.subject

    messy = tmp_path / "templates" / "emails"
    messy.mkdir(parents=True)
    (messy / "x.subject.txt").write_text("Hello\r\n  {{ name }}\nBcc: someone\n")
    (messy / "x.txt").write_text("t")
    (messy / "x.html").write_text("<p>h</p>")
    monkeypatch.setattr(rendering, "_templates_dir", lambda: tmp_path / "templates")
    rendering.environment.cache_clear()
    try:
        assert render_email("x", {"name": "Ann"}).subject == "Hello Ann Bcc: someone"
    finally:
        rendering.environment.cache_clear()


def test_a_missing_variable_is_an_error_not_an_empty_link():
    context = dict(CONTEXT)
    del context["confirm_url"]

    with pytest.raises(UndefinedError):
        render_email("confirm", context)


def test_css_is_inlined_and_only_media_queries_stay_in_the_style_block():
    html = render_email("confirm", CONTEXT).html

    assert re.search(r'<a class="button" href="[^"]+" style="[^"]*background-color:#1d4ed8', html)
    styles = re.findall(r"<style>(.*?)</style>", html, re.DOTALL)
    assert styles and all(s.strip().startswith("@media") for s in styles)
    assert "@media (prefers-color-scheme: dark)" in html
    assert html.startswith("<!doctype html>")


@pytest.mark.parametrize("name", ["confirm", "preferences_link", "email_change"])
def test_inlining_the_template_once_equals_inlining_each_message(name):
    context = {
        **CONTEXT,
        "preferences_url": "https://papers.example/preferences/1.ab:c/?a=1&b=2",
        "unsubscribe_url": "https://papers.example/unsubscribe/1.ab:c/",
        "subscribed": True,
        "change_url": "https://papers.example/change-email/x:y/",
    }
    once = render_email(name, context)
    context["subject"] = once.subject
    plain = rendering.Environment(
        loader=rendering.FileSystemLoader(str(Path(rendering._templates_dir()))),
        autoescape=True,
        undefined=rendering.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    source = rendering.InliningLoader(rendering._templates_dir()).files.get_source(
        plain, f"emails/{name}.html"
    )[0]
    expanded = rendering.InliningLoader(rendering._templates_dir())._expand(plain, source, [], 0)
    per_message = inline_css(plain.from_string(expanded).render(context))

    assert squash(once.html) == squash(per_message)


def test_urls_in_attributes_come_out_whole():
    html = render_email("confirm", CONTEXT).html

    assert 'href="https://papers.example/confirm/12.abcdef:sig/?utm=x&amp;y=&lt;1&gt;"' in html
    assert "%20" not in html and "{{" not in html


def test_premailer_runs_once_per_template_version_not_per_message(tmp_path):
    loader = environment().loader
    assert isinstance(loader, InliningLoader)
    render_email(
        "preferences_link",
        {**CONTEXT, "preferences_url": "u", "unsubscribe_url": "v", "subscribed": False},
    )
    before = loader.inlined

    for i in range(20):
        render_email(
            "preferences_link",
            {**CONTEXT, "preferences_url": f"u{i}", "unsubscribe_url": "v", "subscribed": True},
        )

    assert loader.inlined == before


def test_a_changed_template_file_is_inlined_again(tmp_path, monkeypatch):
    emails = tmp_path / "templates" / "emails"
    emails.mkdir(parents=True)
    (emails / "t.subject.txt").write_text("S")
    (emails / "t.txt").write_text("T")
    page = emails / "t.html"
    page.write_text(
        "<html><head><style>p { color: red; }</style></head><body><p>{{ x }}</p></body></html>"
    )
    monkeypatch.setattr(rendering, "_templates_dir", lambda: tmp_path / "templates")
    rendering.environment.cache_clear()
    try:
        assert 'style="color:red"' in render_email("t", {"x": 1}).html
        page.write_text(
            "<html><head><style>p { color: blue; }</style></head><body><p>{{ x }}</p></body></html>"
        )
        stat = page.stat()
        os.utime(page, (stat.st_atime, stat.st_mtime + 5))

        assert 'style="color:blue"' in render_email("t", {"x": 1}).html
        loader = environment().loader
        assert isinstance(loader, InliningLoader) and loader.inlined == 2
    finally:
        rendering.environment.cache_clear()


def test_a_message_has_a_text_body_an_html_alternative_and_our_from(settings):
    message = build_message(
        "confirm",
        "erin@example.com",
        {k: CONTEXT[k] for k in ("confirm_url", "topics", "frequency", "valid_days")},
        headers={"X-Test": "1"},
        tags=["confirm"],
        metadata={"subscriber_id": 1},
    )

    assert message.to == ["erin@example.com"]
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert message.subject == "Confirm your Daily Papers subscription"
    assert CONTEXT["confirm_url"] in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html" and "<html" in html
    assert message.extra_headers == {"X-Test": "1"}
    assert message.tags == ["confirm"] and message.metadata == {"subscriber_id": 1}
    assert settings.SENDER_ADDRESS in message.body


@pytest.mark.parametrize(
    "to", ["erin@example.com\r\nBcc: all@example.com", "erin@example.com\n", "a\rb@example.com"]
)
def test_an_address_with_a_line_break_is_refused(to):
    with pytest.raises(UnsafeAddress):
        build_message("confirm", to, CONTEXT)


def test_a_header_value_with_a_line_break_is_refused():
    with pytest.raises(UnsafeAddress):
        build_message("confirm", "erin@example.com", CONTEXT, headers={"X": "a\nBcc: b"})


ACCOUNT_EMAILS = {
    "confirm": ("confirm_url", "Yes, send me trending papers", True),
    "email_change": ("change_url", "Use this address", True),
    "preferences_link": ("preferences_url", "Open my preferences", False),
}


@pytest.mark.parametrize("name", sorted(ACCOUNT_EMAILS))
def test_the_account_emails_share_one_button_block(name):
    link, label, expires = ACCOUNT_EMAILS[name]
    source = (rendering._templates_dir() / "emails" / f"{name}.html").read_text()
    context = {
        **CONTEXT,
        "preferences_url": "https://papers.example/preferences/1.ab:c/",
        "unsubscribe_url": "https://papers.example/unsubscribe/1.ab:c/",
        "subscribed": True,
        "change_url": "https://papers.example/change-email/x:y/",
    }

    html = render_email(name, context).html

    assert '{% include "emails/_button.html" %}' in source and 'class="button"' not in source
    url = context[link].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert re.search(
        rf'<a class="button" href="{re.escape(url)}" '
        rf'style="[^"]*background-color:#1d4ed8[^"]*"[^>]*>{re.escape(label)}</a>',
        html,
    )
    assert f'<a class="link" href="{url}"' in html
    assert ("The link works for 7 days." in html) is expires

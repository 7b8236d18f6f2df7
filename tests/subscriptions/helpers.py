"""Helpers for subscription tests: reading the outbox, form data, making people."""

from __future__ import annotations

import re
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from digest.models import Topic
from subscriptions.models import Subscriber

CSRF_INPUT = re.compile(rb'<input type="hidden" name="csrfmiddlewaretoken" value="[^"]*">')


class Outbox:
    """The .eml files the outbox backend wrote, parsed as a person's mail client would."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def messages(self) -> list[EmailMessage]:
        if not self.directory.exists():
            return []
        return [
            BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            for path in sorted(self.directory.glob("*.eml"))
        ]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in m["To"]]

    def __len__(self) -> int:
        return len(self.messages)


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def html_of(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()  # type: ignore[union-attr]


def link_path(message: EmailMessage, kind: str) -> str:
    """The site path of the first `/<kind>/...` link in the text part."""
    match = re.search(rf"{re.escape(settings.SITE_URL)}(/{kind}/\S+/)", text_of(message))
    assert match, f"no /{kind}/ link in:\n{text_of(message)}"
    return match.group(1)


def error_for(body: str, field: str) -> str:
    """The error text rendered inside the field's own group (next to the field)."""
    group = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', body, re.DOTALL)
    assert group, f"no error shown next to {field}"
    return re.sub(r"<[^>]+>", "", group.group(1)).strip()


def without_csrf(body: bytes) -> bytes:
    return CSRF_INPUT.sub(b"", body)


def signup_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "email": "erin@example.com",
        "topics": ["llm-reasoning-and-rl-post-training", "retrieval-and-rag"],
        "keywords": "",
        "frequency": "daily",
        "weekday": "0",
        "send_hour": "7",
        "timezone": "Europe/Berlin",
        "max_papers": "10",
        "website": "",
    }
    data.update(overrides)
    return data


def make_subscriber(email: str, status: str, **fields: object) -> Subscriber:
    now = timezone.now()
    defaults: dict[str, object] = {
        "signed_up_at": now - timedelta(days=30),
        "signup_ip": "198.51.100.7",
        "signup_user_agent": "Mozilla/5.0 (test)",
        "form_version": "signup-2025-11",
        "timezone": "Europe/Berlin",
    }
    if status in ("active", "unsubscribed", "bounced", "complained"):
        defaults |= {"confirmed_at": now - timedelta(days=29), "confirm_ip": "198.51.100.8"}
    if status == "unsubscribed":
        defaults |= {"unsubscribed_at": now - timedelta(days=2), "unsubscribe_reason": "one-click"}
    defaults.update(fields)
    subscriber = Subscriber.objects.create(email=email, status=status, **defaults)
    subscriber.topics.set(
        Topic.objects.filter(slug__in=["llm-reasoning-and-rl-post-training", "retrieval-and-rag"])
    )
    return subscriber


def current_preferences(subscriber: Subscriber, **overrides: object) -> dict[str, object]:
    """The preferences form as it stands for `subscriber`, with `overrides` changed."""
    data: dict[str, object] = {
        "email": subscriber.email,
        "topics": [t.slug for t in subscriber.topics.all()],
        "keywords": subscriber.keywords,
        "authors": subscriber.authors,
        "organizations": subscriber.organizations,
        "frequency": subscriber.frequency,
        "weekday": str(subscriber.weekday),
        "send_hour": str(subscriber.send_hour),
        "timezone": subscriber.timezone,
        "max_papers": str(subscriber.max_papers),
    }
    data.update(overrides)
    return data

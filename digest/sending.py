"""Building messages: one function for every email the service sends."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from digest.rendering import render_email


class UnsafeAddress(ValueError):
    """An address that could smuggle headers (CR or LF) into the message."""


def base_context() -> dict[str, object]:
    """What every template may use: where the site is and who sends (CAN-SPAM footer)."""
    return {"site_url": settings.SITE_URL, "sender_address": settings.SENDER_ADDRESS}


def build_message(
    name: str,
    to: str,
    context: Mapping[str, object],
    *,
    headers: Mapping[str, str] | None = None,
    tags: Iterable[str] | None = None,
    metadata: Mapping[str, object] | None = None,
) -> EmailMultiAlternatives:
    """One message to one person: a plain-text body and an HTML alternative.

    `tags` and `metadata` are anymail's: ESPs that support them record them and echo them
    in tracking webhooks; the other backends ignore them.
    """
    for value in (to, *(headers or {}).values()):
        if "\r" in value or "\n" in value:
            raise UnsafeAddress(f"line break in a header value: {value!r}")
    rendered = render_email(name, {**base_context(), **context})
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=dict(headers or {}),
    )
    message.attach_alternative(rendered.html, "text/html")
    if tags:
        message.tags = list(tags)  # type: ignore[attr-defined]
    if metadata:
        message.metadata = dict(metadata)  # type: ignore[attr-defined]
    return message

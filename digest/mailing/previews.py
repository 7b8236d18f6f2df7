"""Admin previews of digests: what a subscriber, or a topic alone, would get now."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin import ModelAdmin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from digest.mailing import messages as digest_messages
from digest.mailing import pool as pools
from digest.mailing.selection import Reader
from digest.models import Topic
from subscriptions.models import Subscriber


def _page(
    request: HttpRequest,
    admin: ModelAdmin,
    subscriber: Subscriber,
    reader: Reader,
    *,
    title: str,
    back_url: str,
    back_label: str,
    send_test_url: str = "",
) -> HttpResponse:
    period, selection, items = pools.preview(subscriber, timezone.now(), reader=reader)
    context = {
        **admin.admin_site.each_context(request),
        "title": title,
        "period": period,
        "selection": selection,
        "back_url": back_url,
        "back_label": back_label,
        "send_test_url": send_test_url,
    }
    if not selection.skipped:
        message = digest_messages.digest_message(subscriber, period, items, reader=reader)
        scores = {pick.paper_id: pick.score for pick in selection.picks}
        context |= {
            "subject": message.subject,
            "html": dict((mime, body) for body, mime in message.alternatives)["text/html"],
            "rows": [
                {
                    "title": item.card["title"],
                    "reason": item.reason,
                    "score": scores[item.paper_id],
                    "admin_url": reverse("admin:digest_paper_change", args=[item.paper_id]),
                }
                for item in items
            ],
        }
    return TemplateResponse(request, "admin/digest/preview.html", context)


def subscriber_preview(request: HttpRequest, admin: ModelAdmin, object_id: str) -> HttpResponse:
    subscriber = get_object_or_404(Subscriber, pk=object_id)
    return _page(
        request,
        admin,
        subscriber,
        pools.reader_for(subscriber),
        title=f"Digest preview for {subscriber.email}",
        back_url=reverse("admin:subscriptions_subscriber_change", args=[subscriber.pk]),
        back_label=subscriber.email,
        send_test_url=reverse("admin:subscriptions_subscriber_send_test", args=[subscriber.pk]),
    )


@require_POST
def subscriber_send_test(request: HttpRequest, admin: ModelAdmin, object_id: str) -> HttpResponse:
    """The subscriber's digest as it would be now, sent to the staff member asking."""
    subscriber = get_object_or_404(Subscriber, pk=object_id)
    back = reverse("admin:subscriptions_subscriber_preview", args=[subscriber.pk])
    staff_email = _email_of(request)
    if not staff_email:
        admin.message_user(request, "Your account has no email address.", messages.ERROR)
        return HttpResponseRedirect(back)
    period, selection, items = pools.preview(subscriber, timezone.now())
    if selection.skipped:
        admin.message_user(
            request, f"Nothing to send: {selection.skipped_reason}", messages.WARNING
        )
        return HttpResponseRedirect(back)
    message = digest_messages.digest_message(subscriber, period, items, to=staff_email)
    message.subject = f"[Test] {message.subject}"
    try:
        message.send()
    except Exception as exc:
        admin.message_user(request, f"Could not send: {exc}", messages.ERROR)
    else:
        admin.message_user(request, f"Sent a test to {staff_email}.", messages.SUCCESS)
    return HttpResponseRedirect(back)


def topic_preview(request: HttpRequest, admin: ModelAdmin, object_id: str) -> HttpResponse:
    """A digest of this topic alone, for a made-up reader who chose only it."""
    topic = get_object_or_404(Topic, pk=object_id)
    reader = Reader({topic.pk: topic.name}, (), 10)
    # Unsaved: its links carry no real subscriber and nothing about it is stored.
    sample = Subscriber(email=_email_of(request) or "preview@example.com", frequency="weekly")
    return _page(
        request,
        admin,
        sample,
        reader,
        title=f"Digest preview: {topic.name}",
        back_url=reverse("admin:digest_topic_change", args=[topic.pk]),
        back_label=topic.name,
    )


def _email_of(request: HttpRequest) -> str:
    """The staff member's address ("" if none: the admin lets an account have none)."""
    return getattr(request.user, "email", "") or ""

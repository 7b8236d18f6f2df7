"""A digest as a web page: the "view in browser" link of every digest email."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from digest.mailing import messages
from digest.models import Delivery
from subscriptions import tokens
from subscriptions.forms import EmailForm


@require_GET
def view_digest(request: HttpRequest, token: str) -> HttpResponse:
    """The exact email as a web page: the digest's "view in browser" link.

    The link names the digest and the address it went to, and lasts 90 days: after an
    address change, or later than that, it shows a page saying so, never the digest (whose
    fresh links would open the account).
    """
    try:
        subject = tokens.read_view_token(token)
    except tokens.TokenExpired:
        return _digest_link_gone(request, expired=True)
    except tokens.TokenInvalid:
        return _digest_link_gone(request)
    delivery = Delivery.objects.select_related("subscriber").filter(pk=subject.pk).first()
    if (
        delivery is None
        or tokens.fingerprint(delivery.subscriber.email) != subject.fingerprint
        or not delivery.items.exists()
    ):
        return _digest_link_gone(request)
    message = messages.delivery_message(delivery)
    html = next(content for content, mimetype in message.alternatives if mimetype == "text/html")
    response = HttpResponse(html)
    # A personal page: keep it out of shared caches and search engines.
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


def _digest_link_gone(request: HttpRequest, *, expired: bool = False) -> HttpResponse:
    days = tokens.VIEW_IN_BROWSER_MAX_AGE.days
    context = {
        "expired": expired,
        "expired_note": f"Links to a digest work for {days} days.",
        "form": EmailForm(),
    }
    status = 410 if expired else 404
    return render(request, "subscriptions/link_invalid.html", context, status=status)

"""The page a "More like this" / "Less like this" link in a digest opens.

Link scanners and mail previews fetch every link of an email, so opening the link records
nothing: the page shows the choice and a button, and the POST from that button records it.
After that the page offers to undo, and links to the reader's ratings on the preferences
page. A reader who marked most of a topic's papers "less like this" is offered, after one
more, to stop that topic in one click. The link's token names the reader and the paper
(subscriptions.tokens); the choice is in its path, so the same page can switch to the
other one.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from digest import tasks
from digest.models import Feedback, Paper
from digest.taste import profiles
from subscriptions import services, tokens
from subscriptions.models import Subscriber
from subscriptions.views import bad_link

CHOICES = {"more": Feedback.Value.MORE, "less": Feedback.Value.LESS}


def feedback_path(token: str, choice: str) -> str:
    return reverse("digest:feedback", args=[token, choice])


def _reader_and_paper(token: str) -> tuple[Subscriber, Paper] | None:
    try:
        subject, paper_id = tokens.read_feedback_token(token)
    except tokens.TokenInvalid:
        return None
    # None when deleted, or when the address changed since the digest was sent.
    subscriber = services.subscriber_named(subject)
    paper = Paper.objects.filter(pk=paper_id).first() if subscriber else None
    return (subscriber, paper) if subscriber and paper else None


@require_http_methods(["GET", "HEAD", "POST"])
def feedback(request: HttpRequest, token: str, choice: str) -> HttpResponse:
    if choice not in CHOICES:
        raise Http404("The choice is “more” or “less”.")
    found = _reader_and_paper(token)
    if found is None:
        return bad_link(request)
    subscriber, paper = found
    value = CHOICES[choice]
    if request.method == "POST":
        if request.POST.get("action") == "stop_topic":
            return _stop_topic(request, subscriber, token, choice)
        if request.POST.get("action") == "undo":
            if profiles.unrate(subscriber.pk, [paper.pk]):
                messages.success(request, "Undone: your rating of this paper is removed.")
        else:
            profiles.rate(subscriber.pk, paper.pk, value)
            messages.success(request, f"Saved: {value.label.lower()}.")
        tasks.queue_fit(subscriber.pk)
        # Post/redirect/get: a reload shows the page again instead of posting twice.
        return redirect(feedback_path(token, choice))
    current = profiles.rating_of(subscriber.pk, paper.pk)
    context = {
        "paper": paper,
        "choice": choice,
        "value": value,
        "saved": current == value,
        "earlier": Feedback.Value(current).label
        if current is not None and current != value
        else "",
        "other_path": feedback_path(token, "less" if choice == "more" else "more"),
        "ratings_path": subscriber.preferences_path() + "#ratings",
        "stop_topics": _stop_offers(subscriber, paper) if current == Feedback.Value.LESS else [],
    }
    response = render(request, "digest/feedback.html", context)
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


def _stop_offers(subscriber: Subscriber, paper: Paper) -> list[profiles.UnwantedTopic]:
    """The reader's mostly unwanted topics this paper is in."""
    here = set(paper.topic_links.values_list("topic_id", flat=True))
    return [u for u in profiles.unwanted_topics(subscriber) if u.topic.pk in here]


def _stop_topic(
    request: HttpRequest, subscriber: Subscriber, token: str, choice: str
) -> HttpResponse:
    slug = request.POST.get("topic", "")
    offered = {u.topic.slug: u.topic for u in profiles.unwanted_topics(subscriber)}
    # Only a topic the page offered: this link is for one reader and one paper, not a
    # general way to change a subscription.
    if slug in offered and subscriber.drop_topic(slug):
        messages.success(
            request,
            f"Stopped: {offered[slug].name} is no longer in your digest. "
            "Your preferences page can bring it back.",
        )
    else:
        messages.error(request, "That topic could not be stopped from here.")
    return redirect(feedback_path(token, choice))

"""Signup, confirmation, preferences by magic link, and one-click unsubscribe.

Every answer that follows an address being typed in is the same page whatever we know
about the address: nobody can use these forms to learn who is on the list.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from digest import tasks
from digest.taste import profiles, starting
from subscriptions import ratelimit, services, tokens
from subscriptions.forms import (
    FORM_VERSION,
    DeleteForm,
    DropTopicForm,
    EmailForm,
    PauseForm,
    PreferencesForm,
    SignupForm,
)
from subscriptions.models import PAUSE_WEEKS, Subscriber

SubscriberView = Callable[..., HttpResponse]
RATINGS_SHOWN = 200
# Ratings the "papers you like" page takes in one post: it offers twenty.
MAX_RATED_AT_ONCE = 100


# --- helpers -------------------------------------------------------------------------------
def _check_inbox(request: HttpRequest) -> HttpResponse:
    return render(request, "subscriptions/check_inbox.html")


def _too_many(request: HttpRequest) -> HttpResponse:
    response = render(request, "subscriptions/rate_limited.html", status=429)
    response["Retry-After"] = str(ratelimit.WINDOW_SECONDS)
    return response


def bad_link(request: HttpRequest, *, expired: bool = False) -> HttpResponse:
    context = {"expired": expired, "form": EmailForm()}
    return render(
        request, "subscriptions/link_invalid.html", context, status=410 if expired else 400
    )


def _consent(request: HttpRequest) -> services.Consent:
    return services.Consent(
        ip=ratelimit.client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:500],
        form_version=FORM_VERSION,
    )


def with_subscriber(salt: str) -> Callable[[SubscriberView], SubscriberView]:
    """Turns the URL's token into the subscriber, or answers with the bad-link page."""

    def decorator(view: SubscriberView) -> SubscriberView:
        @wraps(view)
        def wrapped(request: HttpRequest, token: str, **kwargs: object) -> HttpResponse:
            try:
                subscriber = services.subscriber_for(salt, token)
            except tokens.TokenExpired:
                return bad_link(request, expired=True)
            except tokens.TokenInvalid:
                subscriber = None
            if subscriber is None:
                return bad_link(request)
            return view(request, subscriber, **kwargs)

        return wrapped

    return decorator


# --- signup and confirmation ---------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "subscriptions/subscribe.html", {"form": SignupForm()})
    if ratelimit.ip_over_limit(request):
        return _too_many(request)
    if request.POST.get("website"):
        # The honeypot is filled: a bot. It gets the usual answer and we store nothing.
        return _check_inbox(request)
    form = SignupForm(request.POST)
    if not form.is_valid():
        return render(request, "subscriptions/subscribe.html", {"form": form}, status=400)
    email = form.cleaned_data["email"]
    # Over the per-address limit: the usual answer, but no more email to that inbox.
    if not ratelimit.address_over_limit(email):
        services.subscribe(
            email, form.preferences(), _consent(request), send=tasks.queue_account_email
        )
    return _check_inbox(request)


@require_http_methods(["GET", "POST"])
@with_subscriber(tokens.SALT_CONFIRM)
def confirm(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    """GET shows a button and changes nothing; its POST (CSRF-protected) confirms.

    Link scanners and mail previews open every link in a message: if opening confirmed,
    anyone could subscribe a stranger and the stranger's mail gateway would confirm it.
    """
    if subscriber.status not in (Subscriber.Status.PENDING, Subscriber.Status.ACTIVE):
        # Unsubscribed (or bounced) since the email was sent: consent must be given anew.
        return bad_link(request)
    if request.method == "GET" and subscriber.status == Subscriber.Status.PENDING:
        return render(request, "subscriptions/confirm.html", {"subscriber": subscriber})
    if request.method == "POST":
        subscriber.confirm(ip=ratelimit.client_ip(request))
    context = {
        "subscriber": subscriber,
        "preferences_page": subscriber.preferences_path(),
        "papers_page": subscriber.papers_path(),
    }
    return render(request, "subscriptions/confirmed.html", context)


@require_http_methods(["GET", "POST"])
def request_link(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "subscriptions/request_link.html", {"form": EmailForm()})
    if ratelimit.ip_over_limit(request):
        return _too_many(request)
    form = EmailForm(request.POST)
    if not form.is_valid():
        return render(request, "subscriptions/request_link.html", {"form": form}, status=400)
    email = form.cleaned_data["email"]
    if not ratelimit.address_over_limit(email):
        services.request_link(email, send=tasks.queue_account_email)
    return render(request, "subscriptions/link_sent.html")


# --- preferences ---------------------------------------------------------------------------
def _initial(subscriber: Subscriber) -> dict[str, object]:
    return {
        "email": subscriber.email,
        "topics": [t.slug for t in subscriber.topics.all()],
        "keywords": subscriber.keywords,
        "authors": subscriber.authors,
        "organizations": subscriber.organizations,
        "frequency": subscriber.frequency,
        "weekday": subscriber.weekday,
        "send_hour": subscriber.send_hour,
        "timezone": subscriber.timezone,
        "max_papers": subscriber.max_papers,
    }


@require_http_methods(["GET", "POST"])
@with_subscriber(tokens.SALT_PREFERENCES)
def preferences(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    form = PreferencesForm(request.POST or None, initial=_initial(subscriber))
    if request.method == "POST" and form.is_valid():
        new_email = form.cleaned_data["email"]
        # Asking for a new address sends an email to it: it counts against the per-IP limit
        # like signups and link requests, token or not, or one token is a mail cannon.
        if new_email != subscriber.email and ratelimit.ip_over_limit(request):
            return _too_many(request)
        services.update_preferences(subscriber, form.preferences())
        messages.success(request, "Your preferences are saved.")
        if new_email != subscriber.email:
            if not ratelimit.address_over_limit(new_email):
                services.request_email_change(subscriber, new_email, send=tasks.queue_account_email)
            messages.info(
                request,
                f"We sent a link to {new_email}: your address changes when you open it.",
            )
        return redirect(subscriber.preferences_path())
    ratings = services.ratings(subscriber, limit=RATINGS_SHOWN)
    # The feed answers only while they are subscribed: no address to copy otherwise.
    active = subscriber.status == Subscriber.Status.ACTIVE
    feed_url = subscriber.personal_feed_url() if active else ""
    context = {
        "subscriber": subscriber,
        "form": form,
        "token": subscriber.token(tokens.SALT_PREFERENCES),
        "pause_weeks": PAUSE_WEEKS,
        "deliveries": services.recent_deliveries(subscriber),
        "follow_counts": services.follow_counts(subscriber),
        "follow_count_days": services.FOLLOW_COUNT_DAYS,
        "feed_url": feed_url,
        "ratings": ratings,
        "learned": profiles.learned(subscriber),
        "stop_topics": profiles.unwanted_topics(subscriber) if ratings else [],
        "papers_path": subscriber.papers_path(),
        # Counted only when the list is cut: otherwise the list is all of them.
        "ratings_count": len(ratings)
        if len(ratings) < RATINGS_SHOWN
        else subscriber.feedback.count(),
        "delete_form": DeleteForm(),
    }
    status = 400 if form.is_bound else 200
    return render(request, "subscriptions/preferences.html", context, status=status)


@require_POST
@with_subscriber(tokens.SALT_PREFERENCES)
def pause(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    form = PauseForm(request.POST)
    if form.is_valid():
        until = subscriber.pause(form.cleaned_data["weeks"])
        messages.success(request, f"Paused: no digests until {until:%A %d %B %Y}.")
    else:
        messages.error(request, "Choose a pause of 1, 2 or 4 weeks.")
    return redirect(subscriber.preferences_path())


@require_POST
@with_subscriber(tokens.SALT_PREFERENCES)
def resume(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    subscriber.resume()
    messages.success(request, "Resumed: your digests start again.")
    return redirect(subscriber.preferences_path())


@require_POST
@with_subscriber(tokens.SALT_PREFERENCES)
def weekly(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    subscriber.switch_frequency(Subscriber.Frequency.WEEKLY)
    messages.success(request, "You now get one digest a week.")
    return redirect(subscriber.preferences_path())


@require_POST
@with_subscriber(tokens.SALT_PREFERENCES)
def drop_topic(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    form = DropTopicForm(request.POST)
    if form.is_valid() and subscriber.drop_topic(form.cleaned_data["topic"]):
        messages.success(request, "That topic is gone from your digest.")
    else:
        messages.error(request, "That topic could not be dropped: you need at least one.")
    return redirect(subscriber.preferences_path())


@require_http_methods(["GET", "POST"])
@with_subscriber(tokens.SALT_PREFERENCES)
def rate_papers(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    """Recent papers of the reader's topics, each with "more like this", "less like this"
    and "no opinion" (the default), all on one page that works without JavaScript."""
    if request.method == "POST":
        choices = _choices(request)
        saved = starting.save_ratings(subscriber, choices) if choices else 0
        if saved:
            tasks.queue_fit(subscriber.pk)
            messages.success(
                request,
                f"Saved {saved} rating{'' if saved == 1 else 's'}: your next digest takes "
                f"{'it' if saved == 1 else 'them'} in.",
            )
            return redirect(subscriber.preferences_path() + "#ratings")
        messages.info(request, "Nothing was rated: choose “more” or “less” for a paper first.")
        return redirect(subscriber.papers_path())
    papers = starting.papers_to_rate(subscriber, timezone.now())
    context = {
        "subscriber": subscriber,
        "papers": papers,
        "preferences": subscriber.preferences_path(),
    }
    return render(request, "subscriptions/rate_papers.html", context)


def _choices(request: HttpRequest) -> dict[int, int]:
    """{paper id: +1 or -1} from the page's radio buttons ("rate-<id>"); "no opinion" and
    anything malformed are left out."""
    found: dict[int, int] = {}
    for name in request.POST:
        number, value = name.removeprefix("rate-"), request.POST.get(name, "")
        if name.startswith("rate-") and number.isdigit() and value in ("1", "-1"):
            found[int(number)] = int(value)
        if len(found) >= MAX_RATED_AT_ONCE:
            break
    return found


@require_POST
@with_subscriber(tokens.SALT_PREFERENCES)
def remove_rating(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    paper = request.POST.get("paper", "")
    papers = [int(paper)] if paper.isdigit() else []
    return _unrate(request, subscriber, papers, "That rating is removed.")


@require_POST
@with_subscriber(tokens.SALT_PREFERENCES)
def clear_ratings(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    done = "Forgotten: all your ratings are removed, and your digest follows your topics again."
    return _unrate(request, subscriber, None, done)


def _unrate(
    request: HttpRequest, subscriber: Subscriber, papers: list[int] | None, done: str
) -> HttpResponse:
    if profiles.unrate(subscriber.pk, papers):
        tasks.queue_fit(subscriber.pk)
        messages.success(request, done)
    return redirect(subscriber.preferences_path() + "#ratings")


@require_GET
@with_subscriber(tokens.SALT_PREFERENCES)
def export(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    data = json.dumps(services.export_data(subscriber), cls=DjangoJSONEncoder, indent=2)
    response = HttpResponse(data, content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="daily-papers-my-data.json"'
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@with_subscriber(tokens.SALT_PREFERENCES)
def delete(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    if not DeleteForm(request.POST).is_valid():
        messages.error(request, "Tick the box to confirm that you want to be deleted.")
        return redirect(subscriber.preferences_path())
    services.delete_subscriber(subscriber)
    return render(request, "subscriptions/deleted.html")


@require_http_methods(["GET", "POST"])
def change_email(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the new address and a button, changing nothing; its POST changes it.

    As with confirming a subscription, a link scanner at the new address opens every link:
    if opening changed the address, anyone holding a preferences link could move the
    digests onto a stranger's address and the stranger's gateway would agree to it.
    """
    try:
        if request.method == "GET":
            change = services.read_email_change(token)
            if change is not None and not change.done:
                context = {"subscriber": change.subscriber, "new_email": change.new_email}
                return render(request, "subscriptions/change_email.html", context)
            subscriber = change.subscriber if change is not None else None
        else:
            subscriber = services.apply_email_change(token)
    except tokens.TokenExpired:
        return bad_link(request, expired=True)
    except tokens.TokenInvalid:
        return bad_link(request)
    if subscriber is None:
        return render(request, "subscriptions/email_not_changed.html", status=409)
    context = {"subscriber": subscriber, "preferences_page": subscriber.preferences_path()}
    return render(request, "subscriptions/email_changed.html", context)


# --- unsubscribe ---------------------------------------------------------------------------
@csrf_exempt  # RFC 8058: the mail client posts without cookies; the signed URL is the proof
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = services.unsubscribe_link(token)
    except (tokens.TokenInvalid, tokens.TokenExpired):
        return bad_link(request)
    subscriber = link.subscriber
    if request.method == "POST":
        if subscriber is not None:
            one_click = request.POST.get("List-Unsubscribe") == "One-Click"
            subscriber.unsubscribe("one-click" if one_click else "unsubscribe page")
        # 200 and a page, never a redirect (RFC 8058); a repeat answers the same.
        return render(request, "subscriptions/unsubscribed.html", {"subscriber": subscriber})
    # GET never changes anything: scanners and link previews fetch every link in a message.
    context: dict[str, object] = {
        "subscriber": subscriber,
        "pause_weeks": PAUSE_WEEKS,
        "limited": False,
    }
    if subscriber is not None and not link.same_address:
        # A link to an address they changed since: whoever holds that old email may stop
        # the digests, and learns nothing more (not the new address, no preferences).
        context["limited"] = True
    elif subscriber is not None:
        context["token"] = subscriber.token(tokens.SALT_PREFERENCES)
        context["topics"] = list(subscriber.topics.all())
    return render(request, "subscriptions/unsubscribe.html", context)

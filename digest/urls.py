from __future__ import annotations

from anymail.signals import tracking
from django.contrib import admin
from django.urls import include, path, re_path

from digest import tasks
from digest.mailing import feeds as reader_feeds
from digest.mailing import views as digest_views
from digest.ops import dashboard, health, metrics
from digest.papers import feeds, views
from digest.taste import views as feedback
from subscriptions import webhooks

# The public pages; URL names carry the app prefix: digest:home, digest:topic, ...
digest_patterns = [
    path("", views.home, name="home"),
    path("feed/", feeds.LatestPapersFeed(), name="feed"),
    path("feed/<str:token>/", reader_feeds.personal_feed, name="personal_feed"),
    path("topics/<slug:slug>/", views.topic, name="topic"),
    path("topics/<slug:slug>/feed/", feeds.TopicPapersFeed(), name="topic_feed"),
    path("digest/<str:token>/", digest_views.view_digest, name="view"),
    path("feedback/<str:token>/<str:choice>/", feedback.feedback, name="feedback"),
]

# anymail's tracking views send this signal; the receiver stores the event and queues the
# task that applies it. Connected here, with the views that send it (dispatch_uid: once).
tracking.connect(tasks.receive_tracking_event, dispatch_uid="subscriptions.tracking")

# Never a traceback: a database that is away answers 503 with a short page (digest/web/errors).
handler500 = "digest.web.errors.server_error"

urlpatterns = [
    # Probes ask for /healthz; /healthz/ answers too (APPEND_SLASH only ever adds a slash).
    re_path(r"^healthz/?$", health.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin/dashboard/", dashboard.dashboard_view, name="admin_dashboard"),
    path("admin/", admin.site.urls),
    # anymail's webhook views, each answering 400 or 404 with one log line where it raised.
    path("anymail/", include((webhooks.anymail_urlpatterns(), "anymail"))),
    path("", include((digest_patterns, "digest"))),
    path("", include("subscriptions.urls")),
]

"""`/metrics`: the service's state in Prometheus' text format, for a scraper to chart and
alert on.

Everything is read from the database when scraped, so every web process answers the same
for the whole service, however many workers on however many machines did the sending
(counters kept in each process's memory would each know a part). Deliveries by outcome
only grow, so they are counters; the backlog is a gauge.

Like the admin, it is not public: it answers staff signed in to the admin, and, when
METRICS_TOKEN is set, a request with `Authorization: Bearer <METRICS_TOKEN>`.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Max, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from digest.models import Delivery, IngestRun
from digest.ops.backlog import load_backlog


class ServiceCollector(Collector):
    """Five aggregate queries a scrape."""

    def collect(self) -> Iterator[Metric]:
        by_status = dict(
            Delivery.objects.values("status").annotate(n=Count("pk")).values_list("status", "n")
        )
        for status, what in (
            ("sent", "Digests the provider accepted."),
            ("failed", "Digests given up on: a refused address, or every attempt failed."),
            ("skipped", "Periods with nothing to send (no new paper, not subscribed)."),
        ):
            counter = CounterMetricFamily(f"digest_deliveries_{status}", what)
            counter.add_metric([], by_status.get(status, 0))
            yield counter
        retried = Delivery.objects.filter(attempts__gt=1).aggregate(
            n=Sum("attempts") - Count("pk")
        )["n"]
        counter = CounterMetricFamily(
            "digest_delivery_retries", "Attempts after a digest's first (transient failures)."
        )
        counter.add_metric([], retried or 0)
        yield counter

        backlog = load_backlog(timezone.now())
        for name, what, value in (
            (
                "digest_deliveries_waiting",
                "Digests that could go now and have not.",
                backlog.waiting,
            ),
            (
                "digest_deliveries_retrying",
                "Digests waiting out a backoff or the provider's pause.",
                backlog.retrying,
            ),
            ("digest_deliveries_sending", "Digests claimed by a live sender.", backlog.sending),
            (
                "digest_deliveries_oldest_wait_seconds",
                "How long the longest-waiting digest that could go has waited.",
                backlog.oldest_wait.total_seconds() if backlog.oldest_wait else 0.0,
            ),
            (
                "digest_sending_stalled",
                "1 when that wait is past SEND_STALL_SECONDS plus the backlog's time at the rate.",
                1.0 if backlog.stalled else 0.0,
            ),
        ):
            gauge = GaugeMetricFamily(name, what)
            gauge.add_metric([], value)
            yield gauge

        yield from self._ingests()

    def _ingests(self) -> Iterator[Metric]:
        rows = IngestRun.objects.values("source").annotate(
            read=Count("pk", filter=Q(error="")),
            unread=Count("pk", filter=~Q(error="")),
            created=Sum("created"),
            updated=Sum("updated"),
            unchanged=Sum("unchanged"),
            rejected=Sum("rejected"),
            last_ok=Max("at", filter=Q(error="")),
        )
        runs = CounterMetricFamily(
            "digest_ingest_runs", "Feeds read, by source and outcome.", labels=["source", "outcome"]
        )
        papers = CounterMetricFamily(
            "digest_ingest_papers",
            "Papers read from feeds, by source and what became of them.",
            labels=["source", "result"],
        )
        last = GaugeMetricFamily(
            "digest_ingest_last_success_timestamp_seconds",
            "When each source was last read without an error (Unix time).",
            labels=["source"],
        )
        for row in rows.order_by():
            source = row["source"]
            runs.add_metric([source, "ok"], row["read"])
            runs.add_metric([source, "failed"], row["unread"])
            for result in ("created", "updated", "unchanged", "rejected"):
                papers.add_metric([source, result], row[result] or 0)
            if row["last_ok"] is not None:
                last.add_metric([source], row["last_ok"].timestamp())
        yield runs
        yield papers
        yield last


def allowed(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        return True
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@require_safe
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        response = HttpResponse("Sign in to the admin, or send the metrics token.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        response["Content-Type"] = "text/plain; charset=utf-8"
        return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServiceCollector())
    # The format the scraper asks for (Prometheus' Accept header): text or OpenMetrics.
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(registry), content_type=content_type)

"""Operators see a stall before their readers do: the dashboard shows what waits and for how
long, /healthz says "sending": "failing" when it has waited too long, and /metrics has it
all for a scraper."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client

from digest.models import Delivery, IngestRun
from digest.ops import health
from digest.ops.backlog import Backlog, load_backlog
from subscriptions.models import Subscriber

pytestmark = pytest.mark.django_db

NOW = datetime.fromisoformat("2026-11-26T08:00:00+00:00")


@pytest.fixture(autouse=True)
def frozen():
    health._sending = None  # each test looks at the backlog afresh
    with time_machine.travel(NOW, tick=False):
        yield
    health._sending = None


def planned(count: int, *, ago: timedelta, status: str = "queued", **fields) -> None:
    first = Subscriber.objects.count()
    readers = Subscriber.objects.bulk_create(
        Subscriber(email=f"reader{first + n}@example.com") for n in range(count)
    )
    Delivery.objects.bulk_create(
        Delivery(
            subscriber=r,
            period="daily:2026-11-26",
            status=status,
            window_start=NOW.date(),
            window_end=NOW.date(),
            created_at=NOW - ago,
            **fields,
        )
        for r in readers
    )


@pytest.fixture
def staff(db) -> Client:
    user = get_user_model().objects.create_user("ed", "ed@example.com", "pw", is_staff=True)
    client = Client()
    client.force_login(user)
    return client


def test_digests_that_could_go_and_have_not_are_waiting_since_they_were_planned():
    planned(3, ago=timedelta(minutes=20))
    planned(2, ago=timedelta(hours=2), next_attempt_at=NOW + timedelta(minutes=5))
    planned(1, ago=timedelta(hours=1), status="sending", lease_until=NOW + timedelta(minutes=1))
    planned(1, ago=timedelta(hours=3), status="sending", lease_until=NOW - timedelta(minutes=1))

    backlog = load_backlog(NOW)

    # The expired claim waits too (its sender died), since it was planned 3 hours ago.
    assert (backlog.waiting, backlog.retrying, backlog.sending) == (4, 2, 1)
    assert backlog.oldest_wait == timedelta(hours=3)
    assert backlog.stalled


def test_a_big_send_is_not_a_stall_until_it_should_have_drained(settings):
    settings.SEND_STALL_SECONDS = 600
    settings.SEND_RATE_PER_SECOND = 50
    big = Backlog(waiting=30_000, retrying=0, sending=0, oldest_wait=timedelta(minutes=15))

    assert big.stall_after == timedelta(minutes=20)  # 10 minutes, plus 600 s to drain
    assert not big.stalled
    assert Backlog(30_000, 0, 0, timedelta(minutes=21)).stalled


def test_healthz_says_sending_is_failing_and_still_answers_200(client, caplog):
    planned(3, ago=timedelta(minutes=20))

    response = client.get("/healthz")

    assert response.status_code == 200, "the site serves: a load balancer keeps it"
    assert response.json() == {
        "status": "failing",
        "checks": {"database": "ok", "broker": "ok", "sending": "failing"},
    }
    assert "waiting" in caplog.text and "oldest_wait_s" in caplog.text


def test_healthz_says_sending_is_ok_when_nothing_waits_too_long(client):
    planned(3, ago=timedelta(minutes=2))
    planned(5, ago=timedelta(hours=5), next_attempt_at=NOW + timedelta(minutes=1))

    assert client.get("/healthz").json()["checks"]["sending"] == "ok"


def test_the_dashboard_shows_what_waits_and_for_how_long(staff):
    planned(3, ago=timedelta(minutes=20))
    planned(2, ago=timedelta(minutes=1), next_attempt_at=NOW + timedelta(minutes=5))

    body = staff.get("/admin/dashboard/").content.decode()

    section = body.split('id="sending-now"')[1].split("</div>\n  </div>")[0]
    assert '<span class="n" id="waiting">3</span>' in section
    assert "sending has stalled" in section
    assert '<span class="n" id="oldest-wait">20 min</span>' in section
    assert '<span class="n" id="retrying">2</span>' in section


def test_the_dashboard_lists_the_feeds_read_and_those_that_failed(staff):
    IngestRun.objects.create(
        source="hf-api", label="https://huggingface.co/api/daily_papers", created=12
    )
    IngestRun.objects.create(source="arxiv-rss", error="arXiv answered 503 three times")

    body = staff.get("/admin/dashboard/").content.decode()

    feeds = body.split('id="feeds"')[1].split("</table>")[0]
    assert "hf-api" in feeds and ">12</td>" in feeds
    assert "could not be read: arXiv answered 503 three times" in feeds


# --- /metrics ---------------------------------------------------------------------------------


def test_metrics_are_not_public(client, settings):
    settings.METRICS_TOKEN = "a-long-random-scraper-token"

    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer guess")
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"] == 'Bearer realm="metrics"'


def test_without_a_token_setting_no_token_opens_them(client, settings):
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_a_scraper_with_the_token_reads_the_whole_services_state(client, settings):
    settings.METRICS_TOKEN = "a-long-random-scraper-token"
    planned(2, ago=timedelta(minutes=20))
    planned(4, ago=timedelta(hours=1), status="sent", attempts=1)
    planned(1, ago=timedelta(hours=1), status="sent", attempts=3)
    planned(1, ago=timedelta(hours=1), status="failed", attempts=6)
    IngestRun.objects.create(source="hf-api", created=10, updated=2, unchanged=5, rejected=1)
    IngestRun.objects.create(source="hf-api", error="timed out")

    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer a-long-random-scraper-token")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    lines = set(response.content.decode().splitlines())
    assert {
        "digest_deliveries_sent_total 5.0",
        "digest_deliveries_failed_total 1.0",
        "digest_deliveries_skipped_total 0.0",
        "digest_delivery_retries_total 7.0",
        "digest_deliveries_waiting 2.0",
        "digest_deliveries_oldest_wait_seconds 1200.0",
        "digest_sending_stalled 1.0",
        'digest_ingest_runs_total{outcome="ok",source="hf-api"} 1.0',
        'digest_ingest_runs_total{outcome="failed",source="hf-api"} 1.0',
        'digest_ingest_papers_total{result="created",source="hf-api"} 10.0',
        'digest_ingest_papers_total{result="rejected",source="hf-api"} 1.0',
    } <= lines
    assert any(line.startswith("digest_ingest_last_success_timestamp_seconds{") for line in lines)


def test_staff_signed_in_to_the_admin_read_them_too(staff):
    assert staff.get("/metrics").status_code == 200

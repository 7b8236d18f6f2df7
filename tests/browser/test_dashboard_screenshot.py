"""The sending dashboard in a real browser, so a person can look at it: an editor logs in,
follows "Dashboard" from the admin index, and sees thirty days of sends, bounces and
complaints with the complaint rate against the 0.1 % and 0.3 % lines.

The screenshot goes to test-artifacts/dashboard.png (ignored by git).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from digest.models import Delivery
from subscriptions.models import Subscriber
from tests.browser.chromium import ARTIFACTS, chromium
from tests.digest.ops.test_dashboard import trouble

# The live server answers from another thread, so the data must really be committed;
# serialized_rollback puts the topics from the data migration back for later tests.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# Thirty days of a list of about a thousand readers, oldest first: (sent, bounces,
# complaints). Mostly quiet, two days over the target, one over the limit, one without sends.
DAYS = [
    (910, 2, 0),
    (925, 1, 0),
    (940, 0, 0),
    (955, 3, 1),
    (960, 1, 0),
    (975, 0, 0),
    (990, 1, 0),
    (1000, 0, 0),
    (1010, 2, 2),
    (1020, 1, 0),
    (1030, 0, 0),
    (0, 0, 0),
    (1040, 1, 0),
    (1050, 0, 1),
    (1060, 4, 4),
    (1070, 1, 0),
    (1080, 0, 0),
    (1090, 0, 0),
    (1100, 2, 0),
    (1110, 0, 1),
    (1120, 1, 0),
    (1130, 0, 0),
    (1140, 0, 0),
    (1150, 1, 2),
    (1160, 0, 0),
    (1170, 0, 0),
    (1180, 1, 0),
    (1190, 0, 1),
    (1195, 0, 0),
    (640, 0, 0),
]


@pytest.fixture
def browser(live_server) -> Iterator[object]:
    """Chromium for one test, started after the database is set up and stopped before it
    is flushed."""
    with chromium(with_database=True) as browser:
        yield browser


@pytest.fixture
def month_of_sending() -> None:
    now = timezone.now()
    # A minute past midnight of each day: the day is today's whatever minute the test runs.
    today = now.replace(hour=0, minute=1, second=0, microsecond=0)
    readers_needed = max(sent for sent, _, _ in DAYS)
    Subscriber.objects.bulk_create(
        Subscriber(email=f"reader{i}@example.com", status="active", confirmed_at=now)
        for i in range(readers_needed)
    )
    readers = list(Subscriber.objects.filter(email__startswith="reader").order_by("pk"))
    for offset, (sent, bounces, complaints) in enumerate(reversed(DAYS)):
        when: datetime = today - timedelta(days=offset)
        Delivery.objects.bulk_create(
            (
                Delivery(
                    subscriber=reader,
                    period=f"daily:{when.date()}",
                    status=Delivery.Status.SENT,
                    window_start=when.date(),
                    window_end=when.date(),
                    sent_at=when,
                )
                for reader in readers[:sent]
            ),
            batch_size=500,
        )
        for i in range(bounces):
            trouble(f"bounce{offset}-{i}@example.com", "bounced", when)
        for i in range(complaints):
            trouble(f"complaint{offset}-{i}@example.com", "complained", when)


def test_the_dashboard_reads_at_a_glance_at_desktop_width(
    browser, live_server, month_of_sending, django_user_model
):
    django_user_model.objects.create_superuser("erin", "erin@example.com", "pw-erin-123")
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})

    page.goto(live_server.url + "/admin/")
    page.get_by_label("Username:").fill("erin")
    page.get_by_label("Password:").fill("pw-erin-123")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Dashboard", exact=True).click()

    expect(page.get_by_role("heading", name="Complaint rate per day")).to_be_visible()
    expect(page.locator("svg text", has_text="0.1 % target")).to_be_visible()
    expect(page.locator("svg text", has_text="0.3 % limit")).to_be_visible()
    # 29 days with sends get a bar; the day without sends has none.
    assert page.locator('svg[aria-labelledby^="rate-heading"] rect').count() == 29
    assert page.locator('svg[aria-labelledby^="rate-heading"] rect.over').count() == 1
    assert page.locator("#overall-rate").inner_text() == "0.04 %"  # 12 / 30,390
    expect(page.locator("#statuses").get_by_text("Complained")).to_be_visible()
    # Nothing wider than the window: no horizontal scrolling at 1280 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    page.close()

    assert (ARTIFACTS / "dashboard.png").stat().st_size > 20_000

"""Three demo subscribers and their digests for the seed page's day, written to the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Max
from django.utils import timezone

from digest.mailing import dispatch, messages, planning
from digest.models import Delivery, Paper, Topic
from subscriptions.models import Subscriber

DEMO = [
    ("ada@demo.example", ["zero-shot-learning", "retrieval-and-rag"], "", 10),
    (
        "grace@demo.example",
        ["llm-reasoning-and-rl-post-training", "code-generation-and-software-agents"],
        "verifier",
        5,
    ),
    ("alan@demo.example", ["efficient-training-and-inference", "zeroth-order-optimization"], "", 8),
]


class Command(BaseCommand):
    help = "Create three demo subscribers and write their digests for the newest featured day."

    def handle(self, *args: Any, **options: Any) -> None:
        day = Paper.objects.aggregate(day=Max("featured_on"))["day"]
        if day is None:
            self.stdout.write("No papers yet: ingest some first.")
            return
        # Just after the send hour on the newest featured day, as if it were that morning.
        now = datetime.combine(day, time(9, 0), tzinfo=UTC)
        subscribers = [self._subscriber(*demo) for demo in DEMO]
        # The demo can run again: its people start with a clean history each time.
        Delivery.objects.filter(subscriber__in=subscribers).delete()
        outbox = Path(settings.OUTBOX_DIR)
        before = set(outbox.glob("*.eml")) if outbox.exists() else set()
        plan = planning.plan(now)
        ids = list(
            Delivery.objects.filter(pk__in=plan.created, subscriber__in=subscribers).values_list(
                "pk", flat=True
            )
        )
        outcome = dispatch.send_deliveries(ids, now)
        written = sorted(set(outbox.glob("*.eml")) - before)
        html_dir = Path(settings.VAR_DIR) / "demo"
        html_dir.mkdir(parents=True, exist_ok=True)
        self.stdout.write("")
        self.stdout.write(
            f"Demo digests for {day:%Y-%m-%d} (sent={outcome.sent} skipped={outcome.skipped}):"
        )
        for delivery in Delivery.objects.filter(pk__in=ids).select_related("subscriber"):
            if delivery.status != Delivery.Status.SENT:
                self.stdout.write(
                    f"  {delivery.subscriber.email}: {delivery.status} {delivery.skipped_reason}"
                )
                continue
            message = messages.delivery_message(delivery)
            html = next(c for c, mimetype in message.alternatives if mimetype == "text/html")
            copy = html_dir / f"{delivery.subscriber.email.split('@')[0]}.html"
            copy.write_text(str(html), encoding="utf-8")
            self.stdout.write(f"  {delivery.subscriber.email}: {delivery.subject}")
            self.stdout.write(f"    open in a browser: {copy}")
        for path in written:
            self.stdout.write(f"  wrote {path}")

    @staticmethod
    def _subscriber(email: str, slugs: list[str], keywords: str, max_papers: int) -> Subscriber:
        moment = timezone.now()
        subscriber, _ = Subscriber.objects.update_or_create(
            email=email,
            defaults={
                "status": Subscriber.Status.ACTIVE,
                "confirmed_at": moment,
                "form_version": "demo",
                "keywords": keywords,
                "frequency": Subscriber.Frequency.DAILY,
                "send_hour": 7,
                "timezone": "UTC",
                "max_papers": max_papers,
                "paused_until": None,
                "next_due_at": None,  # starting over: planning looks at them at once
            },
        )
        subscriber.topics.set(Topic.objects.filter(slug__in=slugs))
        return subscriber

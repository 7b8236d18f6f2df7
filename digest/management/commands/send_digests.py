"""python manage.py send_digests [--now ISO8601] [--dry-run]"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from digest.mailing import dispatch, planning
from digest.mailing import pool as pools
from digest.models import Delivery

BATCH = 500


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--now must be an ISO 8601 time, not {value!r}") from None
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Plan and send every digest due at --now (default: now), in this process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", help="the moment to plan for, ISO 8601 (UTC if no offset)")
        parser.add_argument(
            "--dry-run", action="store_true", help="show who would get what; store and send nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = _moment(options["now"]) if options["now"] else timezone.now()
        if options["dry_run"]:
            return self._dry_run(now)
        plan = planning.plan(now)
        # Queued deliveries of earlier runs that never went out are sent too.
        queued = list(
            Delivery.objects.filter(status=Delivery.Status.QUEUED).values_list("pk", flat=True)
        )
        total = dispatch.Outcome()
        progress = tqdm(total=len(queued), desc="digests", unit="digest", disable=None)
        for start in range(0, len(queued), BATCH):
            batch = queued[start : start + BATCH]
            outcome = dispatch.send_deliveries(batch, now)
            total.sent += outcome.sent
            total.skipped += outcome.skipped
            total.failed += outcome.failed
            progress.update(len(batch))
        progress.close()
        self.stdout.write(
            f"planned={len(plan.created)} sent={total.sent} "
            f"skipped={total.skipped} failed={total.failed}"
        )
        return None

    def _dry_run(self, now: datetime) -> None:
        from subscriptions.models import Subscriber

        due = list(planning.due_subscribers(now))
        subscribers = Subscriber.objects.prefetch_related("topics").in_bulk([pk for pk, _ in due])
        already = set(
            Delivery.objects.filter(
                subscriber_id__in=[pk for pk, _ in due], period__in={p.key for _, p in due}
            ).values_list("subscriber_id", "period")
        )
        planned = skipped = 0
        for pk, period in due:
            if (pk, period.key) in already:
                continue
            planned += 1
            selection = pools.choose(subscribers[pk], period.window, now)
            if selection.skipped:
                skipped += 1
                self.stdout.write(
                    f"{subscribers[pk].email} {period.key}: skip ({selection.skipped_reason})"
                )
            else:
                self.stdout.write(
                    f"{subscribers[pk].email} {period.key}: {len(selection.picks)} papers"
                )
        self.stdout.write(f"planned={planned} sent=0 skipped={skipped} failed=0 (dry run)")

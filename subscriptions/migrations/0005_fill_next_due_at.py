"""Every existing subscriber gets a next_due_at, so that planning's first pass after this
release reads only the readers due, as every later one does.

The send moment of each reader's current period (the end of a pause for a paused one):
where it has passed, the reader is due at once, and that pass moves them on to the next
period if the current one already has its delivery. Nothing is lost either way: planning
also reads every row this leaves empty.
"""

from datetime import UTC, datetime

from django.db import migrations

from digest.mailing.periods import next_due

CHUNK = 2_000


def fill(apps, schema_editor):
    Subscriber = apps.get_model("subscriptions", "Subscriber")
    now = datetime.now(UTC)
    rows = Subscriber.objects.filter(next_due_at__isnull=True).only(
        "pk", "frequency", "weekday", "send_hour", "timezone", "paused_until"
    )
    chunk = []
    for subscriber in rows.order_by("pk").iterator(chunk_size=CHUNK):
        if subscriber.paused_until is not None and subscriber.paused_until > now:
            subscriber.next_due_at = subscriber.paused_until
        else:
            subscriber.next_due_at = next_due(
                subscriber.frequency,
                subscriber.weekday,
                subscriber.send_hour,
                subscriber.timezone,
                now,
                planned=False,
            )
        chunk.append(subscriber)
        if len(chunk) == CHUNK:
            Subscriber.objects.bulk_update(chunk, ["next_due_at"])
            chunk = []
    Subscriber.objects.bulk_update(chunk, ["next_due_at"])


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0004_subscriber_next_due_at")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]

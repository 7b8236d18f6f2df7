"""Beat runs recover_sends every minute: a dead worker's digests go out a lease later."""

from django.db import migrations

TASK = "digest.tasks.recover_sends"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(
        name="Recover sends of crashed workers (every minute)",
        defaults={
            "task": TASK,
            "interval": every_minute,
            "description": "Re-queues expired send claims and gives waiting deliveries a task",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("digest", "0012_topics_for_the_real_stream"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]

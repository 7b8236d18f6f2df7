"""Beat runs plan_digests every 10 minutes (editors can change it under Periodic tasks)."""

from django.db import migrations

TASK = "digest.tasks.plan_digests"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_ten, _ = IntervalSchedule.objects.get_or_create(every=10, period="minutes")
    PeriodicTask.objects.get_or_create(
        name="Plan and send due digests (every 10 minutes)",
        defaults={"task": TASK, "interval": every_ten, "description": "Plans due digests and queues send_batch tasks"},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("digest", "0006_delivery_enqueued_at"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]

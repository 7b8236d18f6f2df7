"""The starting topics' classifiers refitted with each paper's meaning as well as its words
(`digest/papers/embedding.py`): `digest/papers/data/topics-2026-12.json`.

Only a topic whose weights are still the ones migration 0012 shipped is updated: a topic an
operator refitted with `fit_topics` keeps their weights. The topics updated are tagged again
(automatic rows only, never an editor's assignment or removal).
"""

import importlib
import json
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "papers" / "data"
SHIPPED, REFITTED = DATA / "topics-2026-11.json", DATA / "topics-2026-12.json"


def forwards(apps, schema_editor):
    Topic = apps.get_model("digest", "Topic")
    shipped = {t["slug"]: t["weights"] for t in json.loads(SHIPPED.read_text("utf-8"))["topics"]}
    refitted = {
        t["slug"]: t["weights"] for t in json.loads(REFITTED.read_text("utf-8"))["topics"]
    }
    updated = []
    for topic in Topic.objects.filter(slug__in=refitted.keys()):
        if topic.weights == shipped.get(topic.slug) and refitted[topic.slug]:
            topic.weights = refitted[topic.slug]
            topic.save(update_fields=["weights"])
            updated.append(topic)
    if updated:
        retag = importlib.import_module("digest.migrations.0012_topics_for_the_real_stream").retag
        retag(apps, updated)


class Migration(migrations.Migration):
    dependencies = [("digest", "0017_ingest_runs")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

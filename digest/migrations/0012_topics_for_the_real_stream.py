"""Topics fitted to the real Daily Papers stream, replacing the eight drawn from one day.

The taxonomy (names, descriptions, keywords and each topic's fitted classifier) is data:
`digest/papers/data/topics-2026-11.json`, made by `manage.py fit_topics --into` from labelled papers.

- A starting topic is renamed in place when the new one covers it (its slug moves to
  `former_slugs`, whose pages redirect): its readers, editor assignments and removals stay.
- "Vision and multimodal" had become a catch-all; it becomes "Vision-language models", and
  its readers also get each topic it covered, so nobody loses papers they were getting.
- Topics editors created are left as they are.
- Every paper is tagged again with the new topics.
"""

import json
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "papers" / "data" / "topics-2026-11.json"
SPLIT = {
    "vision-multimodal": [
        "image-generation-and-editing", "video", "3d-and-4d", "visual-perception",
    ],
}
CHUNK = 2_000


def forwards(apps, schema_editor):
    Topic = apps.get_model("digest", "Topic")
    Subscriber = apps.get_model("subscriptions", "Subscriber")
    taxonomy = json.loads(DATA.read_text("utf-8"))["topics"]
    readers = {
        old: list(Subscriber.objects.filter(topics__slug=old).values_list("pk", flat=True))
        for old in SPLIT
    }
    topics = {}
    for entry in taxonomy:
        topic = (
            Topic.objects.filter(slug=entry["slug"]).first()
            or Topic.objects.filter(slug__in=entry["former_slugs"]).first()
            or Topic.objects.filter(name__iexact=entry["name"]).first()
            or Topic()
        )
        former = {s for s in topic.former_slugs.split(",") if s} if topic.pk else set()
        former.update(entry["former_slugs"])
        if topic.slug and topic.slug != entry["slug"]:
            former.add(topic.slug)
        topic.name = entry["name"]
        topic.slug = entry["slug"]
        topic.description = entry["description"]
        topic.keywords = entry["keywords"]
        topic.weights = entry["weights"]
        topic.former_slugs = ",".join(sorted(former - {entry["slug"]}))
        topic.active = True
        topic.save()
        topics[entry["slug"]] = topic
    through = Subscriber.topics.through
    for old, slugs in SPLIT.items():
        through.objects.bulk_create(
            [
                through(subscriber_id=pk, topic_id=topics[slug].pk)
                for pk in readers[old]
                for slug in slugs
            ],
            ignore_conflicts=True,
        )
    retag(apps, list(topics.values()))


def retag(apps, topics):
    """Tag every paper with the new topics, as `digest.papers.topics.tag_papers` does, on this
    migration's models: automatic rows only, never an editor's assignment or removal."""
    from digest.papers.topic_model import TopicWeights
    from digest.papers.topics import Tagger, TopicText

    Paper = apps.get_model("digest", "Paper")
    PaperTopic = apps.get_model("digest", "PaperTopic")
    ids = [t.pk for t in topics]
    PaperTopic.objects.filter(topic_id__in=ids, source="auto").delete()
    tagger = Tagger(
        [
            TopicText(
                t.pk, t.name, t.description,
                tuple(k.strip() for k in t.keywords.split(",") if k.strip()),
                TopicWeights.from_json(t.weights) if t.weights else None, t.slug,
            )
            for t in topics
        ]
    )
    last = 0
    while True:
        papers = list(
            Paper.objects.filter(pk__gt=last).order_by("pk").values_list("pk", "title", "abstract")[
                :CHUNK
            ]
        )
        if not papers:
            return
        last = papers[-1][0]
        paper_ids = [p[0] for p in papers]
        keep_out = set(
            PaperTopic.objects.filter(paper_id__in=paper_ids, topic_id__in=ids).values_list(
                "paper_id", "topic_id"
            )
        )
        keep_out.update(
            Paper.removed_topics.through.objects.filter(
                paper_id__in=paper_ids, topic_id__in=ids
            ).values_list("paper_id", "topic_id")
        )
        scores = tagger.scores([(title, abstract) for _, title, abstract in papers])
        PaperTopic.objects.bulk_create(
            [
                PaperTopic(paper_id=pk, topic_id=topic_id, score=score, source="auto")
                for (pk, _, _), found in zip(papers, scores)
                for topic_id, score in found.items()
                if (pk, topic_id) not in keep_out
            ]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("digest", "0011_topic_weights"),
        ("subscriptions", "0003_subscriber_follows"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

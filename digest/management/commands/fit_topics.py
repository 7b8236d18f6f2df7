"""python manage.py fit_topics PATH… --labels FILE [--into TAXONOMY.json] [--dry-run]

Fits each labelled topic's classifier (`digest/papers/topic_model.py`) on the papers of feed files
and the topics a person gave them, then stores the weights on the topics and re-tags every
paper for them. With --into, the topics come from a taxonomy file and the weights are
written back into it (how `digest/papers/data/` is made; see README).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from digest.models import Topic
from digest.papers import topic_model, topic_quality
from digest.papers.embedding import embed_papers
from digest.papers.ingestion.records import FeedError
from digest.papers.ingestion.service import paper_texts
from digest.papers.topic_quality import LabelsError, TopicRef
from digest.papers.topics import KeywordIndex, TopicText, analyse, store_weights


class Command(BaseCommand):
    help = "Fit topic classifiers from labelled papers and store them (or write a taxonomy file)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help="feed files or folders")
        parser.add_argument("--labels", required=True, help="arXiv id -> topic slugs")
        parser.add_argument("--into", help="a taxonomy JSON file to write the weights into")
        parser.add_argument("--dry-run", action="store_true", help="fit and report, save nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        into = Path(str(options["into"])) if options["into"] else None
        topics = self._taxonomy(into) if into else self._active_topics()
        try:
            papers = paper_texts([Path(p) for p in options["paths"]])
            raw = topic_quality.parse_labels(Path(str(options["labels"])).read_text("utf-8"))
        except FeedError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"cannot read the labels: {exc.strerror or exc}") from None
        except (LabelsError, UnicodeDecodeError) as exc:
            raise CommandError(f"labels: {exc}") from None
        refs = [TopicRef(t["slug"], t["name"], tuple(t.get("former_slugs", ()))) for t in topics]
        labels, unknown = topic_quality.resolve(raw, refs)
        for name in unknown:
            self.stderr.write(f"warning: label {name!r} names no topic here (ignored)")
        index = KeywordIndex(
            [TopicText(t["slug"], t["name"], "", tuple(t["keywords"])) for t in topics]
        )
        labelled = [p for p in papers if p[0] in labels]
        if not labelled:
            raise CommandError("none of the labelled papers is in the given files")
        vectors = embed_papers([(title, abstract) for _, title, abstract in labelled])
        features = [
            analyse(index, title, abstract, vectors[n])[0]
            for n, (_, title, abstract) in enumerate(labelled)
        ]
        weights = topic_model.fit(
            features, [labels[key] for key, _, _ in labelled], [t["slug"] for t in topics]
        )
        positives = Counter(slug for key, _, _ in labelled for slug in labels[key])
        for topic in topics:
            fitted = weights.get(topic["slug"])
            state = (
                f"{len(fitted.terms) + len(fitted.title_terms)} terms"
                if fitted
                else f"not fitted (fewer than {topic_model.MIN_POSITIVES} papers)"
            )
            self.stdout.write(f"  {positives[topic['slug']]:5d} papers  {state}  {topic['name']}")
        self.stdout.write(f"fitted={len(weights)} labelled_papers={len(labelled)}")
        if options["dry_run"]:
            return
        if into:
            self._write(into, weights)
        else:
            self._save(weights)

    def _active_topics(self) -> list[dict]:
        try:
            return [
                {
                    "slug": t.slug,
                    "name": t.name,
                    "keywords": t.keyword_list,
                    "former_slugs": t.former_slug_list,
                }
                for t in Topic.objects.filter(active=True)
            ]
        except DatabaseError:
            raise CommandError("no topics table: run `python manage.py migrate` first") from None

    def _taxonomy(self, path: Path) -> list[dict]:
        try:
            data = json.loads(path.read_text("utf-8"))
            topics = data["topics"]
            for topic in topics:
                topic["keywords"] = [k.strip() for k in topic["keywords"].split(",") if k.strip()]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CommandError(f"{path}: not a taxonomy file ({exc})") from None
        return topics

    def _write(self, path: Path, weights: dict) -> None:
        data = json.loads(path.read_text("utf-8"))
        for topic in data["topics"]:
            fitted = weights.get(topic["slug"])
            topic["weights"] = fitted.to_json() if fitted else {}
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", "utf-8")
        self.stdout.write(f"wrote {path}")

    def _save(self, weights: dict) -> None:
        stored, written = store_weights({slug: w.to_json() for slug, w in weights.items()})
        self.stdout.write(f"saved={stored} retagged_assignments={written}")

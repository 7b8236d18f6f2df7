"""How well papers are tagged: coverage, each topic's share, precision and recall against
labels a person assigned. Pure: no database (`manage.py evaluate_topics` feeds it).

A labels file names papers by arXiv id and topics by slug (or by name), in any of these
shapes, so that labels made with a spreadsheet or a script both load:

- JSON: {"2505.04410": ["video", "3d-and-4d"], ...} (a comma-separated string works too);
- JSON: [{"id": "2505.04410", "topics": [...]}, ...] ("arxiv_id", "labels", "slugs" also);
- JSON lines of such objects;
- CSV or TSV: an id, then topics in the next column (comma- or semicolon-separated) or in
  the columns after it; a header row is skipped.

Precision and recall are per topic over the labelled papers, macro-averaged over the topics
the labels use: a labelled topic the tagger does not know counts with precision and recall 0.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.utils.text import slugify

_ARXIV_VERSION = re.compile(r"v\d+$")


class LabelsError(Exception):
    """A labels file that cannot be read."""


def _paper_id(value: object) -> str:
    text = str(value).strip()
    for prefix in ("arxiv:", "https://arxiv.org/abs/", "https://huggingface.co/papers/"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
    return _ARXIV_VERSION.sub("", text)


def _topic_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [t.strip() for t in re.split(r"[,;|]", value) if t.strip()]
    if isinstance(value, Iterable):
        return [str(t).strip() for t in value if str(t).strip()]
    raise LabelsError(f"topics must be a list or a comma-separated string, not {value!r}")


def parse_labels(text: str) -> dict[str, list[str]]:
    """{arXiv id: [topic as written]} from the text of a labels file."""
    stripped = text.strip()
    if not stripped:
        raise LabelsError("the labels file is empty")
    if stripped[0] in "[{":
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError:
            try:
                data = [json.loads(line) for line in stripped.splitlines() if line.strip()]
            except json.JSONDecodeError as exc:
                raise LabelsError(f"not valid JSON: {exc}") from None
        return _from_json(data)
    return _from_table(stripped)


def _from_json(data: object) -> dict[str, list[str]]:
    if isinstance(data, dict) and isinstance(data.get("labels"), dict | list):
        data = data["labels"]
    if isinstance(data, dict):
        return {_paper_id(k): _topic_list(v) for k, v in data.items()}
    if not isinstance(data, list):
        raise LabelsError("expected an object of id -> topics, or a list of objects")
    labels: dict[str, list[str]] = {}
    for n, row in enumerate(data, 1):
        if not isinstance(row, dict):
            raise LabelsError(f"entry {n} is not an object")
        key = next((row[k] for k in ("id", "arxiv_id", "paper", "paper_id") if k in row), None)
        if key is None:
            raise LabelsError(f"entry {n} has no id")
        topics: object = next(
            (row[k] for k in ("topics", "labels", "slugs", "topic") if k in row), []
        )
        labels[_paper_id(key)] = _topic_list(topics)
    return labels


def _from_table(text: str) -> dict[str, list[str]]:
    dialect = "excel-tab" if "\t" in text.splitlines()[0] else "excel"
    labels: dict[str, list[str]] = {}
    for n, row in enumerate(csv.reader(io.StringIO(text), dialect=dialect)):
        cells = [c.strip() for c in row if c.strip()]
        if not cells:
            continue
        if n == 0 and not re.search(r"\d", cells[0]):
            continue  # a header row
        topics = [t for cell in cells[1:] for t in _topic_list(cell)]
        labels[_paper_id(cells[0])] = topics
    return labels


@dataclass(frozen=True)
class TopicRef:
    key: str  # what tagging calls it: the slug
    name: str
    former_slugs: tuple[str, ...] = ()


def resolve(
    labels: Mapping[str, Sequence[str]], topics: Sequence[TopicRef]
) -> tuple[dict[str, set[str]], list[str]]:
    """Labels as sets of topic keys, and the labels that name no known topic (kept as they
    are, so they count as topics the tagger never finds)."""
    lookup: dict[str, str] = {}
    for topic in topics:
        for alias in (topic.key, topic.name, slugify(topic.name), *topic.former_slugs):
            lookup.setdefault(alias.lower(), topic.key)
    resolved: dict[str, set[str]] = {}
    unknown: set[str] = set()
    for paper, names in labels.items():
        keys = set()
        for name in names:
            key = lookup.get(name.lower()) or lookup.get(slugify(name))
            if key is None:
                unknown.add(name)
                key = name
            keys.add(key)
        resolved[paper] = keys
    return resolved, sorted(unknown)


@dataclass(frozen=True)
class TopicScore:
    key: str
    precision: float
    recall: float
    labelled: int
    tagged: int


@dataclass
class Report:
    papers: int
    tagged_papers: int
    shares: Counter[str]
    labelled_papers: int = 0
    scores: list[TopicScore] = field(default_factory=list)

    @property
    def coverage(self) -> float:
        return self.tagged_papers / self.papers if self.papers else 0.0

    @property
    def max_share(self) -> float:
        return max(self.shares.values()) / self.papers if self.shares and self.papers else 0.0

    @property
    def macro_precision(self) -> float | None:
        return _mean([s.precision for s in self.scores])

    @property
    def macro_recall(self) -> float | None:
        return _mean([s.recall for s in self.scores])

    def summary(self) -> str:
        """The last line of `evaluate_topics`, for scripts and people alike."""
        return (
            f"coverage={self.coverage:.3f} max_share={self.max_share:.3f} "
            f"macro_precision={_fmt(self.macro_precision)} macro_recall={_fmt(self.macro_recall)}"
        )


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def evaluate(
    tagged: Mapping[str, set[str]],
    labels: Mapping[str, set[str]] | None = None,
    only: Collection[str] | None = None,
) -> Report:
    """`tagged`: {paper: topic keys} for every paper looked at; `labels` for some of them.

    `only`: the topic keys to score (and average), where the labels name more topics than
    the ones being judged; coverage and shares always count every topic."""
    shares: Counter[str] = Counter(key for keys in tagged.values() for key in keys)
    report = Report(len(tagged), sum(1 for keys in tagged.values() if keys), shares)
    if not labels:
        return report
    papers = [p for p in labels if p in tagged]
    report.labelled_papers = len(papers)
    keys = {k for p in papers for k in labels[p]}
    for key in sorted(keys if only is None else keys & set(only)):
        hits = sum(1 for p in papers if key in labels[p] and key in tagged[p])
        labelled = sum(1 for p in papers if key in labels[p])
        found = sum(1 for p in papers if key in tagged[p])
        report.scores.append(
            TopicScore(key, hits / found if found else 0.0, hits / labelled, labelled, found)
        )
    return report

"""Tagging papers with topics.

A paper gets a topic when one of the topic's keywords occurs in it as a whole word, or when
its text is similar enough to the topic's name, description and keywords.

- Keywords: whole words, hyphen or space or nothing between parts ("zero-shot" finds
  "zero shot" and "zeroshot"), a plural "s" allowed; case-insensitive, except keywords
  written with capitals inside ("ZeRO", "RAG", "MeZO"), which are names and must match as
  written, or "ZeRO" would tag every zero-shot paper. A hit in the title counts more than
  hits in the abstract, and one passing mention in an abstract is not enough on its own.
- Similarity: cosine between TF-IDF vectors (scikit-learn, English stop words, unigrams,
  sublinear term frequency) of the paper's title and abstract and the topic's text.
  TF-IDF rather than BM25: the topic texts are short descriptions, not queries, and cosine
  over L2-normalized vectors already corrects for long abstracts, which is what BM25's length
  normalisation would buy us; scikit-learn's implementation is fast and well tested.
  IDF is fitted on the papers being tagged plus the topic texts; small runs add a background
  sample of recent papers so that a single paper is weighed against a realistic corpus.

    evidence = KEYWORD_TITLE * title_hit + KEYWORD_ABSTRACT * distinct_abstract_keywords
               + SIMILARITY_WEIGHT * cosine
    score    = 1 - exp(-evidence)          # in [0, 1), keeps the order where min(1, …) would tie

A paper is tagged when evidence >= ASSIGN_THRESHOLD (a title hit, two distinct keywords in
the abstract, or one with a similar text) or when the cosine alone reaches
SIMILARITY_THRESHOLD.

An editor's assignment or removal always wins: automatic tagging only writes rows whose
source is `auto`, never touches `editor` rows and never re-adds a topic an editor removed.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from sklearn.feature_extraction.text import TfidfVectorizer

from digest.bulk import bulk_insert_rows
from digest.models import Paper, PaperTopic, Topic

KEYWORD_TITLE = 0.6
KEYWORD_ABSTRACT = 0.2
SIMILARITY_WEIGHT = 1.0
ASSIGN_THRESHOLD = 0.4
# Tuned on the seed page: at this cosine the topics were right without any keyword, and
# below it papers sharing only generic words ("model", "language") with a topic crept in.
SIMILARITY_THRESHOLD = 0.12
BACKGROUND_MIN_DOCS = 200
BACKGROUND_SAMPLE = 1_000
CHUNK = 2_000


@dataclass(frozen=True)
class TopicText:
    id: int
    name: str
    description: str
    keywords: tuple[str, ...]

    @property
    def document(self) -> str:
        return " ".join([self.name, self.description, *self.keywords])


def keyword_pattern(keywords: Iterable[str], *, lowercase: bool) -> re.Pattern[str] | None:
    """One pattern for many keywords; with `lowercase`, for text that was lower-cased.

    Matching lower-cased text with a plain pattern is about three times faster than an
    IGNORECASE pattern or inline (?i:) groups, and tagging runs it on every abstract.
    """
    parts = []
    for keyword in keywords:
        words = [re.escape(w.lower() if lowercase else w) for w in _split(keyword)]
        if words:
            parts.append(r"[\s\-]?".join(words) + r"(?:e?s)?")
    if not parts:
        return None
    # Longest first, so "zero-shot learning" wins over "zero-shot" where both fit.
    return re.compile(r"\b(?:" + "|".join(sorted(parts, key=len, reverse=True)) + r")\b")


def _split(keyword: str) -> list[str]:
    return [w for w in re.split(r"[\s\-]+", keyword.strip()) if w]


def _is_name(keyword: str) -> bool:
    return any(ch.isupper() for ch in keyword.strip()[1:])


def _joined(text: str) -> str:
    return re.sub(r"[\s\-]+", "", text)


class KeywordIndex:
    """Every topic's keywords in two patterns: one scan of a text finds them all.

    Scanning once per text instead of once per topic and text is what keeps tagging
    10,000 papers within seconds. Names ("ZeRO") are matched as written, other keywords
    on the lower-cased text.
    """

    def __init__(self, topics: Sequence[TopicText]):
        self.names: dict[str, set[int]] = defaultdict(set)  # "ZeRO"
        self.words: dict[str, set[int]] = defaultdict(set)  # "zeroshot"
        spelled: dict[bool, list[str]] = {True: [], False: []}
        for topic in topics:
            for keyword in topic.keywords:
                if not _split(keyword):
                    continue
                name = _is_name(keyword)
                spelled[name].append(keyword)
                if name:
                    self.names[_joined(keyword)].add(topic.id)
                else:
                    self.words[_joined(keyword).lower()].add(topic.id)
        self.names_pattern = keyword_pattern(spelled[True], lowercase=False)
        self.words_pattern = keyword_pattern(spelled[False], lowercase=True)

    def hits(self, text: str) -> dict[int, set[str]]:
        """{topic id: the distinct keywords of that topic found in text}."""
        found: dict[int, set[str]] = defaultdict(set)
        for pattern, index, subject in (
            (self.words_pattern, self.words, text.lower()),
            (self.names_pattern, self.names, text),
        ):
            if pattern is None:
                continue
            for match in pattern.finditer(subject):
                key, owners = self._lookup(index, _joined(match.group(0)))
                for topic_id in owners:
                    found[topic_id].add(key)
        return found

    @staticmethod
    def _lookup(index: dict[str, set[int]], joined: str) -> tuple[str, set[int]]:
        # The pattern allows a plural: try the word as found, then without "s" or "es".
        for key in (joined, joined[:-1], joined[:-2]):
            if key in index:
                return key, index[key]
        return joined, set()


class Tagger:
    """Scores (title, abstract) pairs against a fixed set of topics. Pure: no database."""

    def __init__(self, topics: Sequence[TopicText]):
        self.topics = list(topics)
        self.keywords = KeywordIndex(self.topics)

    def scores(
        self, texts: Sequence[tuple[str, str]], background: Sequence[str] = ()
    ) -> list[dict[int, float]]:
        """For each (title, abstract): {topic id: score} for the topics that fit."""
        if not self.topics or not texts:
            return [{} for _ in texts]
        documents = [f"{title}. {abstract}" for title, abstract in texts]
        similarity = self._similarity(documents, background)
        results: list[dict[int, float]] = []
        for row, (title, abstract) in enumerate(texts):
            in_title = self.keywords.hits(title)
            in_abstract = self.keywords.hits(abstract)
            found: dict[int, float] = {}
            for col, topic in enumerate(self.topics):
                cosine = float(similarity[row, col])
                evidence = (
                    KEYWORD_TITLE * bool(in_title.get(topic.id))
                    + KEYWORD_ABSTRACT * len(in_abstract.get(topic.id, ()))
                    + SIMILARITY_WEIGHT * cosine
                )
                if evidence >= ASSIGN_THRESHOLD or cosine >= SIMILARITY_THRESHOLD:
                    found[topic.id] = round(1.0 - math.exp(-evidence), 3)
            results.append(found)
        return results

    def _similarity(self, documents: list[str], background: Sequence[str]) -> np.ndarray:
        # Unigrams: bigrams doubled the cost and changed no tag on the seed page, where
        # keyword phrases already carry the multi-word evidence.
        vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True, dtype=np.float64)
        topic_docs = [t.document for t in self.topics]
        # One pass over all texts: fitting and transforming separately tokenizes twice.
        matrix = vectorizer.fit_transform([*documents, *topic_docs, *background])
        papers = matrix[: len(documents)]
        topics = matrix[len(documents) : len(documents) + len(topic_docs)]
        return (papers @ topics.T).toarray()


def active_topic_texts() -> list[TopicText]:
    return [
        TopicText(t.id, t.name, t.description, tuple(t.keyword_list))
        for t in Topic.objects.filter(active=True).order_by("id")
    ]


def tag_papers(papers: Sequence[Paper], topics: Sequence[TopicText] | None = None) -> int:
    """Re-tag these papers automatically; returns the number of auto assignments written.

    Replaces their `auto` rows (for the given topics) and leaves `editor` rows and
    editor removals alone.
    """
    topics = active_topic_texts() if topics is None else list(topics)
    if not papers or not topics:
        return 0
    tagger = Tagger(topics)
    background: list[str] = []
    if len(papers) < BACKGROUND_MIN_DOCS:
        ids = [p.pk for p in papers]
        background = [
            f"{title}. {abstract}"
            for title, abstract in Paper.objects.exclude(pk__in=ids)
            .order_by("-featured_on")
            .values_list("title", "abstract")[:BACKGROUND_SAMPLE]
        ]
    written = 0
    topic_ids = [t.id for t in topics]
    for start in range(0, len(papers), CHUNK):
        chunk = papers[start : start + CHUNK]
        scores = tagger.scores([(p.title, p.abstract) for p in chunk], background)
        written += _write_auto_assignments(chunk, topic_ids, scores)
    return written


def _write_auto_assignments(
    papers: Sequence[Paper], topic_ids: list[int], scores: list[dict[int, float]]
) -> int:
    paper_ids = [p.pk for p in papers]
    keep_out = set(
        PaperTopic.objects.filter(
            paper_id__in=paper_ids, topic_id__in=topic_ids, source=PaperTopic.Source.EDITOR
        ).values_list("paper_id", "topic_id")
    )
    removed = Paper.removed_topics.through.objects.filter(
        paper_id__in=paper_ids, topic_id__in=topic_ids
    ).values_list("paper_id", "topic_id")
    keep_out.update(removed)
    rows = [
        PaperTopic(paper_id=paper.pk, topic_id=topic_id, score=score, source=PaperTopic.Source.AUTO)
        for paper, found in zip(papers, scores, strict=True)
        for topic_id, score in found.items()
        if (paper.pk, topic_id) not in keep_out
    ]
    with transaction.atomic():
        PaperTopic.objects.filter(
            paper_id__in=paper_ids, topic_id__in=topic_ids, source=PaperTopic.Source.AUTO
        ).delete()
        bulk_insert_rows(rows)
    return len(rows)


def retag_topics(topic_ids: Sequence[int]) -> int:
    """Re-tag every paper for these topics, after an editor changed them."""
    topics = [t for t in active_topic_texts() if t.id in set(topic_ids)]
    inactive = Topic.objects.filter(pk__in=topic_ids, active=False)
    # A deactivated topic keeps its editor assignments but loses its automatic ones.
    PaperTopic.objects.filter(topic__in=inactive, source=PaperTopic.Source.AUTO).delete()
    if not topics:
        return 0
    written = 0
    queryset = Paper.objects.only("pk", "title", "abstract").order_by("pk")
    last_pk = 0
    while True:
        chunk = list(queryset.filter(pk__gt=last_pk)[:CHUNK])
        if not chunk:
            return written
        written += tag_papers(chunk, topics)
        last_pk = chunk[-1].pk

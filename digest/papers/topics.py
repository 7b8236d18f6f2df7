"""Tagging papers with topics.

Two ways, per topic:

- **Learned** (the starting topics, and any topic fitted with `manage.py fit_topics`): a
  linear classifier over the paper's words, title words and the topic's keyword hits
  (`digest/papers/topic_model.py`), fitted on papers a person labelled. The paper gets the topic
  when the classifier's probability reaches `topic_model.ASSIGN_PROBABILITY`.
- **Keywords** (a topic an editor just created, with no weights yet): a keyword in the
  title, or two distinct keywords in the abstract:

    evidence = KEYWORD_TITLE * title_hit + KEYWORD_ABSTRACT * distinct_abstract_keywords
    score    = 1 - exp(-evidence)          # in [0, 1), keeps the order where min(1, …) would tie

  tagged when evidence >= ASSIGN_THRESHOLD. One passing mention in an abstract is not enough.
- **Description** (a topic with neither weights nor keywords): a text similar enough to the
  topic's name and description, cosine >= SIMILARITY_THRESHOLD between TF-IDF vectors
  (scikit-learn, English stop words, unigrams, sublinear term frequency), with IDF fitted on
  the papers being tagged plus the topic texts and, for small runs, a background sample of
  recent papers. It is the only path that tokenizes the papers a second time, so it runs
  only when such a topic exists.

A paper no topic reached still gets its most likely learned topic when that is at least
FALLBACK_PROBABILITY: a reader of the field would rather see it there than nowhere, and an
untagged paper reaches no digest at all.

Keywords are whole words, hyphen or space or nothing between parts ("zero-shot" finds
"zero shot" and "zeroshot"), a plural "s" allowed; case-insensitive, except one-word
keywords written with capitals inside ("ZeRO", "RAG", "MeZO"), which are names and must
match as written, or "ZeRO" would tag every zero-shot paper.

An editor's assignment or removal always wins: automatic tagging only writes rows whose
source is `auto`, never touches `editor` rows and never re-adds a topic an editor removed.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

import numpy as np
from django.db import transaction
from sklearn.feature_extraction.text import TfidfVectorizer

from digest.bulk import insert_rows
from digest.models import Paper, PaperTopic, Topic
from digest.papers import topic_model
from digest.papers.embedding import embed_papers
from digest.papers.topic_model import LinearTagger, PaperFeatures, TopicWeights

KEYWORD_TITLE = 0.6
KEYWORD_ABSTRACT = 0.2
SIMILARITY_WEIGHT = 1.0
ASSIGN_THRESHOLD = 0.4
# Tuned on the seed page: at this cosine the topics were right without any keyword, and
# below it papers sharing only generic words ("model", "language") with a topic crept in.
SIMILARITY_THRESHOLD = 0.12
FALLBACK_PROBABILITY = 0.3
BACKGROUND_MIN_DOCS = 200
BACKGROUND_SAMPLE = 1_000
CHUNK = 2_000


@dataclass(frozen=True)
class TopicText:
    id: int
    name: str
    description: str
    keywords: tuple[str, ...]
    weights: TopicWeights | None = None
    slug: str = ""

    @property
    def document(self) -> str:
        return " ".join([self.name, self.description, *self.keywords])


_WORD = topic_model.WORD
# What may stand between the words of a keyword: "zero-shot" or "zero shot".
_PLURALS = ("s", "es")


def _split(keyword: str) -> list[str]:
    return _WORD.findall(keyword)


def _is_name(keyword: str) -> bool:
    """One word with capitals inside ("ZeRO", "RAG", "MoE"): a name, matched as written."""
    words = _split(keyword)
    return len(words) == 1 and any(ch.isupper() for ch in words[0][1:])


@lru_cache(maxsize=4096)
def _phrase(words: tuple[str, ...]) -> re.Pattern[str]:
    """The words of a keyword, a word boundary before the first and after the last.

    The pattern starts with the first word itself, and the boundary before it is checked
    after it, looking back: `re` then skips through a text to each place where that word
    occurs, where a leading \\b made it try the pattern at every position (2 µs an
    abstract against 55)."""
    first = re.escape(words[0])
    rest = "".join(r"[\s\-]" + re.escape(word) for word in words[1:])
    return re.compile(rf"{first}(?<!\w{first}){rest}(?:e?s)?\b")


class KeywordIndex:
    """Every topic's keywords in a few sets and dictionaries: one pass over a text finds them.

    A text is split into words once (the same split the classifiers use). One-word keywords,
    and longer ones written together ("zeroshot"), are a set intersection; longer ones are
    looked for only where their first two words stand side by side, so the cost follows the
    length of the text, not the number of keywords (one regular expression of 800
    alternatives took 18 s for 10,000 abstracts). Names ("ZeRO", "RAG") are matched as
    written, the rest in any case.
    """

    def __init__(self, topics: Sequence[TopicText]):
        # Spelling ("agents", "zeroshot") -> (the keyword's key, topic ids).
        self.words: dict[str, tuple[str, set[int]]] = {}
        self.names: dict[str, tuple[str, set[int]]] = {}
        self.name_words: set[str] = set()  # names lower-cased: whether to look at all
        # Keywords of several words, by their first two words (the second maybe plural, for
        # two-word keywords): [(words, key, topic ids)].
        self.phrases: dict[tuple[str, str], list[tuple[tuple[str, ...], str, set[int]]]] = (
            defaultdict(list)
        )
        for topic in topics:
            for keyword in topic.keywords:
                words = _split(keyword)
                if not words:
                    continue
                if _is_name(keyword):
                    self._index(self.names, words[0], topic.id)
                    self.name_words.update(s.lower() for s in self._spellings(words[0]))
                    continue
                words = [w.lower() for w in words]
                key = "".join(words)
                self._index(self.words, key, topic.id)
                if len(words) > 1:
                    seconds = self._spellings(words[1]) if len(words) == 2 else (words[1],)
                    for second in seconds:
                        entries = self.phrases[(words[0], second)]
                        entry = next((e for e in entries if e[1] == key), None)
                        if entry is None:
                            entries.append((tuple(words), key, {topic.id}))
                        else:
                            entry[2].add(topic.id)
        self.word_keys = frozenset(self.words)
        self.phrase_keys = frozenset(self.phrases)
        self.phrase_firsts = frozenset(first for first, _ in self.phrases)

    @staticmethod
    def _spellings(key: str) -> tuple[str, ...]:
        return (key, *(key + ending for ending in _PLURALS))

    def _index(self, index: dict[str, tuple[str, set[int]]], key: str, topic_id: int) -> None:
        for spelling in self._spellings(key):
            index.setdefault(spelling, (key, set()))[1].add(topic_id)

    def hits(self, text: str, words: Sequence[str] | None = None) -> dict[int, set[str]]:
        """{topic id: the distinct keywords of that topic found in text}.

        `words`: the lower-cased text already split with `topic_model.WORD`, when the caller
        has it (the tagger splits each text once for keywords and classifiers alike).
        """
        lower = text.lower()
        if words is None:
            words = _WORD.findall(lower)
        present = set(words)
        found: dict[int, set[str]] = defaultdict(set)
        # Set with set: Python iterates the smaller one (with a dict it would walk the dict).
        for spelling in present & self.word_keys:
            self._add(found, self.words[spelling])
        if not self.name_words.isdisjoint(present):
            for spelling in self.names.keys() & set(_WORD.findall(text)):
                self._add(found, self.names[spelling])
        if self.phrase_firsts.isdisjoint(present):
            return found
        # Neighbouring words that begin a phrase keyword: the set checks each pair in C.
        for pair in self.phrase_keys.intersection(pairwise(words)):
            for phrase, key, topic_ids in self.phrases[pair]:
                if present.issuperset(phrase[2:-1]) and _phrase(phrase).search(lower):
                    self._add(found, (key, topic_ids))
        return found

    @staticmethod
    def _add(found: dict[int, set[str]], entry: tuple[str, set[int]]) -> None:
        key, topic_ids = entry
        for topic_id in topic_ids:
            found[topic_id].add(key)


Hits = dict[int, set[str]]


def analyse(
    keywords: KeywordIndex, title: str, abstract: str, embedding: np.ndarray | None = None
) -> tuple[PaperFeatures, Hits, Hits]:
    """A paper as the classifiers see it, and the keywords in its title and its abstract:
    each text is split into words once for both. `embedding`: the paper's row of
    `embedding.embed_papers`, worked out for many papers at once."""
    title_words = _WORD.findall(title.lower())
    abstract_words = _WORD.findall(abstract.lower())
    in_title = keywords.hits(title, title_words)
    in_abstract = keywords.hits(abstract, abstract_words)
    counts = {
        t: (bool(in_title.get(t)), len(in_abstract.get(t, ())))
        for t in in_title.keys() | in_abstract.keys()
    }
    paper = topic_model.features_from_words(title_words, abstract_words, counts, embedding)
    return paper, in_title, in_abstract


class Tagger:
    """Scores (title, abstract) pairs against a fixed set of topics. Pure: no database."""

    def __init__(self, topics: Sequence[TopicText]):
        self.topics = list(topics)
        self.keywords = KeywordIndex(self.topics)
        self.learned = LinearTagger({t.id: t.weights for t in self.topics if t.weights})
        unfitted = [t for t in self.topics if not t.weights]
        self.by_keywords = [t for t in unfitted if t.keywords]
        # A topic with neither weights nor keywords has only its name and description.
        self.by_description = [t for t in unfitted if not t.keywords]

    def scores(
        self, texts: Sequence[tuple[str, str]], background: Sequence[str] = ()
    ) -> list[dict[int, float]]:
        """For each (title, abstract): {topic id: score} for the topics that fit."""
        if not self.topics or not texts:
            return [{} for _ in texts]
        similarity = self._similarity(texts, background) if self.by_description else None
        found_keywords: list[tuple[Hits, Hits]] = []
        # Embedded all at once: the tokenizer works through a batch in parallel.
        vectors = embed_papers(texts) if self.learned.reads_embeddings else None

        def features() -> Iterator[topic_model.PaperFeatures]:
            # One paper at a time: the classifiers read each paper's features as they
            # come, and only its keywords are kept (see probabilities_many).
            for n, (title, abstract) in enumerate(texts):
                vector = None if vectors is None else vectors[n]
                paper, in_title, in_abstract = analyse(self.keywords, title, abstract, vector)
                found_keywords.append((in_title, in_abstract))
                yield paper

        learned = self.learned.topics
        matrix = self.learned.probabilities_many(features())  # no columns without weights
        results: list[dict[int, float]] = []
        for row, (in_title, in_abstract) in enumerate(found_keywords):
            found: dict[int, float] = {}
            probabilities = dict(zip(learned, matrix[row].tolist(), strict=True))
            for topic_id, p in probabilities.items():
                if p >= topic_model.ASSIGN_PROBABILITY:
                    found[topic_id] = round(p, 3)
            for topic in self.by_keywords:
                evidence = KEYWORD_TITLE * bool(in_title.get(topic.id)) + KEYWORD_ABSTRACT * len(
                    in_abstract.get(topic.id, ())
                )
                if evidence >= ASSIGN_THRESHOLD:
                    found[topic.id] = round(1.0 - math.exp(-evidence), 3)
            for col, topic in enumerate(self.by_description):
                assert similarity is not None
                cosine = float(similarity[row, col])
                if cosine >= SIMILARITY_THRESHOLD:
                    found[topic.id] = round(1.0 - math.exp(-SIMILARITY_WEIGHT * cosine), 3)
            if not found and probabilities:
                best, p = max(probabilities.items(), key=lambda item: item[1])
                if p >= FALLBACK_PROBABILITY:
                    found[best] = round(p, 3)
            results.append(found)
        return results

    def _similarity(
        self, texts: Sequence[tuple[str, str]], background: Sequence[str]
    ) -> np.ndarray:
        # Unigrams: bigrams doubled the cost and changed no tag on the seed page, where
        # keyword phrases already carry the multi-word evidence.
        vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True, dtype=np.float64)
        documents = [f"{title}. {abstract}" for title, abstract in texts]
        topic_docs = [t.document for t in self.by_description]
        # One pass over all texts: fitting and transforming separately tokenizes twice.
        matrix = vectorizer.fit_transform([*documents, *topic_docs, *background])
        papers = matrix[: len(documents)]
        topics = matrix[len(documents) : len(documents) + len(topic_docs)]
        return (papers @ topics.T).toarray()


def active_topic_texts() -> list[TopicText]:
    return [topic_text(t) for t in Topic.objects.filter(active=True).order_by("id")]


def topic_text(topic: Topic) -> TopicText:
    weights = TopicWeights.from_json(topic.weights) if topic.weights else None
    return TopicText(
        topic.id, topic.name, topic.description, tuple(topic.keyword_list), weights, topic.slug
    )


def tag_papers(
    papers: Sequence[Paper],
    topics: Sequence[TopicText] | None = None,
    *,
    tagger: Tagger | None = None,
) -> int:
    """Re-tag these papers automatically; returns the number of auto assignments written.

    Replaces their `auto` rows (for the given topics, or the tagger's) and leaves `editor`
    rows and editor removals alone. A caller tagging chunk after chunk passes one tagger:
    loading the topics' classifiers and indexing their keywords costs a tenth of a second.
    """
    if not papers:
        return 0
    if tagger is None:
        tagger = Tagger(active_topic_texts() if topics is None else list(topics))
    topics = tagger.topics
    if not topics:
        return 0
    background: list[str] = []
    if len(papers) < BACKGROUND_MIN_DOCS and tagger.by_description:
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
    removed = Paper.removed_topics.through._default_manager.filter(
        paper_id__in=paper_ids, topic_id__in=topic_ids
    ).values_list("paper_id", "topic_id")
    keep_out.update(removed)
    auto = PaperTopic.Source.AUTO.value
    rows = [
        (paper.pk, topic_id, score, auto)
        for paper, found in zip(papers, scores, strict=True)
        for topic_id, score in found.items()
        if (paper.pk, topic_id) not in keep_out
    ]
    with transaction.atomic():
        PaperTopic.objects.filter(
            paper_id__in=paper_ids, topic_id__in=topic_ids, source=PaperTopic.Source.AUTO
        ).delete()
        insert_rows(PaperTopic, ("paper", "topic", "score", "source"), rows)
    return len(rows)


def store_weights(weights: Mapping[str, Mapping[str, object]]) -> tuple[int, int]:
    """Fitted classifiers stored on their topics ({slug: TopicWeights as JSON}; an empty one
    leaves its topic as it is), then every paper tagged again with those topics. Returns
    (topics stored, assignments written)."""
    with transaction.atomic():
        topics = list(Topic.objects.filter(slug__in=[slug for slug, w in weights.items() if w]))
        for topic in topics:
            topic.weights = dict(weights[topic.slug])
            topic.save(update_fields=["weights"])
    return len(topics), retag_topics([t.pk for t in topics])


def retag_topics(topic_ids: Sequence[int]) -> int:
    """Re-tag every paper for these topics, after an editor changed them."""
    topics = [t for t in active_topic_texts() if t.id in set(topic_ids)]
    inactive = Topic.objects.filter(pk__in=topic_ids, active=False)
    # A deactivated topic keeps its editor assignments but loses its automatic ones.
    PaperTopic.objects.filter(topic__in=inactive, source=PaperTopic.Source.AUTO).delete()
    if not topics:
        return 0
    written = 0
    tagger = Tagger(topics)  # one for every chunk
    queryset = Paper.objects.only("pk", "title", "abstract").order_by("pk")
    last_pk = 0
    while True:
        chunk = list(queryset.filter(pk__gt=last_pk)[:CHUNK])
        if not chunk:
            return written
        written += tag_papers(chunk, tagger=tagger)
        last_pk = chunk[-1].pk


# --- measuring ------------------------------------------------------------------------------
def tagged_by_slug(
    papers: Sequence[tuple[str, str, str]], topics: Sequence[TopicText]
) -> dict[str, set[str]]:
    """{paper key: the slugs of the topics tagging would give it} for (key, title,
    abstract) triples; stores nothing."""
    slugs = {t.id: t.slug for t in topics}
    tagger = Tagger(topics)
    result: dict[str, set[str]] = {}
    for start in range(0, len(papers), CHUNK):
        chunk = papers[start : start + CHUNK]
        scores = tagger.scores([(title, abstract) for _, title, abstract in chunk])
        for (key, _, _), found in zip(chunk, scores, strict=True):
            result[key] = {slugs[t] for t in found}
    return result

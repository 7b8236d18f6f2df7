"""Learned topic weights: one linear classifier per topic, fitted from papers a person labelled.

Pure: no database. `digest/papers/topics.py` loads the weights from `Topic.weights` and tags with
them; `manage.py fit_topics` fits them from a labels file.

What a paper looks like to a classifier (the same function when fitting and when tagging,
so there is no vocabulary to ship and no fitted state besides the weights):

- its terms: the lower-cased words of two or more characters of title and abstract, English
  stop words left out, and each pair of neighbouring words ("reward model"), each weighted
  1 + ln(count) and the whole L2-normalised, so a long abstract does not outvote a short one;
- its title's terms, the same way on their own: a word in the title says more;
- the topic's keywords (`Topic.keywords`, the ones editors edit): whether one is in the
  title, and how many distinct ones are in the abstract (at most three). Keywords carry what
  a person knows about a field, so a paper about pathology is "medicine" even when no
  labelled paper ever said "pathology"; they are what lets the classifiers work on days
  they have never seen;
- its meaning, as a unit vector of 256 numbers (`digest/papers/embedding.py`), times
  EMBEDDING_SCALE: words a topic's labelled papers never used still count when they mean
  the same ("speech" and "spoken"). Weights fitted without it (editors' older fits) are
  scored on the rest alone.

    p = sigmoid(bias + Σ weight(term) · x(term) + keyword_title · in_title
                + keyword_abstract · min(3, in_abstract) / 3 + Σ embedding_i · e_i)

A paper gets the topic when p >= ASSIGN_PROBABILITY. Fitting keeps each topic's KEEP_TERMS
strongest terms: the weights stay small enough for a database row and readable in admin
("why is this paper in Video?"), at a cost measured at about one point of precision.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from digest.papers.embedding import DIMENSIONS

# A topic as callers name it: a Topic id in the database, a slug in files and scripts.
TopicKey = Any

ASSIGN_PROBABILITY = 0.5
KEYWORDS_IN_ABSTRACT_CAP = 3
# Fitting: the inverse regularisation strength, and how many terms a topic keeps.
FIT_C = 16.0
KEEP_TERMS = 300
MIN_POSITIVES = 5
# How much a paper's meaning weighs against its words when fitting (the stored weights have
# it folded in). Chosen on dev with days held out (all terms kept): 1.0 and 2.0 gave F1 0.823
# and 0.829, 1.5 0.829 with the better precision; 3.0 fell to 0.81.
EMBEDDING_SCALE = 1.5
# Each topic's decision threshold is chosen by cross-validation on the labelled papers (the
# one with the best F1 among these), then folded into its bias so that tagging compares
# every topic's probability with ASSIGN_PROBABILITY.
THRESHOLDS = tuple(round(0.3 + 0.05 * n, 2) for n in range(11))  # 0.30 … 0.80
FOLDS = 5
# A topic that takes in more than this share of all papers is a catch-all, no longer a
# choice a reader makes: its threshold rises until it does not (on the labelled papers,
# with room to spare for days when its field is busier).
MAX_SHARE = 0.22

# Words as the tagger splits a lower-cased text, once, for keywords and classifiers alike.
WORD = re.compile(r"\w+")
_STOP = ENGLISH_STOP_WORDS

Term = str | tuple[str, str]


def content_words(words: Sequence[str]) -> list[str]:
    """The words a classifier looks at: two characters or more, no stop words."""
    return [w for w in words if len(w) > 1 and w not in _STOP]


@dataclass(frozen=True)
class Terms:
    """A text's words and neighbouring pairs with their counts, and the norm that scales
    each term's weight, 1 + ln(count), to a unit vector. Weights are worked out only for the
    terms a classifier knows: most of a paper's 400 terms are in no topic's weights."""

    counts: Mapping[Term, int]
    norm: float

    def weight(self, term: Term) -> float:
        count = self.counts[term]
        return (1.0 + math.log(count) if count > 1 else 1.0) / self.norm

    def weights(self) -> dict[Term, float]:
        return {term: self.weight(term) for term in self.counts}


def terms(words: Sequence[str]) -> Terms:
    """The terms of a text given as its content words, in order."""
    counts: Counter[Term] = Counter(words)
    counts.update(pairwise(words))
    if not counts:
        return Terms({}, 1.0)
    # Σ (1 + ln count)², by how many terms share each count: most occur once and add 1
    # each, and a dozen distinct counts are summed in Python faster than numpy starts.
    square = float(len(counts))
    for count, terms_with_it in Counter(counts.values()).items():
        if count > 1:
            square += terms_with_it * ((1.0 + math.log(count)) ** 2 - 1.0)
    return Terms(counts, math.sqrt(square))


@dataclass(frozen=True)
class PaperFeatures:
    text: Terms
    title: Terms
    keywords: Mapping[TopicKey, tuple[bool, int]] = field(default_factory=dict)
    # The paper's unit vector (embedding.embed), when the caller worked it out.
    embedding: np.ndarray | None = field(default=None, compare=False)

    def keyword_values(self, topic: Hashable) -> tuple[float, float]:
        in_title, in_abstract = self.keywords.get(topic, (False, 0))
        return float(in_title), min(
            KEYWORDS_IN_ABSTRACT_CAP, in_abstract
        ) / KEYWORDS_IN_ABSTRACT_CAP


def features_from_words(
    title_words: Sequence[str],
    abstract_words: Sequence[str],
    keywords: Mapping[TopicKey, tuple[bool, int]] | None = None,
    embedding: np.ndarray | None = None,
) -> PaperFeatures:
    """A paper as the classifiers see it, from its lower-cased title and abstract split
    with WORD. `keywords`: {topic: (a keyword in the title, distinct keywords in the
    abstract)}; `embedding`: its row of embedding.embed_papers()."""
    title = content_words(title_words)
    return PaperFeatures(
        terms([*title, *content_words(abstract_words)]), terms(title), keywords or {}, embedding
    )


def features(
    title: str,
    abstract: str,
    keywords: Mapping[TopicKey, tuple[bool, int]] | None = None,
    embedding: np.ndarray | None = None,
) -> PaperFeatures:
    return features_from_words(
        WORD.findall(title.lower()), WORD.findall(abstract.lower()), keywords, embedding
    )


def _term(key: str) -> Term:
    first, _, second = key.partition(" ")
    return (first, second) if second else first


def term_text(term: Term) -> str:
    """A term as people read it and JSON keys it: a word, or a pair of words with a space."""
    return " ".join(term) if isinstance(term, tuple) else term


@dataclass(frozen=True)
class TopicWeights:
    """One topic's classifier, as stored in `Topic.weights`."""

    bias: float
    keyword_title: float = 0.0
    keyword_abstract: float = 0.0
    terms: Mapping[Term, float] = field(default_factory=dict)
    title_terms: Mapping[Term, float] = field(default_factory=dict)
    embedding: tuple[float, ...] = ()  # DIMENSIONS weights on the paper's unit vector, or none

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> TopicWeights | None:
        """None for an empty or malformed value: such a topic is tagged by keywords alone."""
        terms, title_terms = data.get("terms", {}), data.get("title_terms", {})
        if not isinstance(terms, Mapping) or not isinstance(title_terms, Mapping):
            return None
        embedding = data.get("embedding", [])
        if not isinstance(embedding, list) or len(embedding) not in (0, DIMENSIONS):
            return None
        try:
            return cls(
                bias=float(data["bias"]),  # type: ignore[arg-type]
                keyword_title=float(data.get("keyword_title", 0.0)),  # type: ignore[arg-type]
                keyword_abstract=float(data.get("keyword_abstract", 0.0)),  # type: ignore[arg-type]
                terms={_term(k): float(v) for k, v in terms.items()},
                title_terms={_term(k): float(v) for k, v in title_terms.items()},
                embedding=tuple(float(v) for v in embedding),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None

    def to_json(self) -> dict[str, object]:
        return {
            "bias": round(self.bias, 4),
            "keyword_title": round(self.keyword_title, 4),
            "keyword_abstract": round(self.keyword_abstract, 4),
            "terms": {term_text(t): round(w, 4) for t, w in _strongest(self.terms)},
            "title_terms": {term_text(t): round(w, 4) for t, w in _strongest(self.title_terms)},
            **({"embedding": [round(w, 4) for w in self.embedding]} if self.embedding else {}),
        }

    def strongest_terms(self, count: int = 20) -> list[tuple[str, float]]:
        """The terms that push hardest towards the topic, title terms marked: for admin."""
        both = [(term_text(t), w) for t, w in self.terms.items()] + [
            (f"title: {term_text(t)}", w) for t, w in self.title_terms.items()
        ]
        return sorted((tw for tw in both if tw[1] > 0), key=lambda tw: -tw[1])[:count]


def _strongest(terms: Mapping[Term, float]) -> list[tuple[Term, float]]:
    return sorted(terms.items(), key=lambda tw: (-abs(tw[1]), term_text(tw[0])))


class LinearTagger:
    """Scores papers against many topics' weights at once: one sparse matrix of the papers'
    terms times one dense matrix of every topic's weights, for a whole chunk of papers."""

    def __init__(self, weights: Mapping[TopicKey, TopicWeights]):
        self.topics = list(weights)
        models = [weights[t] for t in self.topics]
        self.columns: dict[tuple[bool, Term], int] = {}  # (in the title?, term) -> row of W
        for model in models:
            for in_title, terms in ((False, model.terms), (True, model.title_terms)):
                for term in terms:
                    self.columns.setdefault((in_title, term), len(self.columns))
        self.text_terms = {term for in_title, term in self.columns if not in_title}
        self.title_terms = {term for in_title, term in self.columns if in_title}
        self.matrix = np.zeros((len(self.columns), len(models)))
        for col, model in enumerate(models):
            for in_title, terms in ((False, model.terms), (True, model.title_terms)):
                for term, weight in terms.items():
                    self.matrix[self.columns[(in_title, term)], col] = weight
        self.bias = np.array([m.bias for m in models])
        self.keyword_weights = np.array(
            [[m.keyword_title, m.keyword_abstract] for m in models], dtype=np.float64
        ).reshape(len(models), 2)
        self.embedding_matrix = np.zeros((DIMENSIONS, len(models)))
        for col, model in enumerate(models):
            if model.embedding:
                self.embedding_matrix[:, col] = model.embedding
        self.reads_embeddings = bool(self.embedding_matrix.any())

    def probabilities_many(self, papers: Iterable[PaperFeatures]) -> np.ndarray:
        """(papers, topics) probabilities, topics in the order of `self.topics`.

        `papers` may be a generator, and is best one: each paper's features are read once,
        for the few terms the classifiers know, and can be dropped at once. Keeping a
        chunk's features alive until all were made (1,000 counters of some 200 word pairs)
        made counting a paper's pairs two to three times slower than when each paper's
        counts are freed straight away: fresh memory for every paper instead of the last
        one's, and more for the cycle collector to walk when it runs.
        """
        from scipy.sparse import csr_matrix

        rows, cols, counts, norms = [], [], [], []
        keywords: list[list[float]] = []  # per paper: (title, abstract) values per topic
        embeddings: list[np.ndarray | None] = []
        position = {topic: n for n, topic in enumerate(self.topics)}
        columns = self.columns
        for row, paper in enumerate(papers):
            for in_title, found, known in (
                (False, paper.text, self.text_terms),
                (True, paper.title, self.title_terms),
            ):
                matched = known.intersection(found.counts)
                rows.extend([row] * len(matched))
                cols.extend([columns[(in_title, term)] for term in matched])
                counts.extend([found.counts[term] for term in matched])
                norms.extend([found.norm] * len(matched))
            values = [0.0] * (2 * len(self.topics))
            for topic in paper.keywords.keys() & position.keys():
                at = 2 * position[topic]
                values[at : at + 2] = paper.keyword_values(topic)
            keywords.append(values)
            embeddings.append(paper.embedding)
        count = len(keywords)  # papers read
        weights = (1.0 + np.log(np.array(counts, dtype=np.float64))) / np.array(norms)
        x = csr_matrix((weights, (rows, cols)), shape=(count, len(self.columns)))
        found_keywords = np.array(keywords, dtype=np.float64).reshape(count, len(self.topics), 2)
        logit = x @ self.matrix + self.bias + (found_keywords * self.keyword_weights).sum(axis=2)
        if self.reads_embeddings:
            # A paper without a vector (a caller that did not embed) counts on its words.
            vectors = np.zeros((count, DIMENSIONS))
            for row, vector in enumerate(embeddings):
                if vector is not None:
                    vectors[row] = vector
            logit += vectors @ self.embedding_matrix
        return 1.0 / (1.0 + np.exp(-np.clip(logit, -50.0, 50.0)))

    def probabilities(self, paper: PaperFeatures) -> dict[TopicKey, float]:
        row = self.probabilities_many([paper])[0]
        return {topic: float(p) for topic, p in zip(self.topics, row, strict=True)}


# --- fitting ------------------------------------------------------------------------------
def fit(
    papers: Sequence[PaperFeatures],
    labels: Sequence[Iterable[Hashable]],
    topics: Iterable[Hashable],
    *,
    c: float = FIT_C,
    keep: int = KEEP_TERMS,
    tune: bool = True,
) -> dict[Hashable, TopicWeights]:
    """One classifier per topic with at least MIN_POSITIVES labelled papers.

    Logistic regression with balanced class weights, so a topic with few papers is not
    simply never predicted; only the `keep` strongest terms stay. With `tune`, each topic's
    threshold is the one that gave the best F1 on papers held out in FOLDS-fold
    cross-validation, folded into the bias. Papers' embeddings are features when every
    paper has one.
    """
    matrix, names = _matrix(papers)
    if papers and all(p.embedding is not None for p in papers):
        vectors = np.vstack([p.embedding for p in papers])  # type: ignore[misc]
    else:
        vectors = np.zeros((len(papers), 0))
    label_sets = [set(ls) for ls in labels]
    fitted: dict[Hashable, TopicWeights] = {}
    for topic in topics:
        y = np.array([topic in ls for ls in label_sets], dtype=int)
        if y.sum() < MIN_POSITIVES or y.sum() == len(y):
            continue
        keywords = np.array([p.keyword_values(topic) for p in papers])
        weights = _fit_one(matrix, keywords, vectors, y, names, c, keep)
        if tune:
            shift = _logit(_best_threshold(matrix, keywords, vectors, y, names, c, keep))
            weights = replace(weights, bias=weights.bias - shift + _logit(ASSIGN_PROBABILITY))
        fitted[topic] = weights
    return fitted


def _matrix(papers: Sequence[PaperFeatures]) -> tuple[Any, list[tuple[str, Term]]]:
    from scipy.sparse import csr_matrix

    columns: dict[tuple[str, Term], int] = {}
    rows, cols, values = [], [], []
    for row, paper in enumerate(papers):
        for kind, found in (("text", paper.text), ("title", paper.title)):
            for term, x in found.weights().items():
                rows.append(row)
                cols.append(columns.setdefault((kind, term), len(columns)))
                values.append(x)
    return csr_matrix((values, (rows, cols)), shape=(len(papers), len(columns))), list(columns)


def _fit_one(
    matrix: Any,
    keywords: np.ndarray,
    vectors: np.ndarray,
    y: np.ndarray,
    names: list[tuple[str, Term]],
    c: float,
    keep: int,
) -> TopicWeights:
    from scipy.sparse import csr_matrix, hstack
    from sklearn.linear_model import LogisticRegression

    # Columns: terms, then the embedding's, then the two keyword features.
    x = hstack([matrix, csr_matrix(EMBEDDING_SCALE * vectors), csr_matrix(keywords)]).tocsr()
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
    model.fit(x, y)
    coef = model.coef_[0]
    embedding = coef[len(names) : len(names) + vectors.shape[1]] * EMBEDDING_SCALE
    strongest = np.argsort(-np.abs(coef[: len(names)]), kind="stable")[:keep]
    terms: dict[Term, float] = {}
    title_terms: dict[Term, float] = {}
    for index in strongest:
        if coef[index] == 0:
            continue
        kind, term = names[index]
        (terms if kind == "text" else title_terms)[term] = float(coef[index])
    return TopicWeights(
        bias=float(model.intercept_[0]),
        keyword_title=float(coef[-2]),
        keyword_abstract=float(coef[-1]),
        terms=terms,
        title_terms=title_terms,
        embedding=tuple(embedding.tolist()),
    )


def _probabilities(
    weights: TopicWeights, matrix: Any, keywords: np.ndarray, vectors: np.ndarray, names: list
) -> np.ndarray:
    index = {name: n for n, name in enumerate(names)}
    coef = np.zeros(len(names))
    for kind, terms in (("text", weights.terms), ("title", weights.title_terms)):
        for term, w in terms.items():
            coef[index[(kind, term)]] = w
    logit = (
        matrix @ coef
        + weights.bias
        + keywords @ np.array([weights.keyword_title, weights.keyword_abstract])
    )
    if weights.embedding:
        logit = logit + vectors @ np.array(weights.embedding)
    return 1.0 / (1.0 + np.exp(-np.clip(logit, -50, 50)))


def _best_threshold(
    matrix: Any,
    keywords: np.ndarray,
    vectors: np.ndarray,
    y: np.ndarray,
    names: list,
    c: float,
    keep: int,
) -> float:
    from sklearn.model_selection import StratifiedKFold

    held_out = np.zeros(len(y))
    folds = StratifiedKFold(n_splits=min(FOLDS, int(y.sum())), shuffle=True, random_state=0)
    for train, test in folds.split(keywords, y):
        weights = _fit_one(matrix[train], keywords[train], vectors[train], y[train], names, c, keep)
        held_out[test] = _probabilities(weights, matrix[test], keywords[test], vectors[test], names)

    def f1(threshold: float) -> float:
        predicted = held_out >= threshold
        hits = float((predicted & (y == 1)).sum())
        return 2 * hits / (predicted.sum() + y.sum()) if hits else 0.0

    allowed = [t for t in THRESHOLDS if (held_out >= t).mean() <= MAX_SHARE] or [THRESHOLDS[-1]]
    return max(allowed, key=lambda t: (f1(t), -abs(t - ASSIGN_PROBABILITY)))


def _logit(p: float) -> float:
    return math.log(p / (1 - p))

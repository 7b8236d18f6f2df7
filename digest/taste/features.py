"""Readers' tastes: a classifier per reader, fitted on their own ratings. Pure: no ORM.

What a paper looks like to a reader's classifier, with no vocabulary to fit (a taste
learned today scores tomorrow's papers with the same features):

- its words and neighbouring word pairs, as the topic tagger sees them
  (`topic_model.features`: 1 + ln count, L2-normalised, English stop words out);
- its topics: the tag score of each topic the paper has, times TOPIC_SCALE. The tagger
  learned what a topic is from a thousand labelled papers; a reader's ratings learn how
  much each topic, and each word, is what *they* want.

    p(like) = sigmoid(bias + Σ weight(term) · x(term) + Σ weight(topic) · TOPIC_SCALE · score)

It is fitted by L2-regularised logistic regression (scikit-learn's liblinear, in its dual
form: a few hundred rows and thousands of terms), the two classes balanced, on
- the reader's ratings: "more like this" is 1, "less like this" is 0;
- up to BACKGROUND_PER_READER recent papers outside the reader's topics that they never
  rated, as 0 with weight BACKGROUND_WEIGHT. The reader never asked for them; without them
  a paper unlike anything they rated would score the bias alone, and papers from outside
  their topics would come in at random.

A classifier needs both kinds of rating: until a reader has given at least one "more" and
one "less", their taste has no weights and changes nothing.

Why a classifier and not a centroid of the liked papers: on simulated readers replaying the
real stream (bench/readers.py), a Rocchio centroid moved scores by at most a quarter and
never changed which papers were sent; this classifier, trusted once there are enough
ratings, leaves out what a reader keeps marking "less like this". Only the TASTE_TERMS
strongest terms are kept: enough for the digest (measured), small enough for a row, and
readable ("what we learned" on the preferences page).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from digest.papers import topic_model

TOPIC_SCALE = 2.0  # a topic's tag score, as a feature, against a text's unit-length terms
FIT_C = 1.0  # inverse regularisation strength
BACKGROUND_PER_READER = 100
BACKGROUND_WEIGHT = 0.2
TASTE_TERMS = 300  # the strongest terms kept, by the size of their weight
LIKED_TERMS = 30  # per liked paper kept for naming it in a reason
LIKED_KEPT = 20  # the most recent likes a reason may name
MAX_LIKED_COLUMNS = 20_000  # liked papers' columns a PaperVectors keeps for other readers

# How far a taste is trusted (selection.py applies it):
# - no taste, or one kind of rating only: the digest is exactly what it was;
# - a few ratings: they nudge the order;
# - at least DECIDE_RATINGS, with DECIDE_EACH of each kind: they decide what is sent.
DECIDE_RATINGS = 10
DECIDE_EACH = 3


@dataclass(frozen=True)
class LikedPaper:
    paper_id: int
    title: str
    terms: Mapping[str, float]


@dataclass(frozen=True)
class Taste:
    """What a reader's ratings say, as ranking uses it: the classifier's weights and how
    many ratings of each kind it was fitted on."""

    bias: float = 0.0
    terms: Mapping[str, float] = field(default_factory=dict)
    topics: Mapping[int, float] = field(default_factory=dict)
    likes: int = 0
    dislikes: int = 0
    liked: tuple[LikedPaper, ...] = ()

    @property
    def ratings(self) -> int:
        return self.likes + self.dislikes

    @property
    def fitted(self) -> bool:
        """A classifier exists: it needs "more" and "less" both to tell them apart."""
        return self.likes > 0 and self.dislikes > 0

    @property
    def decides(self) -> bool:
        """Enough ratings, of both kinds, to decide what is sent rather than nudge."""
        return (
            self.fitted
            and self.ratings >= DECIDE_RATINGS
            and min(self.likes, self.dislikes) >= DECIDE_EACH
        )

    def pulls(self, count: int = 10) -> list[str]:
        """The terms that most raise a paper's chance, strongest first."""
        ranked = sorted(self.terms.items(), key=lambda tw: (-tw[1], tw[0]))
        return [term for term, weight in ranked[:count] if weight > 0]

    def pushes(self, count: int = 10) -> list[str]:
        """The terms that most lower it."""
        ranked = sorted(self.terms.items(), key=lambda tw: (tw[1], tw[0]))
        return [term for term, weight in ranked[:count] if weight < 0]


@dataclass(frozen=True)
class Rating:
    paper_id: int
    title: str
    value: int  # +1 more like this, -1 less like this


def paper_terms(title: str, abstract: str) -> dict[str, float]:
    """A paper's words and word pairs with their weights, as the topic tagger has them."""
    weights = topic_model.features(title, abstract).text.weights()
    return {topic_model.term_text(term): weight for term, weight in weights.items()}


class TermRows:
    """Each paper's terms as (columns, weights) over one vocabulary that grows as papers
    come, worked out once per paper however many matrices it becomes a row of: splitting a
    text into its terms is most of the cost of fitting a thousand readers."""

    def __init__(self) -> None:
        self.vocabulary: dict[str, int] = {}
        self.terms: list[str] = []
        self._rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __contains__(self, paper_id: int) -> bool:
        return paper_id in self._rows

    def add(self, paper_id: int, title: str, abstract: str) -> None:
        weights = paper_terms(title, abstract)
        vocabulary, terms = self.vocabulary, self.terms
        columns = np.empty(len(weights), dtype=np.int32)
        for n, term in enumerate(weights):
            column = vocabulary.get(term)
            if column is None:
                column = vocabulary[term] = len(terms)
                terms.append(term)
            columns[n] = column
        # In column order, as scikit-learn wants a matrix: it would sort every fit's copy.
        order = np.argsort(columns)
        values = np.fromiter(weights.values(), dtype=np.float64, count=len(weights))
        self._rows[paper_id] = (columns[order], values[order])

    def matrix(self, paper_ids: Sequence[int]) -> sparse.csr_matrix:
        """These papers' rows (every one added before), over the vocabulary as it is now."""
        parts = [self._rows[pid] for pid in paper_ids]
        indptr = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(c) for c, _ in parts], out=indptr[1:])
        empty = (np.zeros(0, dtype=np.int32), np.zeros(0))
        columns = np.concatenate([c for c, _ in parts] or [empty[0]])
        weights = np.concatenate([w for _, w in parts] or [empty[1]])
        return sparse.csr_matrix((weights, columns, indptr), shape=(len(parts), len(self.terms)))


class PaperVectors:
    """Papers' terms in one sparse matrix (a row per paper, a column per term) and their
    topic scores: what tastes are fitted on and scored against."""

    def __init__(
        self,
        paper_ids: Sequence[int],
        rows: TermRows,
        topics: Mapping[int, Mapping[int, float]] | None = None,
    ):
        self.ids = list(paper_ids)
        self.row = {paper_id: n for n, paper_id in enumerate(self.ids)}
        self.matrix = rows.matrix(self.ids)
        self.vocabulary: Mapping[str, int] = rows.vocabulary
        self.terms: Sequence[str] = rows.terms
        # Topic scores, when given (fitting): a dense column per topic any paper has.
        topics = topics or {}
        self.topic_ids = sorted({t for paper_id in self.ids for t in topics.get(paper_id, {})})
        column = {t: n for n, t in enumerate(self.topic_ids)}
        self.topic_scores = np.zeros((len(self.ids), len(self.topic_ids)))
        for n, paper_id in enumerate(self.ids):
            for topic_id, score in topics.get(paper_id, {}).items():
                self.topic_scores[n, column[topic_id]] = score
        self._features: sparse.csr_matrix | None = None
        self._strongest: dict[int, dict[str, float]] = {}
        self._liked: dict[tuple[int, tuple[float, ...]], tuple[np.ndarray, np.ndarray]] = {}

    @classmethod
    def of(
        cls,
        papers: Iterable[tuple[int, str, str]],
        topics: Mapping[int, Mapping[int, float]] | None = None,
    ) -> PaperVectors:
        """Vectors of these (paper id, title, abstract), with a vocabulary of their own."""
        rows = TermRows()
        ids = []
        for paper_id, title, abstract in papers:
            rows.add(paper_id, title, abstract)
            ids.append(paper_id)
        return cls(ids, rows, topics)

    @property
    def features(self) -> sparse.csr_matrix:
        """Every paper as a classifier sees it: its terms, then its topics' scores."""
        if self._features is None:
            self._features = sparse.hstack(
                [self.matrix, sparse.csr_matrix(TOPIC_SCALE * self.topic_scores)], format="csr"
            )
        return self._features

    def strongest(self, paper_id: int, limit: int) -> dict[str, float]:
        """A paper's `limit` heaviest terms, L2-normalised: what "similar to" compares.
        Kept for the other readers who rated it."""
        found = self._strongest.get(paper_id)
        if found is None:
            matrix, row = self.matrix, self.row[paper_id]
            start, end = matrix.indptr[row], matrix.indptr[row + 1]
            data, columns = matrix.data[start:end], matrix.indices[start:end]
            order = np.argsort(-data, kind="stable")[:limit]
            norm = float(np.linalg.norm(data[order]))
            found = (
                {self.terms[columns[i]]: round(float(data[i]) / norm, 5) for i in order}
                if norm
                else {}
            )
            self._strongest[paper_id] = found
        return found

    def _dense(self, terms: Mapping[str, float]) -> np.ndarray:
        width = self.matrix.shape[1]
        vector = np.zeros(width)
        columns = np.fromiter(
            (self.vocabulary.get(term, -1) for term in terms), dtype=np.intp, count=len(terms)
        )
        # A shared vocabulary may have grown since this matrix was made.
        known = (columns >= 0) & (columns < width)
        vector[columns[known]] = np.fromiter(terms.values(), dtype=np.float64)[known]
        return vector

    def word_logits(
        self, terms: Mapping[str, float], rows: sparse.csr_matrix | None = None
    ) -> np.ndarray:
        """Σ weight(term) · x(term) for every paper (in row order), or for `rows`, some of
        this matrix's rows."""
        if not self.row:
            return np.zeros(0)
        return (self.matrix if rows is None else rows) @ self._dense(terms)

    def closest(
        self, paper_ids: Sequence[int], liked: Sequence[LikedPaper]
    ) -> dict[int, tuple[LikedPaper, float]]:
        """For each paper, the liked paper (other than itself) most like it, and their
        cosine: one product for all of them, since a digest names up to 30.

        In dense arrays over just the columns the liked papers use (a few hundred): a
        sparse product cost a dozen scipy constructions a digest, and each liked paper's
        terms were looked up again for every reader who liked it."""
        papers = [pid for pid in paper_ids if pid in self.row]
        if not papers or not liked:
            return {}
        parts = [self._liked_columns(paper) for paper in liked]
        columns = np.concatenate([c for c, _ in parts])
        if not len(columns):
            return {}
        used, position = np.unique(columns, return_inverse=True)
        likes = np.zeros((len(liked), len(used)))
        owner = np.repeat(np.arange(len(liked)), [len(c) for c, _ in parts])
        likes[owner, position] = np.concatenate([w for _, w in parts])
        cosines = self._rows_over(np.array([self.row[pid] for pid in papers]), used) @ likes.T
        # A paper is not "like" itself.
        liked_ids = np.array([paper.paper_id for paper in liked])
        cosines[np.array(papers)[:, None] == liked_ids[None, :]] = -np.inf
        best = cosines.argmax(axis=1)
        values = cosines[np.arange(len(papers)), best]
        return {
            pid: (liked[k], value)
            for pid, k, value in zip(papers, best.tolist(), values.tolist(), strict=True)
            if value != -np.inf
        }

    def _liked_columns(self, paper: LikedPaper) -> tuple[np.ndarray, np.ndarray]:
        """A liked paper's terms as (columns, weights) of this vocabulary, kept for the
        other readers who liked it. The weights are in the key: hashing and comparing the
        terms too cost more than looking them up."""
        key = (paper.paper_id, tuple(paper.terms.values()))
        found = self._liked.get(key)
        if found is None:
            width = self.matrix.shape[1]
            pairs = [
                (column, weight)
                for term, weight in paper.terms.items()
                if (column := self.vocabulary.get(term, width)) < width
            ]
            found = (
                np.array([c for c, _ in pairs], dtype=np.intp),
                np.array([w for _, w in pairs], dtype=np.float64),
            )
            if len(self._liked) >= MAX_LIKED_COLUMNS:
                self._liked.clear()
            self._liked[key] = found
        return found

    def _rows_over(self, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """Rows of the matrix, dense, over only these (sorted, unique) columns."""
        matrix = self.matrix
        starts, ends = matrix.indptr[rows], matrix.indptr[rows + 1]
        lengths = ends - starts
        # The positions of every stored value of these rows, row after row.
        flat = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(
            lengths.sum()
        )
        row_of = np.repeat(np.arange(len(rows)), lengths)
        stored = matrix.indices[flat]
        at = np.minimum(np.searchsorted(columns, stored), len(columns) - 1)
        keep = columns[at] == stored
        dense = np.zeros((len(rows), len(columns)))
        dense[row_of[keep], at[keep]] = matrix.data[flat][keep]
        return dense


def outside_topics(
    corpus: PaperVectors, candidates: Sequence[int], topic_ids: Iterable[int]
) -> list[int]:
    """The candidates (paper ids of the corpus) in none of these topics."""
    wanted = set(topic_ids)
    mine = np.array([n for n, t in enumerate(corpus.topic_ids) if t in wanted], dtype=np.intp)
    if not len(mine) or not candidates:
        return list(candidates)
    rows = np.array([corpus.row[pid] for pid in candidates], dtype=np.intp)
    inside = np.any(corpus.topic_scores[np.ix_(rows, mine)] > 0, axis=1)
    return [pid for pid, no in zip(candidates, inside.tolist(), strict=True) if not no]


def background_for(reader_id: int, rated: Iterable[int], outside: Sequence[int]) -> list[int]:
    """Up to BACKGROUND_PER_READER of the papers `outside` the reader's topics that they
    never rated: the same ones every time the reader's ratings are unchanged, so fitting
    twice gives the same taste."""
    skip = set(rated)
    eligible = [pid for pid in outside if pid not in skip]
    if len(eligible) <= BACKGROUND_PER_READER:
        return eligible
    return random.Random(reader_id).sample(eligible, BACKGROUND_PER_READER)


def learn(ratings: Sequence[Rating], background: Sequence[int], corpus: PaperVectors) -> Taste:
    """A taste from ratings (newest first: the likes a reason may name are the most recent)
    and background paper ids, all rows of `corpus`."""
    from sklearn.linear_model import LogisticRegression

    rated = [r for r in ratings if r.paper_id in corpus.row]
    likes = sum(r.value > 0 for r in rated)
    dislikes = len(rated) - likes
    liked = tuple(
        LikedPaper(r.paper_id, r.title, corpus.strongest(r.paper_id, LIKED_TERMS))
        for r in rated
        if r.value > 0
    )[:LIKED_KEPT]
    if not likes or not dislikes:
        return Taste(likes=likes, dislikes=dislikes, liked=liked)
    rows = [corpus.row[r.paper_id] for r in rated] + [corpus.row[pid] for pid in background]
    y = np.array([r.value > 0 for r in rated] + [False] * len(background), dtype=np.intp)
    weight = np.array([1.0] * len(rated) + [BACKGROUND_WEIGHT] * len(background))
    # The classes balanced by their weighted counts, as class_weight="balanced" does, folded
    # into the sample weights: asking scikit-learn to do it cost a millisecond a fit.
    weight *= (weight.sum() / (2.0 * np.bincount(y, weights=weight, minlength=2)))[y]
    model = LogisticRegression(
        C=FIT_C,
        solver="liblinear",
        dual=True,
        max_iter=1000,
        random_state=0,  # liblinear visits rows in a random order: the same taste every fit
    )
    model.fit(corpus.features[rows], y, sample_weight=weight)
    coef = model.coef_[0]
    width = corpus.matrix.shape[1]  # the terms' columns, then the topics'
    words = coef[:width]
    # The strongest terms among those with a weight (the rows' own), ties to the first.
    used = np.flatnonzero(words)
    if len(used) > TASTE_TERMS:
        used = used[np.argpartition(-np.abs(words[used]), TASTE_TERMS)[:TASTE_TERMS]]
    used = used[np.lexsort((used, -np.abs(words[used])))]
    return Taste(
        bias=float(model.intercept_[0]),
        terms={corpus.terms[i]: round(float(words[i]), 5) for i in used.tolist()},
        topics={
            topic_id: round(float(w), 5)
            for topic_id, w in zip(corpus.topic_ids, coef[width:], strict=True)
            if w != 0
        },
        likes=likes,
        dislikes=dislikes,
        liked=liked,
    )


def probabilities(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -50.0, 50.0)))

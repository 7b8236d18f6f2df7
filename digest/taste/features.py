"""Text features of papers, and readers' tastes learned from their ratings: pure, no ORM.

A reader's taste is a Rocchio centroid over TF-IDF vectors of the papers they rated:

    taste = mean(liked) - DISLIKE_WEIGHT * mean(disliked)

kept as its TASTE_TERMS strongest terms, as {term: weight}, L2-normalized. A paper's
affinity is the dot product of the taste with the paper's own L2-normalized TF-IDF vector:
a cosine, about 0.2-0.4 for papers on the same subject and near 0 for unrelated ones.

Why Rocchio rather than a classifier: with the 5-30 ratings a reader gives, a regularized
logistic regression learns much the same direction, but the centroid needs no tuning, has no
failure mode with one class only (all likes), and its terms show what it learned. Keeping
terms (not column numbers) makes a taste independent of any fitted vocabulary: it is
fitted on one corpus and scored against vectors fitted on another (the papers of a send).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

DISLIKE_WEIGHT = 0.75
TASTE_TERMS = 300
LIKED_TERMS = 30  # per liked paper kept for naming it in a reason
LIKED_KEPT = 20  # the most recent likes a reason may name
MAX_LIKED_COLUMNS = 20_000  # liked papers' columns a PaperVectors keeps for other readers


def vectorizer() -> TfidfVectorizer:
    """One definition for fitting tastes and for scoring papers against them."""
    return TfidfVectorizer(stop_words="english", sublinear_tf=True, dtype=np.float64)


def document(title: str, abstract: str) -> str:
    # The title twice: it says what the paper is about in the fewest words.
    return f"{title}\n{title}\n{abstract}"


def strongest_terms(row: np.ndarray, terms: Sequence[str], limit: int) -> dict[str, float]:
    """The `limit` largest weights (by size) of a dense row, by term, L2-normalized."""
    top = np.argpartition(-np.abs(row), limit)[:limit] if limit < len(row) else np.arange(len(row))
    top = top[row[top] != 0]
    norm = float(np.linalg.norm(row[top]))
    if norm == 0:
        return {}
    return {terms[i]: round(float(row[i]) / norm, 5) for i in top}


@dataclass(frozen=True)
class LikedPaper:
    paper_id: int
    title: str
    terms: Mapping[str, float]


@dataclass(frozen=True)
class Taste:
    """What a reader's ratings say, as ranking uses it."""

    terms: Mapping[str, float]
    ratings: int
    liked: tuple[LikedPaper, ...] = ()


@dataclass(frozen=True)
class Rating:
    paper_id: int
    title: str
    value: int  # +1 more like this, -1 less like this


def learn(
    ratings: Sequence[Rating],
    rows: Mapping[int, int],
    matrix: sparse.csr_matrix,
    terms: Sequence[str],
) -> Taste:
    """A taste from ratings, given TF-IDF rows (`rows`: paper id -> row of `matrix`).

    Ratings newest first: the likes a reason may name are the most recent ones.
    """
    liked = [r for r in ratings if r.value > 0 and r.paper_id in rows]
    disliked = [r for r in ratings if r.value < 0 and r.paper_id in rows]
    centroid = np.zeros(matrix.shape[1])
    if liked:
        centroid += np.asarray(matrix[[rows[r.paper_id] for r in liked]].mean(axis=0)).ravel()
    if disliked:
        centroid -= (
            DISLIKE_WEIGHT
            * np.asarray(matrix[[rows[r.paper_id] for r in disliked]].mean(axis=0)).ravel()
        )
    kept = tuple(
        LikedPaper(
            r.paper_id,
            r.title,
            strongest_terms(matrix[rows[r.paper_id]].toarray().ravel(), terms, LIKED_TERMS),
        )
        for r in liked[:LIKED_KEPT]
    )
    return Taste(strongest_terms(centroid, terms, TASTE_TERMS), len(liked) + len(disliked), kept)


class PaperVectors:
    """TF-IDF vectors of a set of papers, for scoring tastes against them."""

    def __init__(self, papers: Iterable[tuple[int, str, str]]):
        ids, docs = [], []
        for paper_id, title, abstract in papers:
            ids.append(paper_id)
            docs.append(document(title, abstract))
        self.row = {paper_id: n for n, paper_id in enumerate(ids)}
        self._liked: dict[tuple[int, tuple[float, ...]], tuple[np.ndarray, np.ndarray]]
        self._liked = {}
        if docs:
            fitted = vectorizer()
            self.matrix = fitted.fit_transform(docs).tocsr()
            self.vocabulary: Mapping[str, int] = fitted.vocabulary_
        else:
            self.matrix = sparse.csr_matrix((0, 0))
            self.vocabulary = {}

    def _dense(self, terms: Mapping[str, float]) -> np.ndarray:
        vector = np.zeros(self.matrix.shape[1])
        columns = np.fromiter(
            (self.vocabulary.get(term, -1) for term in terms), dtype=np.intp, count=len(terms)
        )
        known = columns >= 0
        vector[columns[known]] = np.fromiter(terms.values(), dtype=np.float64)[known]
        return vector

    def affinities(
        self, terms: Mapping[str, float], rows: sparse.csr_matrix | None = None
    ) -> np.ndarray:
        """Cosine of every paper (in row order) with these terms; or of `rows`, some of
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
        other readers who liked it. Tastes fitted on different corpora may keep different
        terms for one paper, with different weights: the weights are in the key (hashing
        and comparing the terms too cost more than looking them up)."""
        key = (paper.paper_id, tuple(paper.terms.values()))
        found = self._liked.get(key)
        if found is None:
            pairs = [
                (column, weight)
                for term, weight in paper.terms.items()
                if (column := self.vocabulary.get(term)) is not None
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

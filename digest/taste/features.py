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
        if docs:
            fitted = vectorizer()
            self.matrix = fitted.fit_transform(docs).tocsr()
            self.vocabulary: Mapping[str, int] = fitted.vocabulary_
        else:
            self.matrix = sparse.csr_matrix((0, 0))
            self.vocabulary = {}

    def _dense(self, terms: Mapping[str, float]) -> np.ndarray:
        vector = np.zeros(self.matrix.shape[1])
        for term, weight in terms.items():
            column = self.vocabulary.get(term)
            if column is not None:
                vector[column] = weight
        return vector

    def affinities(self, terms: Mapping[str, float]) -> np.ndarray:
        """Cosine of every paper (in row order) with these terms."""
        if not self.row:
            return np.zeros(0)
        return self.matrix @ self._dense(terms)

    def closest(
        self, paper_ids: Sequence[int], liked: Sequence[LikedPaper]
    ) -> dict[int, tuple[LikedPaper, float]]:
        """For each paper, the liked paper (other than itself) most like it, and their
        cosine: one sparse product for all of them, since a digest names up to 30."""
        papers = [pid for pid in paper_ids if pid in self.row]
        if not papers or not liked:
            return {}
        columns, values, starts = [], [], [0]
        for paper in liked:
            for term, weight in paper.terms.items():
                column = self.vocabulary.get(term)
                if column is not None:
                    columns.append(column)
                    values.append(weight)
            starts.append(len(columns))
        shape = (len(liked), self.matrix.shape[1])
        likes = sparse.csr_matrix((values, columns, starts), shape=shape)
        cosines = (self.matrix[[self.row[pid] for pid in papers]] @ likes.T).toarray()
        found = {}
        for n, pid in enumerate(papers):
            for k, paper in enumerate(liked):
                if paper.paper_id == pid:
                    cosines[n, k] = -np.inf
            best = int(np.argmax(cosines[n]))
            if np.isfinite(cosines[n, best]):
                found[pid] = (liked[best], float(cosines[n, best]))
        return found

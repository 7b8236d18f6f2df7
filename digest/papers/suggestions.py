"""Suggested topics: clusters of papers that no topic caught, each named by its terms. Pure.

Papers are TF-IDF vectors of their title (twice, as in `features.document`) and abstract:
English stop words and the boilerplate every abstract shares ("we propose", "code is
available"), unigrams and bigrams, sublinear term frequency, terms in at least two papers.
A bigram is two adjacent words, never across a removed word or punctuation, so that terms
are phrases people write ("kv cache"), not "text speech" out of "text-to-speech"; hyphenated
words stay whole ("on-policy", "vision-language").

They are clustered by k-means on those L2-normalized vectors (so, by cosine), with
k = ceil(sqrt(n / 2)) capped at MAX_SUGGESTIONS and a fixed random state: the same papers
give the same page. On the real stream (the 430 papers of 35 days that the starting topics
missed) this separated Gaussian splatting, on-policy distillation, long-context attention,
scaling laws and post-training rewards about as well as LSA or NMF did, in less time.

A cluster's terms are those that set it apart: the share of its papers using a term, times
the log of that share over the share among the other papers; a phrase replaces its word
when most papers using the word use the phrase ("gaussian splatting"). Its name comes from
the same score over titles alone (a title is a paper's subject in the fewest words), one or
two terms, written the way its abstracts write them ("KV Cache", "LLMs"). Its examples are
the papers closest to its centre. Clusters of fewer than MIN_PAPERS are dropped; the
tightest (highest mean cosine to their centre) come first, since they make the clearest
topics.

Speed: 2,000 real papers took 1.4-1.8 s on a busy two-core machine, half of it building
the vectors; k-means runs in one thread, which was faster there than sklearn's default.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer, TfidfVectorizer
from threadpoolctl import threadpool_limits

MAX_SUGGESTIONS = 8
MIN_PAPERS = 3
TERMS = 8
NAME_TERMS = 2
DESCRIPTION_TERMS = 5
EXAMPLES = 4
RANDOM_STATE = 0
K_MEANS_RUNS = 4
VOCABULARY = 8_000
# The share of a cluster's titles a term needs to be in to name it.
NAME_TITLE_SHARE = 0.1
# A name's second term must score at least this share of the first's, or the name is one.
NAME_SECOND_RATIO = 0.5
# Papers, closest to the centre first, whose spelling of the name's terms is looked up.
SPELLING_SAMPLE = 50
# Candidates read per cluster before the distinct ones are picked.
CANDIDATES = 4 * TERMS
# A phrase replaces a word it contains when at least this share of the papers using the
# word use the phrase: "gaussian splatting" for "gaussian".
PHRASE_SHARE = 0.5
# Added to both shares when comparing them, so that a term in one paper of a cluster and in
# none outside does not outrank one that half the cluster uses.
SHARE_SMOOTHING = 0.01

# How papers talk rather than what they are about: common to every subject, these would
# pull unrelated papers together and fill the names with "Novel Framework".
# (A string split once at import: a hundred words read better as prose than one per line.)
BOILERPLATE = frozenset(
    """
    achieve achieved achieves achieving address addresses additionally approach approaches
    available baseline baselines based challenge challenges challenging code consistently
    current demonstrate demonstrates effective effectively enable enables enabling existing
    experimental experiments extensive framework frameworks furthermore gap github highly
    https improve improved improvement improvements improves improving including introduce
    introduces introducing key leading leverage leverages leveraging limited method methods
    moreover novel outperform outperforming outperforms page paper performance present
    presents project propose proposed proposes provide provides publicly recent recently
    release released relies rely remain remains require requires result results show showing
    shows significant significantly sota state-of-the-art strong study substantially use used
    uses using various wide widely work works www
    """.split()  # noqa: SIM905
)
STOP_WORDS = ENGLISH_STOP_WORDS | BOILERPLATE

# A word (inner hyphens kept), or one punctuation mark, which ends a phrase.
TOKEN = re.compile(r"(\w[\w\-]*\w|\w)|[^\w\s]")
URL = re.compile(r"(?:https?://|www\.)\S+")


@dataclass(frozen=True)
class Suggestion:
    name: str
    terms: tuple[str, ...]  # most distinctive first, lower case
    paper_ids: tuple[int, ...]  # closest to the centre first
    examples: tuple[str, ...]  # the titles of the first few of them
    coherence: float  # mean cosine of the papers to their centre, 0..1

    @property
    def count(self) -> int:
        return len(self.paper_ids)

    @property
    def keywords(self) -> str:
        """As Topic.keywords takes them: comma-separated."""
        return ", ".join(self.terms)

    @property
    def description(self) -> str:
        shown = list(self.terms[:DESCRIPTION_TERMS])
        if len(shown) < 2:
            return f"Papers about {''.join(shown) or self.name}."
        return f"Papers about {', '.join(shown[:-1])} and {shown[-1]}."


def analyze(text: str) -> list[str]:
    """Lower-cased words and adjacent-word bigrams, without stop words, numbers or URLs."""
    out: list[str] = []
    previous = ""
    for word in TOKEN.findall(URL.sub(" ", text.lower())):
        if len(word) < 2 or word in STOP_WORDS or word.isdigit():
            previous = ""  # a gap: no bigram reaches across it
            continue
        out.append(word)
        if previous:
            out.append(f"{previous} {word}")
        previous = word
    return out


def _analyzed(words: list[str]) -> list[str]:
    """The vectorizers' analyzer: the words come analyzed already."""
    return words


def cluster_count(papers: int) -> int:
    """About sqrt(n / 2) clusters: 3 for a dozen papers, the cap from 100 papers on."""
    if papers <= 0:
        return 0
    return min(MAX_SUGGESTIONS, math.ceil(math.sqrt(papers / 2)))


def suggest_topics(papers: Iterable[tuple[int, str, str]]) -> list[Suggestion]:
    """Clusters of (paper id, title, abstract), tightest first; [] when nothing clusters."""
    rows = list(papers)
    if len(rows) < MIN_PAPERS:
        return []
    # Each text analyzed once; the title counts twice, as in `features.document`.
    titles = [analyze(title) for _, title, _ in rows]
    texts = [
        words * 2 + analyze(abstract) for words, (_, _, abstract) in zip(titles, rows, strict=True)
    ]
    vectorizer = TfidfVectorizer(
        analyzer=_analyzed, sublinear_tf=True, min_df=2, max_features=VOCABULARY
    )
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError:
        # No term in two papers (empty, one-word or stop-word-only texts): nothing to name.
        return []
    matrix = sparse.csr_matrix(matrix)
    # A paper without a single kept term says nothing about any cluster.
    keep = np.flatnonzero(matrix.getnnz(axis=1))
    if len(keep) < MIN_PAPERS:
        return []
    rows = [rows[i] for i in keep]
    titles = [titles[i] for i in keep]
    matrix = matrix[keep]
    terms = [str(term) for term in vectorizer.get_feature_names_out()]

    k = min(cluster_count(len(rows)), _distinct_rows(matrix))
    # One thread: three times faster than sklearn's default on a busy two-core machine (a
    # web server is one), and the same result.
    with threadpool_limits(1):
        labels = KMeans(k, n_init=K_MEANS_RUNS, random_state=RANDOM_STATE).fit_predict(matrix)

    used = (matrix > 0).astype(np.float64).tocsr()
    titled = CountVectorizer(
        analyzer=_analyzed, vocabulary=vectorizer.vocabulary_, binary=True, dtype=np.float64
    ).transform(titles)
    suggestions = []
    for cluster in range(k):
        members = np.flatnonzero(labels == cluster)
        if len(members) >= MIN_PAPERS:
            others = np.flatnonzero(labels != cluster)
            found = _suggestion(rows, matrix, used, titled, terms, members, others)
            if found is not None:
                suggestions.append(found)
    return sorted(suggestions, key=lambda s: (-s.coherence, -s.count, s.name))


def _suggestion(
    rows: Sequence[tuple[int, str, str]],
    matrix: sparse.csr_matrix,
    used: sparse.csr_matrix,
    titled: sparse.csr_matrix,
    terms: Sequence[str],
    members: np.ndarray,
    others: np.ndarray,
) -> Suggestion | None:
    share = _share(used, members)
    lift = np.log((share + SHARE_SMOOTHING) / (_share(used, others) + SHARE_SMOOTHING))
    ranked, shares, _ = _ranked(share * lift, share, terms)
    chosen = distinct_terms(ranked, shares, TERMS)
    if not chosen:
        return None  # nothing sets these papers apart: no name, no keywords
    centre = np.asarray(matrix[members].mean(axis=0)).ravel()
    norm = float(np.linalg.norm(centre))
    closeness = matrix[members] @ (centre / norm) if norm else np.zeros(len(members))
    order = members[np.argsort(-closeness, kind="stable")]
    return Suggestion(
        name=topic_name(
            _name_terms(_share(titled, members), lift, terms) or chosen[:1],
            [rows[i][2] or rows[i][1] for i in order[:SPELLING_SAMPLE]],
        ),
        terms=tuple(chosen),
        paper_ids=tuple(rows[i][0] for i in order),
        examples=tuple(rows[i][1] for i in order[:EXAMPLES]),
        coherence=round(float(np.mean(closeness)), 4),
    )


def _name_terms(in_titles: np.ndarray, lift: np.ndarray, terms: Sequence[str]) -> list[str]:
    """The terms that set the cluster's titles apart (a title is a paper's subject in the
    fewest words): in at least NAME_TITLE_SHARE of them, so as to speak for the cluster
    rather than two papers, and a second only when it is nearly as telling as the first."""
    score = np.where(in_titles >= NAME_TITLE_SHARE, in_titles * lift, 0.0)
    ranked, title_share, scores = _ranked(score, in_titles, terms)
    named = distinct_terms(ranked, title_share, NAME_TERMS, disjoint=True)
    return [t for t in named if scores[t] >= NAME_SECOND_RATIO * scores[named[0]]]


def _distinct_rows(matrix: sparse.csr_matrix) -> int:
    """How many different vectors there are: k-means cannot make more clusters than that."""
    seen = set()
    for start, end in zip(matrix.indptr[:-1], matrix.indptr[1:], strict=True):
        seen.add((matrix.indices[start:end].tobytes(), matrix.data[start:end].tobytes()))
    return len(seen)


def _share(used: sparse.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """The share of these papers that use each term (all 0 for no papers)."""
    if not len(rows):
        return np.zeros(used.shape[1])
    return np.asarray(used[rows].mean(axis=0)).ravel()


def _ranked(
    score: np.ndarray, share: np.ndarray, terms: Sequence[str]
) -> tuple[list[str], dict[str, float], dict[str, float]]:
    """The best terms with a positive score, best first (ties alphabetical, so the page is
    stable), with the share of papers using each and each one's score."""
    best = [i for i in np.argsort(-score, kind="stable")[:CANDIDATES] if score[i] > 0]
    return (
        [terms[i] for i in best],
        {terms[i]: float(share[i]) for i in best},
        {terms[i]: float(score[i]) for i in best},
    )


def distinct_terms(
    ranked: Iterable[str], share: Mapping[str, float], limit: int, *, disjoint: bool = False
) -> list[str]:
    """The best `limit` terms that each add a word: "agent" after "agents" adds nothing, nor
    does "distillation opd" after "distillation" and "opd". With `disjoint` no two terms
    share a word, as a name needs: not "Scaling and Scaling Laws".

    A phrase takes the place of the words it contains when at least PHRASE_SHARE of the
    papers using each word use the phrase (`share`: the share of papers using each term).
    A lower-ranked phrase may do that too, so all of `ranked` is read before the cut.
    """
    chosen: list[str] = []
    for term in ranked:
        stems = _stems(term)
        contained = [c for c in chosen if _stems(c) < stems]
        others = {stem for c in chosen if c not in contained for stem in _stems(c)}
        if (
            contained
            and all(share.get(term, 0.0) >= PHRASE_SHARE * share.get(c, 1.0) for c in contained)
            and not (disjoint and stems & others)
        ):
            chosen[chosen.index(contained[0])] = term
            chosen = [c for c in chosen if c not in contained[1:]]
            continue
        known = {stem for c in chosen for stem in _stems(c)}
        if not (stems & known if disjoint else stems <= known):
            chosen.append(term)
    return chosen[:limit]


def _stems(term: str) -> set[str]:
    """Its words without a plural "s" or an "ing": "agents" is "agent", "benchmarking" is
    "benchmark". Only ever compared with each other, so rough is enough."""
    stems = set()
    for word in term.split():
        if len(word) > 5 and word.endswith("ing"):
            word = word[:-3]
        elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        stems.add(word)
    return stems


def topic_name(terms: Sequence[str], texts: Iterable[str]) -> str:
    """ "KV Cache and Long-Context": each term as the papers write it, title-cased; two terms
    that the papers mostly write as one phrase become it ("Large Language Models")."""
    texts = list(texts)
    spellings = [_spellings(term, texts) for term in terms]
    if len(terms) == 2:
        fewest = min(sum(s.values()) for s in spellings)
        for phrase in (f"{terms[0]} {terms[1]}", f"{terms[1]} {terms[0]}"):
            joined = _spellings(phrase, texts)
            if fewest and sum(joined.values()) >= PHRASE_SHARE * fewest:
                return _title(_most_usual(joined, phrase))
    return " and ".join(
        _title(_most_usual(s, term)) for term, s in zip(terms, spellings, strict=True)
    )


def _spellings(term: str, texts: Sequence[str]) -> Counter[str]:
    """How often the papers write the term each way ("LLMs", "llms")."""
    pattern = re.compile(
        r"(?<![\w-])" + r"\s+".join(re.escape(w) for w in term.split()) + r"(?![\w-])",
        re.IGNORECASE,
    )
    return Counter(match for text in texts for match in pattern.findall(text))


def _most_usual(spellings: Counter[str], term: str) -> str:
    """The most common spelling, else the term itself; among equals the one with capitals,
    which someone chose to write."""
    if not spellings:
        return term

    def usual(spelling: str) -> tuple[int, bool, str]:
        return spellings[spelling], spelling != spelling.lower(), spelling

    return max(spellings, key=usual)


def _title(phrase: str) -> str:
    """Capitalize lower-case words and their hyphenated parts; leave "LLMs" and "KV" alone."""
    return " ".join(
        "-".join(part[:1].upper() + part[1:] if part.islower() else part for part in w.split("-"))
        for w in phrase.split()
    )

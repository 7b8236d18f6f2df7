"""Names of people and organizations as readers type them and as feeds spell them (pure).

A reader who follows "Jean-Pierre Lévy" expects the papers of "jean pierre levy" and of
"Jean-Pierre LEVY": names are compared in one normal form, never as typed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Letters that NFKD does not take apart but people type without their stroke or ligature
# ("Lukasz" for "Łukasz"); the rest of the accents are combining marks NFKD splits off.
_LOOKALIKES = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "\u0131": "i"}
)
# Between the parts of a name, hyphens and dots are spacing: "J.-P. Lévy" is "j p levy".
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015.\u00b7_]+")
# Joins the names of one paper so they are normalised in one call, not one call each. NUL
# survives NFKD, casefold and the separators untouched, keeps ASCII text ASCII, and no name
# holds one (PostgreSQL refuses it in text).
_JOIN = "\x00"


def normalize_name(name: str) -> str:
    """One spelling per name: case, accents, hyphens, dots and spacing do not count.

    >>> normalize_name("  Jean-Pierre   LÉVY ")
    'jean pierre levy'
    """
    folded = unicodedata.normalize("NFKD", name.casefold())
    if not folded.isascii():
        folded = "".join(c for c in folded if not unicodedata.combining(c))
        folded = folded.translate(_LOOKALIKES)
    return _SEPARATORS.sub(" ", folded).strip()


def split_names(text: str) -> tuple[str, ...]:
    """The names of a comma-separated list, as typed, without empty ones."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


class NameMatcher:
    """Which of a reader's followed names (normalised) are among a paper's names (raw).

    Counting follows over months of papers asks this of tens of thousands of papers, so a
    paper whose names are all ASCII and hold no word of any followed name is ruled out
    before anything is normalised: for ASCII text, normalising only lowers the case and
    turns separators into spaces, so a word of the normal form is in the lowered text too.
    """

    def __init__(self, targets: Iterable[str]) -> None:
        self.targets = frozenset(t for t in targets if t)
        # The longest word of each name: the one least likely to be in an unrelated paper.
        self._words = tuple({max(t.split(" "), key=len) for t in self.targets})

    def __call__(self, names: Iterable[str]) -> set[str]:
        if not self.targets:
            return set()
        joined = _JOIN.join(name for name in names if isinstance(name, str))
        if joined.isascii():
            lowered = joined.lower()
            if not any(word in lowered for word in self._words):
                return set()
        found = {part.strip() for part in normalize_name(joined).split(_JOIN)}
        return set(self.targets.intersection(found))

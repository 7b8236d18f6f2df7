"""Text helpers shared by the parsers: TeX-ish markup to plain text, title keys, arXiv ids, dates.

Abstracts and titles reach us as arXiv wrote them (``\\textit{x}``, ``$\\mathcal{O}(n)$``,
``Garc\\'ia``) or, on the Daily Papers page, as a rendering that lost its backslashes
(``{it misaligned}``, ``scriptsizeFLaws``). Email clients run no MathJax, so we store plain
text and escape it at render time.

Math decision: inline math (``$...$``, ``\\(...\\)``) is turned into readable text rather than
kept verbatim: delimiters go, font macros are unwrapped, Greek letters and common symbols become
Unicode (``$\\mathcal{O}(n^{2})$`` -> ``O(n^2)``, ``$\\alpha$`` -> ``α``). Commands we do not know
are kept as written, backslash and all, so nothing is ever dropped silently. This also makes an
arXiv title and the Daily Papers rendering of it agree, which matters for matching by title.
A ``$`` only opens math when followed by a non-space and closes when preceded by one and not
followed by a digit (pandoc's rule), so "$5 and $10" stays as it is.
"""

# The tables below map TeX to look-alike Unicode on purpose (× for \times, ℓ for \ell).
# ruff: noqa: RUF001, RUF002, RUF003

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime

# -- TeX to plain text ------------------------------------------------------------------------

_FONT_MACROS = (
    "textbf|textit|texttt|textsc|textrm|textsf|textup|textmd|textnormal|emph|underline|uline|"
    "mathrm|mathbf|mathit|mathsf|mathtt|mathcal|mathbb|mathfrak|mathscr|boldsymbol|bm|"
    "text|mbox|operatorname"
)
_DECLARATIONS = (
    "it|bf|em|sc|rm|tt|sl|sf|bfseries|itshape|scshape|upshape|mdseries|normalfont|"
    "tiny|scriptsize|footnotesize|small|normalsize|large|Large|LARGE|huge|Huge"
)
# With a backslash the macro may sit anywhere; without one (the page lost it) only at a word start.
_FONT_ARG_RE = re.compile(rf"(?:\\|(?<![A-Za-z\\]))(?:{_FONT_MACROS})\s*\{{([^{{}}]*)\}}")
_GROUP_DECL_RE = re.compile(
    rf"\{{\s*(?:\\(?:{_DECLARATIONS})(?![A-Za-z])|(?:it|bf|em|sc|rm|tt|sl|sf)\s)\s*([^{{}}]*)\}}"
)
_BARE_DECL_RE = re.compile(rf"\\(?:{_DECLARATIONS})(?![A-Za-z])\s*")
# "Inference Scaling scriptsizeFLaws": a size switch glued to the next word once "\" was lost.
# Only names that are not English words, and only before a capital, so prose is never touched.
_GLUED_SIZE_RE = re.compile(r"(?<![A-Za-z])(?:scriptsize|footnotesize|normalsize)(?=[A-Z])")
_HREF_RE = re.compile(r"\\href\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_URL_RE = re.compile(r"\\url\s*\{([^{}]*)\}")
# "here{https://github.com/...}": a \footnote{\url{...}} that lost its backslashes.
_BRACED_URL_RE = re.compile(r"\{(https?://[^\s{}]+)\}")
# "{BERT}", "{{x}}": grouping braces around plain words (escaped "\{" is kept).
_LONE_GROUP_RE = re.compile(r"\{(?<![\w\\]\{)([^{}\\]*)\}")
_TEX_QUOTES_RE = re.compile(r"``(.*?)''")
_TIE_RE = re.compile(r"(?<=[\w.)])~(?=[\w(\\])")
_ESCAPED_RE = re.compile(r"\\([%&_#${}])")

_ACCENT_MARKS = {
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    '"': "\u0308",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
    "k": "\u0328",
    "r": "\u030a",
    "d": "\u0323",
    "b": "\u0331",
}
_ACCENT_RE = re.compile(
    r"(?P<open>\{)?\\(?:(?P<sym>['`^\"~=.])|(?P<let>[uvHckrdb])(?![A-Za-z]))\s*"
    r"(?:\{\s*(?P<braced>\\[ij]|[A-Za-z])\s*\}|(?P<bare>\\[ij](?![A-Za-z])|[A-Za-z]))"
    r"(?P<close>\})?"
)
_SPECIAL_LETTERS = {
    "ss": "ß",
    "o": "ø",
    "O": "Ø",
    "aa": "å",
    "AA": "Å",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "l": "ł",
    "L": "Ł",
    "i": "ı",
    "j": "ȷ",
}
# Cheap literal-prefixed probes: the full accent pattern is only run when one matches.
_ACCENT_HINT_RE = re.compile(r"\\['`^\"~=.uvHckrdb]")
_FONT_HINTS = ("text", "emph", "math", "line", "bm", "bold", "mbox", "operatorname")
_SPECIAL_LETTER_RE = re.compile(
    r"\{\\(ss|aa|AA|ae|AE|oe|OE|[oOlLij])\}|\\(ss|aa|AA|ae|AE|oe|OE|[oOlL])(?![A-Za-z])(?:\{\})?"
)

# -- math --
# Starts with a literal "$" so the engine can scan for it; "\$" is hidden beforehand.
_MATH_RE = re.compile(r"(\$\$?)(?!\s)((?:[^$\\]|\\.)+?)(?<![\s\\])\1(?!\d)")
_PAREN_MATH_RE = re.compile(r"\\\(\s*(.+?)\s*\\\)")
_DOLLAR = "\ue002"
_COMMAND_RE = re.compile(r"\\([A-Za-z]+)(?![A-Za-z])")
_FRAC_RE = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_SQRT_RE = re.compile(r"\\sqrt\s*\{([^{}]*)\}")
_MATH_ACCENT_RE = re.compile(r"\\(hat|bar|tilde|vec|dot)\s*\{([^{}])\}")
_MATH_ACCENTS = {
    "hat": "\u0302",
    "bar": "\u0304",
    "tilde": "\u0303",
    "vec": "\u20d7",
    "dot": "\u0307",
}
_SCRIPT_RE = re.compile(r"([\^_])\{([^{}]*)\}")
_UNKNOWN_ARG_RE = re.compile(r"(\\[A-Za-z]+)\{([^{}]*)\}")
_GROUP_BRACE_RE = re.compile(r"(?<!\\)[{}]")
_MATH_SPACE_RE = re.compile(r"\\[,;:! ]|~")
_GREEK = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma "
    "tau upsilon phi chi psi omega"
)
_MATH_SYMBOLS = {
    "times": "×",
    "cdot": "·",
    "cdots": "⋯",
    "ldots": "…",
    "dots": "…",
    "pm": "±",
    "mp": "∓",
    "div": "÷",
    "le": "≤",
    "leq": "≤",
    "ge": "≥",
    "geq": "≥",
    "ne": "≠",
    "neq": "≠",
    "approx": "≈",
    "sim": "∼",
    "simeq": "≃",
    "equiv": "≡",
    "propto": "∝",
    "ll": "≪",
    "gg": "≫",
    "infty": "∞",
    "to": "→",
    "rightarrow": "→",
    "leftarrow": "←",
    "Rightarrow": "⇒",
    "Leftrightarrow": "⇔",
    "leftrightarrow": "↔",
    "mapsto": "↦",
    "in": "∈",
    "notin": "∉",
    "subset": "⊂",
    "subseteq": "⊆",
    "cup": "∪",
    "cap": "∩",
    "emptyset": "∅",
    "setminus": "∖",
    "forall": "∀",
    "exists": "∃",
    "neg": "¬",
    "land": "∧",
    "lor": "∨",
    "wedge": "∧",
    "vee": "∨",
    "sum": "∑",
    "prod": "∏",
    "int": "∫",
    "partial": "∂",
    "nabla": "∇",
    "ell": "ℓ",
    "hbar": "ℏ",
    "circ": "∘",
    "star": "⋆",
    "ast": "∗",
    "prime": "′",
    "langle": "⟨",
    "rangle": "⟩",
    "mid": "|",
    "vert": "|",
    "lvert": "|",
    "rvert": "|",
    "lfloor": "⌊",
    "rfloor": "⌋",
    "lceil": "⌈",
    "rceil": "⌉",
    "quad": " ",
    "qquad": " ",
    "left": "",
    "right": "",
    "big": "",
    "Big": "",
    "bigg": "",
    "Bigg": "",
    "displaystyle": "",
    "textstyle": "",
    "scriptstyle": "",
    "limits": "",
    "nolimits": "",
    "varepsilon": "ε",
    "vartheta": "ϑ",
    "varphi": "φ",
    "varrho": "ϱ",
    "varsigma": "ς",
}
_MATH_FUNCTIONS = "log ln exp min max sin cos tan arg argmin argmax det dim inf sup lim Pr gcd mod"


def _greek_letters() -> dict[str, str]:
    letters = {}
    for name in _GREEK.split():
        unicode_name = "LAMDA" if name == "lambda" else name.upper()
        letters[name] = unicodedata.lookup(f"GREEK SMALL LETTER {unicode_name}")
        letters[name.capitalize()] = unicodedata.lookup(f"GREEK CAPITAL LETTER {unicode_name}")
    return letters


_MATH_TABLE = (
    _greek_letters()
    | _MATH_SYMBOLS
    | {name: name for name in _MATH_FUNCTIONS.split()}
    | dict.fromkeys(_DECLARATIONS.split("|"), "")
)


def clean_text(s: str, *, decode_entities: bool = True) -> str:
    """Plain text from a feed's title, abstract or name: entities decoded once, TeX made readable.

    Pass decode_entities=False for text an XML parser already decoded (arXiv Atom and RSS):
    decoding again would turn an abstract's literal "&lt;" into "<".
    """
    if decode_entities and "&" in s:
        s = html.unescape(s)
    if _may_hold_tex(s):
        s = _tex_to_text(s)
    return _collapse_spaces(s)


def clean_text_within(s: str, limit: int, *, decode_entities: bool = True) -> str:
    """clean_text, except that text already longer than limit comes back untouched.

    validation_error rejects such text anyway, and cleaning megabytes of markup takes seconds.
    """
    return s if len(s) > limit else clean_text(s, decode_entities=decode_entities)


# Most abstracts have no markup at all and 10,000 of them must parse in well under a second:
# chained substring tests (C scans, no generator) decide which regex passes are worth running.
def _may_hold_tex(s: str) -> bool:
    return (
        "\\" in s
        or "$" in s
        or "{" in s
        or "}" in s
        or "~" in s
        or ("`" in s and "``" in s)
        or ("'" in s and "''" in s)
        or ("size" in s and _GLUED_SIZE_RE.search(s) is not None)
    )


def _collapse_spaces(s: str) -> str:
    # split/join is the slowest step for clean text. In ASCII, every whitespace character but
    # the space is unprintable, so printable text without double or edge spaces is done.
    if s.isascii() and s.isprintable() and "  " not in s and s[:1] != " " and s[-1:] != " ":
        return s
    return " ".join(s.split())


def _tex_to_text(s: str) -> str:
    if "\\(" in s:
        s = _PAREN_MATH_RE.sub(r"$\1$", s)
    if "$" not in s:
        return _prose_to_text(s)
    # An escaped dollar is text, never a math delimiter.
    s = s.replace("\\$", _DOLLAR)
    parts = []
    last = 0
    for match in _MATH_RE.finditer(s):
        parts.append(_prose_to_text(s[last : match.start()]))
        parts.append(_math_to_text(match.group(2)))
        last = match.end()
    parts.append(_prose_to_text(s[last:]))
    return "".join(parts).replace(_DOLLAR, "$")


def _prose_to_text(t: str) -> str:
    if "\\" in t or "{" in t:
        t = _prose_markup_to_text(t)
    if "size" in t:
        t = _GLUED_SIZE_RE.sub("", t)
    if "``" in t:
        t = _TEX_QUOTES_RE.sub(r'"\1"', t)
    if "~" in t:
        t = _TIE_RE.sub(" ", t)
    return t


def _prose_markup_to_text(t: str) -> str:
    if "\\href" in t:
        t = _HREF_RE.sub(r"\2 (\1)", t)
    if "\\url" in t:
        t = _URL_RE.sub(r"\1", t)
    if "{" in t:
        t = _until_stable(t, _unwrap_prose_groups)
        t = _BRACED_URL_RE.sub(r" \1", t)
    if "\\" in t:
        t = _BARE_DECL_RE.sub("", t)
        if _ACCENT_HINT_RE.search(t):
            t = _ACCENT_RE.sub(_accented, t)
        t = _SPECIAL_LETTER_RE.sub(lambda m: _SPECIAL_LETTERS[m.group(1) or m.group(2)], t)
        t = _ESCAPED_RE.sub(r"\1", t.replace("\\\\", " "))
    return t


def _unwrap_prose_groups(t: str) -> str:
    t = _GROUP_DECL_RE.sub(r"\1", t)
    if any(hint in t for hint in _FONT_HINTS):
        t = _FONT_ARG_RE.sub(r"\1", t)
    return _LONE_GROUP_RE.sub(r"\1", t)


def _accented(m: re.Match[str]) -> str:
    letter = (m["braced"] or m["bare"]).lstrip("\\")
    mark = _ACCENT_MARKS[m["sym"] or m["let"]]
    text = unicodedata.normalize("NFC", letter + mark)
    # Keep a brace that had no partner in this match: it belongs to the surrounding text.
    if m["open"] and not m["close"]:
        return "{" + text
    if m["close"] and not m["open"]:
        return text + "}"
    return text


def _math_to_text(m: str) -> str:
    # Symbols first: "\in\mathbb{R}" must become "∈R", not the unknown command "\inR".
    m = _COMMAND_RE.sub(lambda c: _MATH_TABLE.get(c.group(1), c.group(0)), m)
    m = _until_stable(m, _math_structures)
    m = _MATH_ACCENT_RE.sub(lambda a: unicodedata.normalize("NFC", a[2] + _MATH_ACCENTS[a[1]]), m)
    m = _SCRIPT_RE.sub(lambda s: s[1] + _bracketed(s[2]), m)
    m = _MATH_SPACE_RE.sub(" ", m)
    # Braces in math only group, except after a command we do not know: keep those as written.
    m = _UNKNOWN_ARG_RE.sub(lambda u: f"{u[1]}\ue000{u[2]}\ue001", m)
    m = _GROUP_BRACE_RE.sub("", m).replace("\ue000", "{").replace("\ue001", "}")
    return _ESCAPED_RE.sub(r"\1", m)


def _math_structures(m: str) -> str:
    m = _FONT_ARG_RE.sub(r"\1", m)
    m = _FRAC_RE.sub(lambda f: f"{_bracketed(f[1])}/{_bracketed(f[2])}", m)
    return _SQRT_RE.sub(lambda r: "√" + _bracketed(r[1]), m)


def _bracketed(s: str) -> str:
    s = s.strip()
    return s if len(s) <= 1 or s.isalnum() else f"({s})"


def _until_stable(s: str, step: Callable[[str], str]) -> str:
    # Nested markup ("\emph{\textbf{x}}") unwraps from the inside out, one level per pass;
    # every step removes braces, so none left means nothing more to do.
    for _ in range(20):
        if "{" not in s:
            break
        new = step(s)
        if new == s:
            break
        s = new
    return s


# -- titles -----------------------------------------------------------------------------------

_NOT_WORD_RE = re.compile(r"[\W_]+")
TITLE_KEY_CHARS = 255


def normalize_title(s: str) -> str:
    """A key that matches one paper's title across sources: no case, accents or punctuation."""
    decomposed = unicodedata.normalize("NFKD", s.casefold())
    # Most titles are plain ASCII: nothing to strip, and no walk over every character.
    if decomposed.isascii():
        bare = decomposed
    else:
        bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # Punctuation becomes a space so "Zero-Shot" and "Zero–Shot" agree and words stay apart.
    key = " ".join(_NOT_WORD_RE.sub(" ", bare).split())
    return key[:TITLE_KEY_CHARS].rstrip()


# -- arXiv identifiers ------------------------------------------------------------------------

_ARXIV_ID_RE = re.compile(
    r"^(?i:arxiv:|oai:arxiv\.org:|(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/)?"
    # New style YYMM.NNNN(N); old style archive[.SUBJ]/YYMMNNN, the archive may hold a "v".
    r"(?P<id>(?P<yymm>\d{4})\.(?P<num>\d{4,5})|[a-z]+(?:-[a-z]+)*(?:\.[A-Za-z]+(?:-[A-Za-z]+)*)?/\d{7})"
    r"(?:v(?P<version>[1-9]\d*))?(?:\.pdf)?/?$"
)


def parse_arxiv_id(s: str) -> tuple[str, int | None] | None:
    """(base id, version or None) from any way arXiv writes an id, or None when it is not one."""
    match = _ARXIV_ID_RE.match(s.strip())
    if not match:
        return None
    if match["yymm"]:
        month = int(match["yymm"][2:])
        # Four-digit numbers until 1412, five from 1501 on.
        digits = 4 if int(match["yymm"]) <= 1412 else 5
        if not 1 <= month <= 12 or len(match["num"]) != digits:
            return None
    version = int(match["version"]) if match["version"] else None
    return match["id"], version


# -- dates ------------------------------------------------------------------------------------


def parse_iso_date(s: object) -> date | None:
    """The date written in an ISO 8601 date or timestamp ("2026-02-26T17:08:18.000Z").

    The date as the source wrote it, not converted to another zone; None when absent or malformed.
    """
    if not isinstance(s, str):
        return None
    try:
        return datetime.fromisoformat(s.strip()).date()
    except ValueError:
        return None

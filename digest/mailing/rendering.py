"""Email templates → subject, text and HTML, with the CSS inlined once per template version.

Every email is three Jinja2 templates under templates/emails/: `<name>.subject.txt`,
`<name>.txt` and `<name>.html`. HTML is autoescaped, text is not, and a missing variable
is an error (StrictUndefined), never a silently empty link.

Inlining CSS costs 40-80 times the render itself (bench/digest_bench.py measures the naive
way), so premailer never sees a
recipient's message: the loader hands Jinja2 the *template source* already inlined, and
Jinja2 compiles and caches that until the file changes. Jinja tags are swapped for plain
placeholders while premailer runs, because lxml percent-encodes URL attributes
(`href="{{ url }}"` would come back as `href="{{%20url%20}}"`) and escapes quotes and `<`.

`{% include "emails/_partial.html" %}` in an HTML email is expanded into the source before
inlining, so shared markup (head with the one `<style>` block, footer) gets inlined styles
too; includes are the only composition HTML emails use (no `{% extends %}`).

What is the same for thousands of readers is rendered once: a template wraps a paper card's
parts in `{% call shared(p, key) %}…{% endcall %}`, and the first reader's output is kept on
the card (its `rendered` dict, which lives as long as the pool of papers does).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Hashable, Mapping, MutableMapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings
from jinja2 import (
    BaseLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)
from premailer import Premailer

_JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_PLACEHOLDER = re.compile(r"JJX(\d+)XJJ")
_INCLUDE = re.compile(r"""\{%-?\s*include\s+["'](emails/_[\w.-]+\.html)["']\s*-?%\}""")
_DOCTYPE = re.compile(r"^\s*(<!doctype[^>]*>)", re.IGNORECASE)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def inline_css(html: str) -> str:
    """premailer with our options: styles go inline, only media queries stay in <style>.

    Used on template sources by the loader and, in tests, on rendered messages to check
    that inlining the source gives the same result as inlining each message.
    """
    doctype = _DOCTYPE.match(html)
    out = Premailer(
        html,
        keep_style_tags=False,  # what cannot be inlined (media queries) is kept anyway
        remove_classes=False,  # media queries still select by class
        strip_important=False,
        disable_validation=True,
        allow_network=False,
        cssutils_logging_level=logging.CRITICAL,
    ).transform()
    # premailer drops the doctype; without one some clients render in quirks mode.
    return f"{doctype.group(1)}\n{out}" if doctype else out


def inline_template_source(source: str) -> str:
    """inline_css for a Jinja2 source: tags are hidden from premailer and put back after."""
    tags: list[str] = []

    def hide(match: re.Match[str]) -> str:
        tags.append(match.group(0))
        return f"JJX{len(tags) - 1}XJJ"

    inlined = inline_css(_JINJA_TAG.sub(hide, source))
    return _PLACEHOLDER.sub(lambda m: tags[int(m.group(1))], inlined)


class InliningLoader(BaseLoader):
    """Reads templates from disk; HTML email sources come back with partials expanded and
    the CSS inlined. Jinja2 caches the compiled result and asks `uptodate` before reuse,
    so inlining runs once per template version, at its first use."""

    def __init__(self, directory: Path) -> None:
        self.files = FileSystemLoader(str(directory))
        self.inlined = 0  # how many times premailer ran: tests hold us to once per version

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = self.files.get_source(environment, template)
        if not template.endswith(".html"):
            return source, filename, uptodate
        checks = [uptodate] if uptodate is not None else []
        source = self._expand(environment, source, checks, depth=0)
        self.inlined += 1
        return (
            inline_template_source(source),
            filename,
            lambda: all(check() for check in checks),
        )

    def _expand(self, environment: Environment, source: str, checks: list, depth: int) -> str:
        if depth > 5:
            raise TemplateNotFound("emails/_*.html includes nest too deeply")

        def expand(match: re.Match[str]) -> str:
            part, _, uptodate = self.files.get_source(environment, match.group(1))
            if uptodate is not None:
                checks.append(uptodate)
            return self._expand(environment, part, checks, depth + 1)

        return _INCLUDE.sub(expand, source)


def shared(part: Mapping[str, object], key: Hashable, caller: Callable[[], str]) -> str:
    """The output of a `{% call shared(p, key) %}` block, rendered once per card and key.

    `p` is one reader's view of a card: the card's fields plus their own reason and links.
    The block must read only the card's fields (and whatever `key` names, such as the
    position): its output is kept in the card's `rendered` dict and reused for every other
    reader of that card. A card without one (a hand-made preview) renders every time.
    """
    memo = part.get("rendered")
    if not isinstance(memo, MutableMapping):
        return caller()
    try:
        return memo[key]
    except KeyError:
        out = memo[key] = caller()
        return out


def _templates_dir() -> Path:
    return Path(settings.BASE_DIR) / "templates"


@cache
def environment() -> Environment:
    env = Environment(
        loader=InliningLoader(_templates_dir()),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=True,
    )
    env.globals["shared"] = shared
    return env


def render_email(name: str, context: Mapping[str, object]) -> Rendered:
    """Renders `emails/<name>.subject.txt`, `.txt` and `.html` with one context."""
    env = environment()
    subject = env.get_template(f"emails/{name}.subject.txt").render(context)
    # A header is one line: whatever the template or the data did, fold it.
    subject = " ".join(subject.split())
    full = {**context, "subject": subject}
    text = env.get_template(f"emails/{name}.txt").render(full)
    html = env.get_template(f"emails/{name}.html").render(full)
    return Rendered(subject=subject, text=text, html=html)

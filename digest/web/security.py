"""What every response and every log line gets, whatever view made it.

- A Content-Security-Policy (django-csp), loosened only where a page needs it.
- Pages reached through a token in their URL are private: never cached, never named in a
  Referer to anyone.
- Tokens are cut out of log lines: "Bad Request: /unsubscribe/<token>/" would hand the
  link to whoever reads the log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from csp.constants import UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts
from django.http import HttpRequest, HttpResponse, HttpResponseBase

# The URLs whose second segment is a signed token (/feed/ alone is the public feed).
TOKEN_PREFIXES = (
    "preferences",
    "unsubscribe",
    "confirm",
    "change-email",
    "feedback",
    "digest",
    "feed",
)
_PREFIXES = "|".join(re.escape(p) for p in TOKEN_PREFIXES)
TOKEN_PAGE = re.compile(rf"^/(?:{_PREFIXES})/[^/]+/")
# In a log line: the segment after one of those prefixes, when it looks like a signed
# value (Django's signatures join their parts with ":"); a file path stays readable.
TOKEN_IN_TEXT = re.compile(rf"(/(?:{_PREFIXES})/)[^/\s\"'?#]*(?::|%3[aA])[^/\s\"'?#]*")
MASK = "[token]"

# Pages whose styles cannot live in our CSS files: the admin (Django's own templates, our
# dashboard's computed widths, the email preview) and the email shown as a web page.
INLINE_STYLE_PREFIXES = ("/admin/", "/digest/")


def mask_tokens(text: str) -> str:
    return TOKEN_IN_TEXT.sub(rf"\1{MASK}", text)


class MaskTokens(logging.Filter):
    """A logging filter that rewrites the message with tokens masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logging module's to report
            return True
        masked = mask_tokens(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class PrivateTokenPages:
    """`Cache-Control: private, no-store` and `Referrer-Policy: no-referrer` on every page
    whose URL holds a token: a shared cache must not keep it, and a link followed from it
    must not carry it away in the Referer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if TOKEN_PAGE.match(request.path_info):
            response["Cache-Control"] = "private, no-store"
            response["Referrer-Policy"] = "no-referrer"
        return response


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with inline styles allowed on the admin's pages and on the
    digest page (an email: premailer inlines its CSS into style attributes), only."""

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if request.path_info.startswith(INLINE_STYLE_PREFIXES) and parts.update is None:
            parts.update = {"style-src": [UNSAFE_INLINE]}
        return parts


class TokenPageOrigin:
    """Fits Django's CSRF check to the token pages' own `Referrer-Policy: no-referrer`.

    Under that policy a browser posts a page's form with `Origin: null` and no Referer, so
    Django's origin and (over HTTPS) referer checks would refuse every button on those
    pages. There, and only there, before CsrfViewMiddleware runs, a null Origin is dropped
    and a missing Referer is taken to be the page itself, which is what the browser
    withheld. The check that remains is the one that matters: the CSRF token in the form
    must match the cookie, which another site can neither read nor set; and the signed
    token in the URL is what names the reader.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and TOKEN_PAGE.match(request.path_info):
            if request.META.get("HTTP_ORIGIN") == "null":
                del request.META["HTTP_ORIGIN"]
            if "HTTP_ORIGIN" not in request.META and "HTTP_REFERER" not in request.META:
                request.META["HTTP_REFERER"] = request.build_absolute_uri()
        return self.get_response(request)

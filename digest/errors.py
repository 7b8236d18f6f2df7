"""One line naming an error, for logs and operators' pages, with credentials masked."""

from __future__ import annotations

import re

# Errors go into the log: one short line, never a whole message with a stack or a URL.
ERROR_MAX_CHARS = 120

_CREDENTIALS_IN_URL = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]*@", re.IGNORECASE)
_PASSWORD_PAIR = re.compile(r"(password|passwd|pwd|secret|token)\s*=\s*\S+", re.IGNORECASE)


def short_error(exc: BaseException) -> str:
    """One line naming what went wrong, with anything that looks like a credential removed.

    Driver messages can quote connection strings; logs are read by many, so credentials in
    URLs and `password=...` pairs are masked before anything is written.
    """
    first_line = (str(exc).strip().splitlines() or [""])[0]
    first_line = _CREDENTIALS_IN_URL.sub(r"\g<scheme>***@", first_line)
    first_line = _PASSWORD_PAIR.sub(r"\1=***", first_line)
    text = f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__
    return text if len(text) <= ERROR_MAX_CHARS else text[: ERROR_MAX_CHARS - 1] + "…"

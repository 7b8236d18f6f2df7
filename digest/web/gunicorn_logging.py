"""gunicorn's logger with tokens cut out of its access lines, as digest.web.security does
for Django's: `--logger-class digest.web.gunicorn_logging.MaskedLogger` (the Procfile uses
it)."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from digest.web.security import mask_tokens

# The atoms of an access line that hold a URL: request line, path, query, referer.
URL_ATOMS = ("r", "U", "q", "f")


class MaskedLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in URL_ATOMS:
            if isinstance(atoms.get(key), str):
                atoms[key] = mask_tokens(atoms[key])
        return atoms

#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db.utils import OperationalError

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A bad environment variable is an operator's mistake, not a bug: one line, no traceback.
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2)
    except OperationalError as exc:
        # The database is down, refuses us, or its file cannot be opened: that is the
        # environment too. The driver's first line says which (host and port, never the
        # password); the rest of its text and the stack help nobody.
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        sys.stderr.write(f"error: cannot use the database (DATABASE_URL): {reason}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()

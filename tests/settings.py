"""The settings the tests run with: the project's own, read from a known environment.

A developer's `.env` (DEBUG on, their database, their email provider) must not change what
the tests see, so none is read; the secret key is made for this run. Subprocesses the tests
start (manage.py, Celery workers, a web server) inherit this environment.
"""

from __future__ import annotations

import os
import secrets

os.environ["ENV_FILE"] = "off"
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

from digest.settings import *  # noqa: F403

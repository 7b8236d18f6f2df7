"""The digest app: papers in, personal digests out; Django and Celery configuration at the top.

Each concern has its folder (papers, mailing, taste, ops, web); models/ is the lowest layer."""

from __future__ import annotations

# Importing the Celery app here makes @shared_task bind to it when Django starts.
from digest.celery import app as celery_app

__all__ = ["celery_app"]

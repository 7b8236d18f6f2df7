"""The digest app's models, split by concern; all importable from `digest.models`.

Models own the behaviour of one row and import no service module: what they need beyond
Django (token signing) lives in modules that import no model.
"""

from __future__ import annotations

from digest.models.deliveries import Delivery, DeliveryPaper
from digest.models.ingests import IngestRun
from digest.models.papers import Paper, PaperSnapshot, PaperTopic, Topic
from digest.models.taste import Feedback, ReaderProfile

__all__ = [
    "Delivery",
    "DeliveryPaper",
    "Feedback",
    "IngestRun",
    "Paper",
    "PaperSnapshot",
    "PaperTopic",
    "ReaderProfile",
    "Topic",
]

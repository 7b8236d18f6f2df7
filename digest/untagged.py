"""Papers that fall through: no topic at all, so no reader's topics ever bring them (only a
keyword or a followed author can). Editors see how many there are and act on them.

- `no_topic()`: the condition, a NOT EXISTS subquery on PaperTopic (auto and editor rows
  alike), which the database answers from the (paper, topic) unique index.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from digest.models import PaperTopic

# The Papers admin filter (PaperAdmin's list_filter) and its "no topic" value.
FILTER_PARAMETER = "has_topic"
NO_TOPIC = "no"
WITH_TOPIC = "yes"


def no_topic() -> Exists:
    """True for a paper without any PaperTopic row, automatic or an editor's."""
    return ~Exists(PaperTopic.objects.filter(paper=OuterRef("pk")))

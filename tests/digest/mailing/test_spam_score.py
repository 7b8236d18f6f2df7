"""Every email the service sends, as SpamAssassin scores it with local rules only: the
digest at 5, 10 and 30 papers and the three account emails stay at or under 0.5 points
(5.0 marks spam; a clean message scores about 0).

Needs Debian's `spamassassin`. Without it the test is skipped on a developer's machine and
fails under CI=true, where .ci/run installs it. No network tests (-L), no Bayes and no
auto-learning, and a throwaway home: nothing is learnt from or stored on the machine.
"""

from __future__ import annotations

import email
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import sample_emails

MAX_SCORE = 0.5


@pytest.fixture(scope="module")
def spamassassin() -> str:
    found = shutil.which("spamassassin")
    if found is None:
        reason = "SpamAssassin is not installed (apt-get install spamassassin)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; .ci/run installs it")
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("spamassassin-home")


def score(spamassassin: str, home: Path, raw: bytes) -> tuple[float, dict[str, float]]:
    """The message's score and the rules it hit, each with its points."""
    result = subprocess.run(
        [
            spamassassin,
            "--local",  # no DNS blocklists, no URI lookups, no Razor or Pyzor
            "--nocreate-prefs",
            "--cf=use_bayes 0",
            "--cf=bayes_auto_learn 0",
            # Each rule with its points (X-Spam-Status rounds the total to 0.1).
            "--cf=add_header all Rules _TESTSSCORES(,)_",
        ],
        input=raw,
        capture_output=True,
        env={**os.environ, "HOME": str(home)},
        timeout=120,
        check=True,
    )
    checked = email.message_from_bytes(result.stdout)
    assert checked["X-Spam-Status"], f"SpamAssassin did not check the message: {result.stderr!r}"
    listed = " ".join(str(checked["X-Spam-Rules"]).split())
    rules = {}
    for item in listed.replace(" ", "").split(","):
        name, equals, points = item.partition("=")
        if equals:  # "none" when no rule hit
            rules[name] = float(points)
    return round(sum(rules.values()), 3), rules


def verdict(name: str, total: float, rules: dict[str, float]) -> str:
    hits = ", ".join(f"{rule} {points:+.3f}" for rule, points in sorted(rules.items()))
    return f"{name} scores {total} (at most {MAX_SCORE} allowed): {hits or 'no rules'}"


@pytest.mark.parametrize("count", sample_emails.DIGEST_SIZES)
def test_the_digest_is_not_spam_to_spamassassin(count, spamassassin, home, settings):
    sample_emails.as_production(settings)
    raw = sample_emails.as_sent(sample_emails.digest_email(count))

    total, rules = score(spamassassin, home, raw)

    assert total <= MAX_SCORE, verdict(f"the digest of {count} papers", total, rules)


@pytest.mark.django_db
def test_the_account_emails_are_not_spam_to_spamassassin(spamassassin, home, settings):
    sample_emails.as_production(settings)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    scores = {
        name: score(spamassassin, home, sample_emails.as_sent(message))
        for name, message in sample_emails.account_emails().items()
    }

    assert sorted(scores) == sorted(sample_emails.ACCOUNT_EMAILS)
    failing = [verdict(n, t, r) for n, (t, r) in scores.items() if t > MAX_SCORE]
    assert not failing, "\n".join(failing)

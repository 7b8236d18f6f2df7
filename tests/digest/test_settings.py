"""A bad environment stops start-up with one line naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def manage_check(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DEBUG"}}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=clean | {"VAR_DIR": "/tmp/digest-settings-test"} | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"EMAIL_PROVIDER": "carrier-pigeon"}, "EMAIL_PROVIDER"),
        ({"SITE_URL": "example.com"}, "SITE_URL"),
        ({"DATABASE_URL": "nonsense://"}, "DATABASE_URL"),
        ({"CELERY_BROKER_URL": "amqp:/oops"}, "CELERY_BROKER_URL"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DEBUG": "false", "SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SEND_RATE_PER_SECOND": "fast"}, "SEND_RATE_PER_SECOND"),
        ({"ANYMAIL_WEBHOOK_SECRET": "no-colon"}, "ANYMAIL_WEBHOOK_SECRET"),
    ],
)
def test_a_bad_value_fails_with_one_line_naming_the_variable(env, variable):
    result = manage_check(**env)

    assert result.returncode != 0
    assert variable in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_defaults_start():
    result = manage_check()

    assert result.returncode == 0, result.stderr


def test_production_starts_with_a_real_secret_key():
    result = manage_check(DEBUG="false", SECRET_KEY="x" * 50, ALLOWED_HOSTS="digest.example")

    assert result.returncode == 0, result.stderr

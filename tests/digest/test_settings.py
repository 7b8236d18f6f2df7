"""A bad environment stops start-up with one line naming the variable; unset, the defaults
are safe: DEBUG off, no key but the one given, HTTPS enforced in production."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

KEY = secrets.token_urlsafe(50)
PRODUCTION: dict[str, str] = {
    "DEBUG": "false",
    "SECRET_KEY": KEY,
    "SITE_URL": "https://papers.example.org",
    "ALLOWED_HOSTS": "papers.example.org",
}


def manage(
    *args: str, env_file: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """manage.py in a process of its own, with only the variables given (and no .env)."""
    kept = {"PATH", "HOME", "LANG", "PYTHONPATH"}
    base = {k: v for k, v in os.environ.items() if k in kept}
    base |= {
        "VAR_DIR": "/tmp/digest-settings-test",
        "ENV_FILE": str(env_file) if env_file else "off",
        "SECRET_KEY": KEY,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def shell(code: str, env_file: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return manage("shell", "--no-imports", "-c", code, env_file=env_file, **env)


def manage_check(**env: str) -> subprocess.CompletedProcess[str]:
    return manage("check", env_file=None, **env)


def assert_one_line_naming(result: subprocess.CompletedProcess[str], variable: str) -> None:
    assert result.returncode != 0
    assert variable in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


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
        ({"PROXY_SSL_HEADER": "X-Forwarded-Proto"}, "PROXY_SSL_HEADER"),
        ({"FEED_MAX_BYTES": "lots"}, "FEED_MAX_BYTES"),
        ({"ENV_FILE": "/nowhere/.env"}, "ENV_FILE"),
    ],
)
def test_a_bad_value_fails_with_one_line_naming_the_variable(env, variable):
    assert_one_line_naming(manage_check(**env), variable)


def test_the_defaults_start_with_a_key():
    result = manage_check()

    assert result.returncode == 0, result.stderr


def test_without_any_key_it_refuses_to_start_even_in_development():
    assert_one_line_naming(manage_check(SECRET_KEY="", DEBUG="true"), "SECRET_KEY")


def test_debug_is_off_unless_set():
    result = shell("from django.conf import settings; print(settings.DEBUG)")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("key", ["hunter2", "x" * 49])
def test_debug_off_refuses_a_key_shorter_than_fifty_characters(key):
    result = manage_check(DEBUG="false", SECRET_KEY=key)

    assert_one_line_naming(result, "SECRET_KEY")
    assert "50" in result.stderr


def test_debug_off_refuses_a_long_key_of_one_repeated_character():
    assert_one_line_naming(manage_check(DEBUG="false", SECRET_KEY="x" * 60), "SECRET_KEY")


def test_there_is_no_secret_key_in_the_source():
    source = (ROOT / "digest" / "settings.py").read_text()

    assert "insecure" not in source
    assert 'SECRET_KEY = "' not in source and "SECRET_KEY = '" not in source


def test_production_starts_with_a_real_secret_key():
    result = manage_check(DEBUG="false", SECRET_KEY=KEY, ALLOWED_HOSTS="digest.example")

    assert result.returncode == 0, result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env_file=None, **PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_on_https_turns_on_hsts_secure_cookies_and_the_ssl_redirect():
    code = (
        "from django.conf import settings as s; print(s.SECURE_HSTS_SECONDS, "
        "s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_PROXY_SSL_HEADER)"
    )
    result = shell(code, None, PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO", **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "31536000",
        "True",
        "True",
        "True",
        "('HTTP_X_FORWARDED_PROTO',",
        "'https')",
    ]


def test_the_proxy_header_is_trusted_only_when_named():
    code = "from django.conf import settings as s; print(s.SECURE_PROXY_SSL_HEADER)"

    result = shell(code, None, **PRODUCTION)

    assert result.stdout.strip() == "None"


def test_a_development_env_file_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "DEBUG=true\nSECRET_KEY=short-dev-key\nSITE_URL=http://from-the-file:8000\n"
    )
    code = "from django.conf import settings as s; print(s.DEBUG, s.SECRET_KEY, s.SITE_URL)"

    result = shell(code, env_file=env_file, SECRET_KEY="", SITE_URL="http://e:1")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "short-dev-key", "http://e:1"]


def test_migrate_against_a_database_that_is_down_says_so_in_one_line():
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    result = manage("migrate", DATABASE_URL="postgres://digest:s3cret@127.0.0.1:1/digest")

    assert_one_line_naming(result, "DATABASE_URL")
    assert "s3cret" not in result.stderr


def test_a_sqlite_file_in_a_missing_folder_says_so_in_one_line():
    result = manage("migrate", DATABASE_URL="sqlite:////nowhere/at/all/db.sqlite3")

    assert_one_line_naming(result, "DATABASE_URL")
    assert "/nowhere/at/all" in result.stderr
    assert not Path("/nowhere").exists()


def test_a_var_dir_that_cannot_be_made_says_so_in_one_line():
    assert_one_line_naming(manage("migrate", VAR_DIR="/proc/no-such-place"), "VAR_DIR")

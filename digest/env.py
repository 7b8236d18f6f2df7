"""Typed readers for settings that come from the environment.

Each helper returns a safe default when the variable is unset and raises
ImproperlyConfigured, naming the variable, when it is set to something unusable,
so a bad deployment fails at start-up with one clear line instead of later.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from dotenv import dotenv_values

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    """The variable's value; unset or blank gives the default."""
    return os.environ.get(name, "").strip() or default


def env_path(name: str, default: Path, *, base: Path) -> Path:
    """A path; a relative one is taken from `base` (the project), not the working directory."""
    path = Path(env_str(name, str(default)))
    return path if path.is_absolute() else base / path


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_url(name: str, default: str, *, schemes: tuple[str, ...]) -> str:
    """A URL with one of `schemes` and a host; the trailing slash is dropped."""
    value = env_str(name, default)
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        allowed = " or ".join(f"{s}://" for s in schemes)
        raise ImproperlyConfigured(f"{name} must be a URL starting with {allowed}, not {value!r}")
    return value.rstrip("/")


def env_choice(name: str, default: str, choices: list[str] | tuple[str, ...]) -> str:
    value = env_str(name, default).lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def load_env_file(default: Path) -> Path | None:
    """Read the variables of an env file that the environment does not set already.

    `ENV_FILE` names the file (default: `.env` in the project, read when it exists);
    `ENV_FILE=off` reads none, as the tests do. Returns the file read, if any.
    """
    raw = os.environ.get("ENV_FILE", "").strip()
    if raw.lower() in {"off", "none", "false", "0"}:
        return None
    path = Path(raw) if raw else default
    if not path.is_file():
        if raw:
            raise ImproperlyConfigured(f"ENV_FILE must name a file, and {raw!r} is none")
        return None
    # Blank counts as unset here as everywhere in these settings.
    for name, value in dotenv_values(path).items():
        if value is not None and not os.environ.get(name, "").strip():
            os.environ[name] = value
    return path

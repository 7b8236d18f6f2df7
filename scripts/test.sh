#!/usr/bin/env bash
# The whole suite, on PostgreSQL whenever one can be had.
#   DATABASE_URL set            -> that database
#   PostgreSQL binaries present -> a throwaway server for this run
#   neither                     -> SQLite, and we say so (CI never takes this path)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

cleanup() { [ -n "${PG_THROWAWAY_DIR:-}" ] && scripts/postgres.sh stop "$PG_THROWAWAY_DIR"; true; }
trap cleanup EXIT

if [ -z "${DATABASE_URL:-}" ]; then
  if scripts/postgres.sh available; then
    eval "$(scripts/postgres.sh start)"
    echo "make test: PostgreSQL throwaway server at ${DATABASE_URL}"
  elif [ "${CI:-}" = true ]; then
    echo "make test: CI needs PostgreSQL but none was found (.ci/run installs it)" >&2
    exit 1
  else
    echo "make test: no PostgreSQL found, running on SQLite (apt-get install postgresql for the real thing)"
  fi
else
  echo "make test: using DATABASE_URL=${DATABASE_URL%%\?*}"
fi
export DATABASE_URL="${DATABASE_URL:-}"
[ -z "$DATABASE_URL" ] && unset DATABASE_URL

$PY -m ruff check .
$PY -m ruff format --check .
# pytest's exit code passes through as is: 5 (no tests collected) fails the run.
$PY -m pytest "$@"

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

# axe-core for the accessibility test, from the npm registry as package-lock.json pins it
# (one package, no install scripts, no browser: the test drives Debian's chromium).
AXE=tests/browser/axe
if command -v npm >/dev/null 2>&1; then
  if [ ! -f "$AXE/node_modules/axe-core/axe.min.js" ] \
     || [ "$AXE/package-lock.json" -nt "$AXE/node_modules/.package-lock.json" ]; then
    echo "make test: npm ci in $AXE (axe-core)"
    npm ci --prefix "$AXE" --ignore-scripts --no-audit --no-fund --loglevel=error
  fi
elif [ "${CI:-}" = true ]; then
  echo "make test: CI needs npm for axe-core but none was found (.ci/run installs it)" >&2
  exit 1
else
  echo "make test: no npm found, the accessibility test will be skipped (apt-get install npm)"
fi

$PY -m ruff check .
$PY -m ruff format --check .
$PY -m mypy
# pytest's exit code passes through as is: 5 (no tests collected) fails the run.
$PY -m pytest "$@"

# SQLite is the embedded default (make demo, make bench) and has write paths of its own
# (digest/bulk.py, the send record): the tests of those run on it too, in a full run.
if [ -n "${DATABASE_URL:-}" ] && [ "$#" -eq 0 ]; then
  echo "make test: the SQLite write paths, on SQLite"
  env -u DATABASE_URL $PY -m pytest -q -p no:randomly \
    tests/digest/test_bulk_writes.py tests/digest/papers/test_store_identity.py \
    tests/digest/papers/test_topic_tagging.py tests/digest/mailing/test_dispatch.py \
    tests/digest/mailing/test_send_digests.py tests/digest/mailing/test_next_due.py
fi

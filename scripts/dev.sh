#!/usr/bin/env bash
# make dev: the whole service on this machine, as production runs it. A local Redis
# (scripts/redis.sh) and PostgreSQL (scripts/postgres.sh, or your DATABASE_URL), then the
# Procfile under honcho: web (gunicorn), one Celery worker and one beat. Ctrl-C stops all.
#
#   DATABASE_URL=...          use this database (kept) instead of a throwaway PostgreSQL
#   DEV_PORT=8000             where gunicorn listens (127.0.0.1 only)
#   REDIS_PORT=...            Redis port (default: a free one)
#   DJANGO_SUPERUSER_USERNAME, DJANGO_SUPERUSER_PASSWORD, DJANGO_SUPERUSER_EMAIL
#                             when the password is set, that admin user is created
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
PY=.venv/bin/python
DEV_PORT=${DEV_PORT:-8000}
export DEV_PORT

honcho_pid=""
stop_all() {
  # Runs on every exit: the servers were started daemonized, outside honcho's reach.
  if [ -n "$honcho_pid" ] && kill -0 "$honcho_pid" 2>/dev/null; then
    kill -TERM "$honcho_pid" 2>/dev/null || true
    wait "$honcho_pid" 2>/dev/null || true
  fi
  if [ -n "${REDIS_THROWAWAY_DIR:-}" ]; then scripts/redis.sh stop "$REDIS_THROWAWAY_DIR"; fi
  if [ -n "${PG_THROWAWAY_DIR:-}" ]; then scripts/postgres.sh stop "$PG_THROWAWAY_DIR"; fi
  echo "make dev: stopped"
}
trap stop_all EXIT
# Turn Ctrl-C and TERM into an ordinary exit, so stop_all runs once, right away.
trap 'exit 130' INT TERM

if ! python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', $DEV_PORT))" 2>/dev/null; then
  echo "make dev: port $DEV_PORT is taken; stop what uses it or set DEV_PORT" >&2
  exit 1
fi

if ! scripts/redis.sh available; then
  echo "make dev: redis-server not found (apt-get install redis-server)" >&2
  exit 1
fi
eval "$(scripts/redis.sh start)"

if [ -n "${DATABASE_URL:-}" ]; then
  echo "make dev: using DATABASE_URL=${DATABASE_URL%%\?*}"
elif scripts/postgres.sh available; then
  # A throwaway server: every `make dev` starts from an empty, freshly migrated database.
  eval "$(scripts/postgres.sh start)"
else
  echo "make dev: PostgreSQL not found (apt-get install postgresql), or set DATABASE_URL" >&2
  exit 1
fi
export DATABASE_URL CELERY_BROKER_URL
export SITE_URL=${SITE_URL:-http://127.0.0.1:$DEV_PORT}

$PY manage.py migrate --noinput -v 0
# Something to look at: the seed Daily Papers page (no network needed).
$PY manage.py ingest seeds/daily_papers_2025-11-20.txt
if [ -n "${DJANGO_SUPERUSER_PASSWORD:-}" ]; then
  DJANGO_SUPERUSER_USERNAME=${DJANGO_SUPERUSER_USERNAME:-admin} \
  DJANGO_SUPERUSER_EMAIL=${DJANGO_SUPERUSER_EMAIL:-admin@localhost} \
    $PY manage.py createsuperuser --noinput \
    || echo "make dev: no admin user created (it may exist already)"
fi

url=http://127.0.0.1:$DEV_PORT
cat <<EOF

make dev: web, worker and beat are starting
  site       $url/
  admin      $url/admin/
  dashboard  $url/admin/dashboard/
  healthz    $url/healthz
  database   ${DATABASE_URL}
  broker     ${CELERY_BROKER_URL}
  email      ${EMAIL_PROVIDER:-outbox} (outbox: one .eml per message in var/outbox/)
EOF
if [ -z "${DJANGO_SUPERUSER_PASSWORD:-}" ]; then
  echo "  an admin:  DATABASE_URL=$DATABASE_URL $PY manage.py createsuperuser"
fi
echo "Ctrl-C stops web, worker, beat, Redis and PostgreSQL."
echo

# In the background and waited for, so that a TERM to this script reaches stop_all at once.
honcho start -f Procfile &
honcho_pid=$!
wait "$honcho_pid"

#!/bin/sh
# The image's entry point: runs the command it is given (gunicorn by default, celery, or
# python manage.py ...). With no DATABASE_URL the site keeps SQLite under VAR_DIR, as
# `make demo` does, and brings its tables up to date before serving; with PostgreSQL,
# compose.yaml's one-off `migrate` service does that, once, before any process starts.
set -e
if [ "$1" = "gunicorn" ] && [ -z "${DATABASE_URL:-}" ]; then
  python manage.py migrate --noinput -v 0
fi
exec "$@"

#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests: initdb into a temporary directory, listen on a
# free local port, print the DATABASE_URL. Data lives only as long as the server.
#
#   eval "$(scripts/postgres.sh start)"   # exports DATABASE_URL and PG_THROWAWAY_DIR
#   scripts/postgres.sh stop "$PG_THROWAWAY_DIR"
set -euo pipefail

find_bin() {
  local name=$1
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
  local found
  found=$(ls -1d /usr/lib/postgresql/*/bin/"$name" 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$found" ] && echo "$found"
}

as_owner() {
  # PostgreSQL refuses to run as root: use the postgres system user when we are root.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "${1:-}" in
  available)
    [ -n "$(find_bin initdb)" ] && [ -n "$(find_bin pg_ctl)" ]
    ;;
  start)
    initdb=$(find_bin initdb); pg_ctl=$(find_bin pg_ctl)
    if [ -z "$initdb" ] || [ -z "$pg_ctl" ]; then
      echo "postgres.sh: initdb/pg_ctl not found (apt-get install postgresql)" >&2; exit 1
    fi
    dir=$(mktemp -d /tmp/pg-throwaway.XXXXXX)
    port=$(free_port)
    if [ "$(id -u)" = 0 ]; then
      id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
      chown postgres "$dir"
    fi
    as_owner "$initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    # fsync off: a throwaway server trades durability for speed.
    as_owner "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo "export PG_THROWAWAY_DIR=$dir"
    echo "export DATABASE_URL=postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    dir=${2:?usage: postgres.sh stop DIR}
    pg_ctl=$(find_bin pg_ctl)
    as_owner "$pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 available|start|stop DIR" >&2; exit 2
    ;;
esac

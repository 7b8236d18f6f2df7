#!/usr/bin/env bash
# A throwaway Redis for development and tests: no persistence, a temporary directory, a
# local port (REDIS_PORT, else a free one), daemonized. Prints what to export.
#
#   eval "$(scripts/redis.sh start)"   # exports CELERY_BROKER_URL and REDIS_THROWAWAY_DIR
#   scripts/redis.sh stop "$REDIS_THROWAWAY_DIR"
set -euo pipefail

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "${1:-}" in
  available)
    command -v redis-server >/dev/null 2>&1
    ;;
  start)
    if ! command -v redis-server >/dev/null 2>&1; then
      echo "redis.sh: redis-server not found (apt-get install redis-server)" >&2; exit 1
    fi
    dir=$(mktemp -d /tmp/redis-throwaway.XXXXXX)
    port=${REDIS_PORT:-$(free_port)}
    # --save "" and no AOF: a broker for one session keeps nothing on disk.
    redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --dir "$dir" \
      --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
      || { cat "$dir/redis.log" >&2 2>/dev/null; exit 1; }
    # Daemonizing returns before the port is open: wait for a PONG (5 s at most).
    for _ in $(seq 50); do
      [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ] && break
      sleep 0.1
    done
    if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" != PONG ]; then
      echo "redis.sh: Redis did not answer on port $port" >&2
      cat "$dir/redis.log" >&2 2>/dev/null || true
      exit 1
    fi
    echo "export REDIS_THROWAWAY_DIR=$dir"
    echo "export CELERY_BROKER_URL=redis://127.0.0.1:$port/0"
    ;;
  stop)
    dir=${2:?usage: redis.sh stop DIR}
    if [ -f "$dir/redis.pid" ]; then
      pid=$(cat "$dir/redis.pid")
      kill "$pid" 2>/dev/null || true
      # Wait for it to go, so the port is free when we return.
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 available|start|stop DIR" >&2; exit 2
    ;;
esac

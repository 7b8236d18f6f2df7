#!/usr/bin/env bash
# make image-test: builds the Docker image from this checkout and runs compose.yaml's whole
# stack through a reader's journey, over HTTP, across the containers (tests/image/).
#
# Nothing can be pulled from an image registry here, so it makes its own Debian base with
# debootstrap (cached in IMAGE_TEST_CACHE) and builds the image on it (BASE_IMAGE), and
# tests/image/compose.override.yaml builds PostgreSQL, Redis and an SMTP server that counts
# what it receives from the same base. It runs its own dockerd (its own socket and data
# root, the vfs storage driver), and stops it and removes the containers, volumes and the
# app image it made when done; the base and the three service images stay cached.
#
# Needs root. Installs docker.io, docker-compose and debootstrap with apt when missing.
# Without a container engine it skips, saying why, unless CI=true: then it fails.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
CACHE=${IMAGE_TEST_CACHE:-/var/cache/paper-digest-image-test}
BASE=paper-digest-test/base:bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

say() { echo "image-test: $*"; }
# Why a run failed, said again after the services' logs, so the last lines of a CI log tell.
fail() { say "FAILED: $*" | tee -a "$RUN_DIR/why" >&2; exit 1; }
# A step's log kept in a file: its last lines go with the reason.
fail_log() { tail -n 30 "$1" | tee -a "$RUN_DIR/why" >&2; fail "$2"; }
cannot() {
  if [ "${CI:-}" = "true" ]; then say "FAILED: $*" >&2; exit 1; fi
  say "skipped: $*"; exit 0
}

[ "$(id -u)" = 0 ] || cannot "it runs its own dockerd, which needs root"
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || cannot "no container engine (${need[*]} missing) and no apt-get to install it"
  say "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

run_id=$$
RUN_DIR=$(mktemp -d /tmp/paper-digest-image-test.XXXXXX)
SRC=$RUN_DIR/src
APP_IMAGE=paper-digest-test/app:$run_id
export DOCKER_HOST=unix://$RUN_DIR/docker.sock
# With the vfs driver, creating a container copies its image's whole filesystem: on a busy
# machine that outlasts docker-compose's 60 s wait for an answer, and `up` gives up.
export COMPOSE_HTTP_TIMEOUT=600 DOCKER_CLIENT_TIMEOUT=600
COMPOSE="docker-compose -p pdimage$run_id --project-directory $SRC -f $SRC/compose.yaml -f $SRC/tests/image/compose.override.yaml"
dockerd_pid=""

cleanup() {
  status=$?
  if [ -n "$dockerd_pid" ]; then
    if [ $status -ne 0 ] && [ -f "$SRC/.env" ]; then
      say "what the services logged last:"
      $COMPOSE logs --no-color --tail=60 2>&1 | sed 's/^/  /' || true
    fi
    if [ -s "$RUN_DIR/why" ]; then
      say "why it failed:"
      sed 's/^/  /' "$RUN_DIR/why"
    fi
    $COMPOSE down -v --remove-orphans >/dev/null 2>&1 || true
    docker rm -f "pdimage$run_id-sqlite" >/dev/null 2>&1 || true
    docker image rm -f "$APP_IMAGE" >/dev/null 2>&1 || true
    docker image prune -f >/dev/null 2>&1 || true
    kill "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 1; done
    kill -9 "$dockerd_pid" 2>/dev/null || true
  fi
  rm -rf "$RUN_DIR"
  exit $status
}
trap cleanup EXIT

# --- a container engine of our own ---------------------------------------------------------------
mkdir -p "$CACHE"
# One run at a time on a data root: a second dockerd waits forever on the first one's
# database.
exec 9>"$CACHE/lock"
flock -w 1800 9 || cannot "another image test holds $CACHE/lock"
dockerd --data-root "$CACHE/docker" --storage-driver=vfs --exec-root "$RUN_DIR/exec" \
  --pidfile "$RUN_DIR/dockerd.pid" -H "$DOCKER_HOST" >"$RUN_DIR/dockerd.log" 2>&1 9>&- &
dockerd_pid=$!
for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
if ! docker info >/dev/null 2>&1; then
  tail -5 "$RUN_DIR/dockerd.log" >&2
  cannot "dockerd did not start (see above)"
fi

# --- the base: Debian bookworm with Python 3.11, as python:3.11-slim-bookworm has ----------------
if ! docker image inspect "$BASE" >/dev/null 2>&1; then
  if [ ! -s "$CACHE/base-bookworm.tar" ]; then
    say "making the base with debootstrap (cached in $CACHE)"
    rm -rf "$CACHE/rootfs"
    debootstrap --variant=minbase --include=python3,python3-venv,python-is-python3,ca-certificates,passwd \
      bookworm "$CACHE/rootfs" "$MIRROR" >"$RUN_DIR/debootstrap.log" 2>&1 \
      || fail_log "$RUN_DIR/debootstrap.log" "debootstrap could not make the base"
    # HTTPS from the containers is verified against this machine's certificates; kept
    # where update-ca-certificates finds them again when a later layer installs packages.
    cp /etc/ssl/certs/ca-certificates.crt "$CACHE/rootfs/etc/ssl/certs/ca-certificates.crt"
    cp /etc/ssl/certs/ca-certificates.crt "$CACHE/rootfs/usr/local/share/ca-certificates/host.crt"
    rm -rf "$CACHE/rootfs/var/lib/apt/lists/"* "$CACHE/rootfs/var/cache/apt/"*.bin
    tar -C "$CACHE/rootfs" -cf "$CACHE/base-bookworm.tar.tmp" .
    mv "$CACHE/base-bookworm.tar.tmp" "$CACHE/base-bookworm.tar"
    rm -rf "$CACHE/rootfs"
  fi
  docker import "$CACHE/base-bookworm.tar" "$BASE" >/dev/null
fi

# --- this checkout, as a self-hoster has it, with the .env they write ----------------------------
mkdir -p "$SRC"
git ls-files -co --exclude-standard -z | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -C "$SRC" -xf -
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
WEB_PORT=$(free_port)
SMTP_API_PORT=$(free_port)
secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(50))'; }
SECRET=$(secret)
cp .env.example "$SRC/.env"
cat >>"$SRC/.env" <<ENV

# --- the image test's values (what README's three edits and a provider choice set) ---
SECRET_KEY=$SECRET
POSTGRES_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
SITE_URL=http://127.0.0.1:$WEB_PORT
WEB_PORT=$WEB_PORT
EMAIL_PROVIDER=smtp
EMAIL_HOST=smtp
EMAIL_PORT=1025
EMAIL_USE_TLS=false
APP_IMAGE=$APP_IMAGE
BASE_IMAGE=$BASE
SMTP_API_PORT=$SMTP_API_PORT
ENV

# --- the image ---------------------------------------------------------------------------------------
say "building the image on $BASE"
build_started=$(date +%s)
docker build -q --build-arg BASE_IMAGE="$BASE" -t "$APP_IMAGE" "$SRC" >"$RUN_DIR/build.log" 2>&1 \
  || fail_log "$RUN_DIR/build.log" "the image did not build"
size=$(docker image inspect -f '{{.Size}}' "$APP_IMAGE")
say "built in $(( $(date +%s) - build_started )) s: $(( size / 1000000 )) MB"
[ "$(docker image inspect -f '{{.Config.User}}' "$APP_IMAGE")" = "app" ] || fail "the image does not run as its user"
[ "$(docker image inspect -f '{{if .Config.Healthcheck}}yes{{end}}' "$APP_IMAGE")" = "yes" ] || fail "no HEALTHCHECK"
docker run --rm -e DEBUG=false -e SECRET_KEY="$SECRET" -e SITE_URL=https://papers.example.org \
  "$APP_IMAGE" python manage.py check --deploy --fail-level WARNING
say "check --deploy: no warning with production settings"

# The default command alone: SQLite under VAR_DIR, migrated at start, /healthz answering.
docker run -d --name "pdimage$run_id-sqlite" -e DEBUG=false -e SECRET_KEY="$SECRET" \
  -e ALLOWED_HOSTS=127.0.0.1,localhost "$APP_IMAGE" >/dev/null
probe='import sys, urllib.request; sys.exit(urllib.request.urlopen("http://127.0.0.1:8000/healthz", timeout=4).status != 200)'
for _ in $(seq 60); do docker exec "pdimage$run_id-sqlite" python -c "$probe" 2>/dev/null && break; sleep 1; done
docker exec "pdimage$run_id-sqlite" python -c "$probe"
docker exec "pdimage$run_id-sqlite" test -s /app/var/db.sqlite3
docker rm -f "pdimage$run_id-sqlite" >/dev/null
say "the default command serves /healthz on SQLite under VAR_DIR"

# --- the stack ---------------------------------------------------------------------------------------
$COMPOSE config -q
$COMPOSE build -q postgres redis smtp >"$RUN_DIR/services.log" 2>&1 \
  || fail_log "$RUN_DIR/services.log" "the test's postgres, redis or smtp image did not build"
$COMPOSE up -d --no-build || fail "the stack did not start (above)"
site=http://127.0.0.1:$WEB_PORT
for _ in $(seq 120); do
  python3 -c "import urllib.request; urllib.request.urlopen('$site/healthz', timeout=2)" 2>/dev/null && break
  sleep 1
done
migrate=$($COMPOSE ps -q migrate)
[ "$(docker inspect -f '{{.State.ExitCode}} {{.State.Status}}' "$migrate")" = "0 exited" ] \
  || fail "migrate did not complete"
say "the stack is up: migrate completed, web answers"

python3 tests/image/journey.py --site "$site" --sink "http://127.0.0.1:$SMTP_API_PORT" --compose "$COMPOSE" \
  2> >(tee -a "$RUN_DIR/why" >&2) || fail "the reader's journey (above)"

# --- what an operator checks -------------------------------------------------------------------------
for service in web worker beat; do
  uids=$($COMPOSE exec -T "$service" sh -c 'cat /proc/[0-9]*/status 2>/dev/null' | awk '/^Uid:/ {print $2}' | sort -u | tr '\n' ' ')
  case " $uids" in *" 0 "*|"") fail "$service runs processes as root (uids: $uids)";; esac
  say "$service runs as uid $uids"
done
python3 - "$site" <<'PY' 2> >(tee -a "$RUN_DIR/why" >&2) || fail "static files or /healthz (above)"
import re, sys, urllib.request
site = sys.argv[1]
home = urllib.request.urlopen(site + "/", timeout=10).read().decode()
paths = re.findall(r'(?:href|src)="(/static/[^"]+)"', home) + ["/static/admin/css/base.css"]
for path in paths:
    with urllib.request.urlopen(site + path, timeout=10) as r:
        assert r.status == 200, (path, r.status)
        print(f"image-test: {path}: {r.status} {r.headers['Content-Type']}, {r.headers['Cache-Control']}")
with urllib.request.urlopen(site + "/healthz", timeout=10) as r:
    body = r.read().decode()
    assert r.status == 200 and '"status": "ok"' in body, body
    print(f"image-test: /healthz: {r.status} {body}")
PY
web=$($COMPOSE ps -q web)
for _ in $(seq 90); do
  [ "$(docker inspect -f '{{.State.Health.Status}}' "$web")" = "healthy" ] && break
  sleep 1
done
[ "$(docker inspect -f '{{.State.Health.Status}}' "$web")" = "healthy" ] \
  || fail "web's HEALTHCHECK says $(docker inspect -f '{{.State.Health.Status}}' "$web")"
say "web's HEALTHCHECK: healthy"
say "ok in $(( $(date +%s) - started )) s; image $(( size / 1000000 )) MB"

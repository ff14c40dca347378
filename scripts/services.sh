#!/usr/bin/env bash
# Start or stop the real PostgreSQL and Redis servers the tests use, on 127.0.0.1 only.
#   scripts/services.sh start   -> installs what is missing (apt), starts both, writes .tmp/services.env
#   scripts/services.sh stop    -> stops both
# Tests read SIGNLEDGER_TEST_POSTGRES_URL and SIGNLEDGER_TEST_REDIS_URL (source .tmp/services.env).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STATE=/tmp/signledger-services
PG_PORT=${SIGNLEDGER_PG_PORT:-54329}
REDIS_PORT=${SIGNLEDGER_REDIS_PORT:-63799}
mkdir -p "$ROOT/.tmp"

find_pg_bin() {
  for d in /usr/local/bin /usr/lib/postgresql/*/bin; do
    if [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
  done
  return 1
}

ensure_packages() {
  local need=()
  find_pg_bin >/dev/null || need+=(postgresql)
  command -v redis-server >/dev/null || need+=(redis-server)
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing ${need[*]} with apt-get" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
}

write_env() {
  cat > "$ROOT/.tmp/services.env" <<ENV
export SIGNLEDGER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$PG_PORT/postgres
export SIGNLEDGER_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT
ENV
}

start() {
  ensure_packages
  local PGBIN; PGBIN=$(find_pg_bin)
  mkdir -p "$STATE"
  # Already running (another test run started them): reuse, do not restart.
  if [ -f "$STATE/pg/postmaster.pid" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$STATE/pg" status >/dev/null 2>&1 \
     && redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    write_env
    touch "$ROOT/.tmp/services.reused"
    echo "reusing postgres on 127.0.0.1:$PG_PORT and redis on 127.0.0.1:$REDIS_PORT" >&2
    return 0
  fi
  # PostgreSQL refuses to run as root: run it as the postgres user, data and socket in a temp dir.
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  if [ -f "$STATE/pg/postmaster.pid" ]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$STATE/pg" -m fast stop >/dev/null 2>&1 || true
  fi
  rm -rf "$STATE/pg" "$STATE/pgsock"
  mkdir -p "$STATE/pg" "$STATE/pgsock"
  touch "$STATE/pg.log"
  chown -R postgres "$STATE/pg" "$STATE/pgsock" "$STATE/pg.log"
  chmod 755 "$STATE"
  runuser -u postgres -- "$PGBIN/initdb" -D "$STATE/pg" -U postgres --auth=trust -E UTF8 >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$STATE/pg" -l "$STATE/pg.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $STATE/pgsock -c fsync=on -c max_connections=200 -c shared_buffers=256MB" start >/dev/null
  # Redis as an audit log should run it: AOF with an fsync per write (so an acknowledged append is
  # on disk, like SQLite and PostgreSQL here), no RDB snapshots; bound to loopback.
  if [ -f "$STATE/redis.pid" ]; then kill "$(cat "$STATE/redis.pid")" 2>/dev/null || true; sleep 0.3; fi
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --pidfile "$STATE/redis.pid" \
    --save '' --appendonly yes --appendfsync always --logfile "$STATE/redis.log" --dir "$STATE"
  for _ in $(seq 1 50); do
    if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then break; fi
    sleep 0.1
  done
  write_env
  rm -f "$ROOT/.tmp/services.reused"
  echo "postgres on 127.0.0.1:$PG_PORT, redis on 127.0.0.1:$REDIS_PORT (env in .tmp/services.env)" >&2
}

stop() {
  local PGBIN; PGBIN=$(find_pg_bin || true)
  if [ -n "$PGBIN" ] && [ -f "$STATE/pg/postmaster.pid" ]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$STATE/pg" -m fast stop >/dev/null 2>&1 || true
  fi
  if [ -f "$STATE/redis.pid" ]; then kill "$(cat "$STATE/redis.pid")" 2>/dev/null || true; rm -f "$STATE/redis.pid"; fi
  rm -f "$ROOT/.tmp/services.env"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac

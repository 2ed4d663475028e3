#!/usr/bin/env bash
# A throwaway PostgreSQL server of the project's own: `scripts/pg.sh start|stop|dsn NAME`.
# NAME separates instances (test, demo, bench) so `make test` never touches the demo's data.
# The server refuses to run as root, so as root the data dir belongs to the `postgres` OS user.
set -euo pipefail
cmd=${1:?usage: pg.sh start|stop|dsn NAME}
name=${2:-test}
root=$(cd "$(dirname "$0")/.." && pwd)
base="$root/.local/pg/$name"

find_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$bin" ] || [ ! -x "$bin/pg_ctl" ]; then
    echo "pg.sh: PostgreSQL server binaries not found; installing the Debian package 'postgresql'" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  echo "$bin"
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

case "$cmd" in
  start)
    bin=$(find_bin)
    mkdir -p "$base"
    if [ "$(id -u)" = 0 ]; then
      id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
      chown postgres "$base"
      if ! runuser -u postgres -- test -w "$base"; then
        echo "pg.sh: user postgres cannot reach $base (a parent folder is closed to it)." >&2
        echo "       Open the path (chmod o+x on each parent) or clone the project elsewhere." >&2
        exit 1
      fi
    fi
    if [ -f "$base/data/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$base/data" status >/dev/null 2>&1; then
      echo "postgresql://postgres@127.0.0.1:$(cat "$base/port")/postgres"
      exit 0
    fi
    if [ ! -f "$base/data/PG_VERSION" ]; then
      rm -rf "$base/data"
      as_owner "$bin/initdb" -D "$base/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$base/initdb.log" 2>&1 \
        || { cat "$base/initdb.log" >&2; exit 1; }
    fi
    port=$(free_port)
    echo "$port" >"$base/port"
    extra=""
    # Durability settings off only for the test and bench instances: their data is thrown away.
    [ "$name" != demo ] && extra="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    as_owner "$bin/pg_ctl" -D "$base/data" -l "$base/server.log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $base/data -c max_connections=200 $extra" start >/dev/null \
      || { tail -20 "$base/server.log" >&2; exit 1; }
    echo "postgresql://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    [ -f "$base/data/postmaster.pid" ] || exit 0
    bin=$(find_bin)
    as_owner "$bin/pg_ctl" -D "$base/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  dsn)
    [ -f "$base/port" ] || { echo "pg.sh: instance '$name' was never started" >&2; exit 1; }
    echo "postgresql://postgres@127.0.0.1:$(cat "$base/port")/postgres"
    ;;
  *)
    echo "usage: pg.sh start|stop|dsn NAME" >&2; exit 2 ;;
esac

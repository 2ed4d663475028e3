#!/usr/bin/env bash
# A throwaway PostgreSQL server of the project's own: `scripts/pg.sh start|stop|dsn NAME`.
# NAME separates instances (test, demo, bench) so `make test` never touches the demo's data.
# The server refuses to run as root, so as root the data dir belongs to the `postgres` OS user.
# Every login, over TCP or the socket, needs a password (scram-sha-256): the superuser's is generated
# once per instance into $base/password (readable by its owner only) and is part of the printed DSN.
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

dsn() {
  echo "postgresql://postgres:$(cat "$base/password")@127.0.0.1:$1/postgres"
}

# pg_hba.conf of the instance: password logins only, local socket and loopback.
write_hba() {
  as_owner tee "$base/data/pg_hba.conf" >/dev/null <<'HBA'
local all all scram-sha-256
host  all all 127.0.0.1/32 scram-sha-256
host  all all ::1/128 scram-sha-256
HBA
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
    if [ -f "$base/password" ] && [ -f "$base/data/postmaster.pid" ] \
        && as_owner "$bin/pg_ctl" -D "$base/data" status >/dev/null 2>&1; then
      dsn "$(cat "$base/port")"
      exit 0
    fi
    # A server of an older pg.sh (trust authentication) is restarted with a password.
    as_owner "$bin/pg_ctl" -D "$base/data" -m fast -w stop >/dev/null 2>&1 || true
    if [ ! -f "$base/password" ]; then
      (umask 077 && python3 -c 'import secrets; print(secrets.token_hex(16))' >"$base/password.new")
      [ "$(id -u)" = 0 ] && chown postgres "$base/password.new"
      if [ -f "$base/data/PG_VERSION" ]; then
        echo "ALTER ROLE postgres PASSWORD '$(cat "$base/password.new")'" \
          | as_owner "$bin/postgres" --single -D "$base/data" postgres >"$base/password.log" 2>&1 \
          || { cat "$base/password.log" >&2; exit 1; }
      fi
      mv "$base/password.new" "$base/password"
    fi
    if [ ! -f "$base/data/PG_VERSION" ]; then
      rm -rf "$base/data"
      as_owner "$bin/initdb" -D "$base/data" -U postgres --auth=scram-sha-256 --pwfile="$base/password" \
        --encoding=UTF8 --locale=C.UTF-8 >"$base/initdb.log" 2>&1 \
        || { cat "$base/initdb.log" >&2; exit 1; }
    fi
    write_hba
    port=$(free_port)
    echo "$port" >"$base/port"
    extra=""
    # Durability settings off only for the test and bench instances: their data is thrown away.
    [ "$name" != demo ] && extra="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    # More server settings for one start, e.g. the TLS test's "-c ssl=on -c ssl_cert_file=...".
    extra="$extra ${PG_SERVER_OPTIONS:-}"
    as_owner "$bin/pg_ctl" -D "$base/data" -l "$base/server.log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $base/data -c max_connections=200 $extra" start >/dev/null \
      || { tail -20 "$base/server.log" >&2; exit 1; }
    dsn "$port"
    ;;
  stop)
    [ -f "$base/data/postmaster.pid" ] || exit 0
    bin=$(find_bin)
    as_owner "$bin/pg_ctl" -D "$base/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  dsn)
    [ -f "$base/port" ] && [ -f "$base/password" ] || { echo "pg.sh: instance '$name' was never started" >&2; exit 1; }
    dsn "$(cat "$base/port")"
    ;;
  *)
    echo "usage: pg.sh start|stop|dsn NAME" >&2; exit 2 ;;
esac

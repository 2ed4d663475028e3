#!/usr/bin/env bash
# A throwaway Redis of the project's own, the Celery broker of `make airflow EXECUTOR=celery` and of the
# distributed tests: `scripts/redis.sh start|stop|url NAME`. Like scripts/pg.sh, it installs Debian's
# `redis-server` when missing. Nothing is persisted: a broker's queue is rebuilt by the scheduler.
set -euo pipefail
cmd=${1:?usage: redis.sh start|stop|url NAME}
name=${2:-demo}
root=$(cd "$(dirname "$0")/.." && pwd)
base="$root/.local/redis/$name"

find_server() {
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "redis.sh: redis-server not found; installing the Debian package 'redis-server'" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq redis-server >&2
  fi
  command -v redis-server
}

alive() {
  [ -f "$base/redis.pid" ] && kill -0 "$(cat "$base/redis.pid")" 2>/dev/null
}

case "$cmd" in
  start)
    server=$(find_server)
    mkdir -p "$base"
    if alive; then
      echo "redis://127.0.0.1:$(cat "$base/port")/0"
      exit 0
    fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    echo "$port" >"$base/port"
    "$server" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
      --pidfile "$base/redis.pid" --logfile "$base/redis.log" --dir "$base"
    for _ in $(seq 1 50); do
      alive && python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
      sleep 0.1
    done
    alive || { tail -20 "$base/redis.log" >&2; exit 1; }
    echo "redis://127.0.0.1:$port/0"
    ;;
  stop)
    if alive; then
      pid=$(cat "$base/redis.pid")
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$base/redis.pid"
    ;;
  url)
    alive || { echo "redis.sh: instance '$name' is not running" >&2; exit 1; }
    echo "redis://127.0.0.1:$(cat "$base/port")/0"
    ;;
  *)
    echo "usage: redis.sh start|stop|url NAME" >&2; exit 2 ;;
esac

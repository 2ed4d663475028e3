#!/usr/bin/env bash
# `make stop`: stops what `make demo` (and `make airflow`) left running.
set -uo pipefail
cd "$(dirname "$0")/.."
for pidfile in .local/run/*.pid; do
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null
    echo "stopped $(basename "$pidfile" .pid) (pid $pid)"
  fi
  rm -f "$pidfile"
done
scripts/redis.sh stop demo
scripts/pg.sh stop demo && echo "stopped the demo PostgreSQL"

#!/usr/bin/env bash
# `make stop`: stops what `make demo` (and `make airflow`) left running, and returns once it has exited.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/stop_pids.sh .local/run
scripts/redis.sh stop demo
scripts/pg.sh stop demo && echo "stopped the demo PostgreSQL"

#!/usr/bin/env bash
# `make airflow`: the demo PostgreSQL and the simulator (as `make demo`), then a local Airflow 3 on them:
# api-server (UI), scheduler with LocalExecutor, dag-processor and triggerer, each in the background with a
# pid file under .local/run/ (so `make stop` stops them), a run of the demo month triggered and awaited.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
exec .venv/bin/python -m devtools.localstack up --server-dsn "$server_dsn" --simulator-url "$simulator_url" \
  --port "${AIRFLOW_PORT:-8080}"

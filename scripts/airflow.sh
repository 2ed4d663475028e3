#!/usr/bin/env bash
# `make airflow`: the demo PostgreSQL and the simulator (as `make demo`), then a local Airflow 3 on them:
# api-server (UI), scheduler, dag-processor and triggerer, each in the background with a pid file under
# .local/run/ (so `make stop` stops them), a run of the demo month triggered and awaited.
# EXECUTOR=local (default): LocalExecutor. EXECUTOR=celery: CeleryExecutor with a Redis broker
# (scripts/redis.sh, installs Debian's redis-server if missing) and two Celery workers.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
executor=${EXECUTOR:-local}
broker=()
if [ "$executor" = celery ]; then
  broker_url=$(scripts/redis.sh start demo)
  echo "Redis (Celery broker): $broker_url"
  broker=(--broker-url "$broker_url")
fi
exec .venv/bin/python -m devtools.localstack up --server-dsn "$server_dsn" --simulator-url "$simulator_url" \
  --port "${AIRFLOW_PORT:-8080}" --executor "$executor" "${broker[@]}"

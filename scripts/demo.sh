#!/usr/bin/env bash
# `make demo`: a local PostgreSQL and the Sophos simulator (both left running until `make stop`), then one
# full monthly sync of the real DAG, ending in the run summary.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
exec .venv/bin/python -m devtools.demo --server-dsn "$server_dsn" --simulator-url "$simulator_url"

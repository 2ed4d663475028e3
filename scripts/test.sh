#!/usr/bin/env bash
# `make test`: a throwaway PostgreSQL of its own, the whole pytest suite against it, the server stopped
# afterwards whatever the outcome.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/pg.sh stop test
dsn=$(scripts/pg.sh start test) || { echo "could not start the test PostgreSQL" >&2; exit 1; }
trap 'scripts/pg.sh stop test' EXIT
export SOPHOS_TEST_PG_DSN="$dsn"
export PYTHONPATH="$PWD/plugins:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
.venv/bin/python -m pytest "$@"
status=$?
# pytest's "no tests collected" (5) is a failure here: a suite that runs nothing proves nothing.
exit $status

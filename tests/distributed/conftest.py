"""The DAG on CeleryExecutor: the local Airflow stack (devtools.localstack) with a Redis broker
(`scripts/redis.sh start distributed`) and two Celery workers, a PostgreSQL instance of its own
(`scripts/pg.sh start distributed`: warehouse, Airflow metadata and Celery results) and the simulator;
all torn down at the end, failed test or not.

Run only when selected with `-m distributed` (`make test-distributed`): `make test` leaves them out.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from devtools.localstack import components
from devtools.localstack.api import AirflowApi
from simulator.testing import SimulatorHandle
from tests.opt_in import demo_stack

ROOT = Path(__file__).resolve().parents[2]
INSTANCE = "distributed"
SEED = 42
# Every API answer takes this long, so an extract task runs long enough to be caught, and killed, mid-way.
LATENCY_MS = 1000
FAST = {
    "SOPHOS_SYNC_REPORT_POKE_SECONDS": "3",
    "SOPHOS_SYNC_TASK_RETRY_DELAY_SECONDS": "2",
    "SOPHOS_SYNC_TASK_MAX_RETRY_DELAY_SECONDS": "10",
    # A killed worker's task instances are failed (and retried) once their heartbeats stop this long.
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "15",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
    "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "2",
}


@dataclass
class CeleryStack:
    api: AirflowApi
    env: dict[str, str]
    warehouse_dsn: str
    server_dsn: str
    simulator: SimulatorHandle
    home: Path
    run_dir: Path
    seed: int  # of the simulator's data and the warehouse's Platform data
    fast: dict[str, str]  # the stack's short waits

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.warehouse_dsn) as conn:
            return conn.execute(sql, params).fetchall()

    def worker_pids(self) -> dict[str, int]:
        running = components.running_components(self.run_dir)
        return {name: running[name] for name in components.CELERY_WORKERS if name in running}


def _script(*args: str) -> str:
    return subprocess.run(
        [str(ROOT / "scripts" / args[0]), *args[1:]], check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture(scope="session")
def celery_stack(tmp_path_factory) -> CeleryStack:
    server_dsn = _script("pg.sh", "start", INSTANCE)
    home = tmp_path_factory.mktemp("airflow-celery-home")
    try:
        broker_url = _script("redis.sh", "start", INSTANCE)
        started = time.monotonic()
        with demo_stack(
            server_dsn, home, seed=SEED, fast=FAST, latency_ms=LATENCY_MS, executor="celery", broker_url=broker_url
        ) as stack:
            print(f"\nCelery stack up in {time.monotonic() - started:.0f} s")
            yield CeleryStack(
                stack.api, stack.env, stack.warehouse_dsn, server_dsn, stack.simulator, home, stack.run_dir, SEED, FAST
            )
    finally:
        subprocess.run([str(ROOT / "scripts" / "redis.sh"), "stop", INSTANCE], check=False)
        subprocess.run([str(ROOT / "scripts" / "pg.sh"), "stop", INSTANCE], check=False)

"""Running months of the real DAG (`airflow dags test`) against the simulator and a real PostgreSQL."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from devtools.localstack import airflow_cli, environment

# The sensor and retries on a test's clock, not production's (30 min pokes, 2 min retry delays).
FAST = {
    "SOPHOS_SYNC_REPORT_POKE_SECONDS": "1",
    "SOPHOS_SYNC_TASK_RETRY_DELAY_SECONDS": "1",
    "SOPHOS_SYNC_TASK_MAX_RETRY_DELAY_SECONDS": "2",
}


@dataclass
class MonthRun:
    returncode: int
    output: str
    task_states: dict[str, tuple[str | None, int]]  # task_id -> (state, try_number) of the run

    def tail(self, chars: int = 6000) -> str:
        return self.output[-chars:]


def _task_states(airflow_home: Path) -> dict[str, tuple[str | None, int]]:
    with sqlite3.connect(airflow_home / "airflow.db") as meta:
        run_id = meta.execute(
            "SELECT run_id FROM dag_run WHERE dag_id = 'sophos_monthly_sync' ORDER BY id DESC LIMIT 1"
        ).fetchone()[0]
        rows = meta.execute(
            "SELECT task_id, state, try_number FROM task_instance WHERE dag_id = 'sophos_monthly_sync' AND run_id = ?",
            (run_id,),
        ).fetchall()
    return {task_id: (state, tries) for task_id, state, tries in rows}


class MonthRunner:
    """Runs months of the DAG for one simulator + database pair."""

    def __init__(self, airflow_home: Path, dsn: str, simulator, extra_env: dict | None = None, credentials=None):
        self.airflow_home = airflow_home
        self.env = environment.airflow_env(
            airflow_home=airflow_home,
            dsn=dsn,
            simulator_url=simulator.base_url,
            credentials=credentials or [(c[0], c[1]) for c in simulator.credentials],
            extra_env={**FAST, **(extra_env or {})},
        )

    def start(self, month: str) -> subprocess.Popen:
        airflow_cli.ensure_airflow_db(self.env)
        return subprocess.Popen(
            [str(Path(sys.executable).with_name("airflow")), "dags", "test", "sophos_monthly_sync", f"{month}-26"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def finish(self, process: subprocess.Popen, timeout: float = 300) -> MonthRun:
        output, _ = process.communicate(timeout=timeout)
        return MonthRun(process.returncode, output, _task_states(self.airflow_home))

    def run(self, month: str) -> MonthRun:
        return self.finish(self.start(month))

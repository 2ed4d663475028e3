"""The `airflow` command of this venv, run in an environment of devtools.localstack.environment: its
metadata DB migrated, and `airflow dags test`, the whole DAG in one process (the demo, the end-to-end tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from devtools.localstack.environment import DAG_ID

EXECUTABLE = str(Path(sys.executable).with_name("airflow"))


def airflow(args: Sequence[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([EXECUTABLE, *args], env=env, **kwargs)


def migrate_metadata(env: dict[str, str]) -> None:
    """`airflow db migrate` of the environment's metadata DB (SQLite in AIRFLOW_HOME unless it names one)."""
    done = airflow(["db", "migrate"], env, capture_output=True, text=True)
    if done.returncode != 0:
        url = env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
        where = f" (metadata DB {url.rsplit('@', 1)[-1]})" if url else ""
        raise RuntimeError(f"airflow db migrate failed{where}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def ensure_airflow_db(env: dict[str, str]) -> None:
    """The metadata DB of AIRFLOW_HOME migrated, once per home."""
    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    if (home / ".migrated").exists():
        return
    migrate_metadata(env)
    (home / ".migrated").touch()


def dags_test(
    logical_date: str, env: dict[str, str], conf: dict | None = None, **kwargs
) -> subprocess.CompletedProcess:
    """`airflow dags test sophos_monthly_sync <date>`: the whole DAG in-process; exit code 1 when the run fails."""
    ensure_airflow_db(env)
    args = ["dags", "test", DAG_ID, logical_date]
    if conf:
        args += ["--conf", json.dumps(conf)]
    return airflow(args, env, **kwargs)

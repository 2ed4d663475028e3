"""Run the real DAG on this machine: Airflow's environment for the demo, the end-to-end tests and the
local UI stack, with connections pointing at a local PostgreSQL and the Sophos simulator.

Connections are given the standard way, as AIRFLOW_CONN_<ID> environment variables (JSON form).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import psycopg

from sophos_sync import settings

ROOT = settings.PROJECT_ROOT


def account_ids(count: int) -> list[str]:
    """Connection ids of the simulator's credentials: the first is the default one."""
    return ["sophos_default", *(f"sophos_account_{i}" for i in range(2, count + 1))]


def postgres_connection(dsn: str) -> dict:
    params = psycopg.conninfo.conninfo_to_dict(dsn)
    return {
        "conn_type": "postgres",
        "host": params.get("host", "127.0.0.1"),
        "port": int(params.get("port", 5432)),
        "login": params.get("user", "postgres"),
        "password": params.get("password", ""),
        "schema": params.get("dbname", "postgres"),
    }


def sophos_connection(simulator_url: str, client_id: str, client_secret: str, currency: str | None = None) -> dict:
    extra = {"token_url": f"{simulator_url}/api/v2/oauth2/token", "api_host_override": simulator_url}
    if currency:
        extra["currency"] = currency
    return {
        "conn_type": "http",
        "host": simulator_url,
        "login": client_id,
        "password": client_secret,
        "extra": extra,
    }


def airflow_env(
    *,
    airflow_home: Path,
    dsn: str,
    simulator_url: str,
    credentials: Sequence[tuple[str, str]],
    extra_env: dict[str, str] | None = None,
) -> dict[str, str]:
    """Environment for `airflow ...` commands: project folders, SQLite metadata DB, our connections."""
    accounts = account_ids(len(credentials))
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "PYTHONPATH": f"{ROOT / 'plugins'}:{ROOT}",
        "SOPHOS_SYNC_CONN_IDS": ",".join(accounts),
        f"AIRFLOW_CONN_{settings.DB_CONN_ID.upper()}": json.dumps(postgres_connection(dsn)),
    }
    env.pop("SOPHOS_SYNC_DB_DSN", None)  # the DAG must find its database through the Airflow connection
    for account, (client_id, client_secret) in zip(accounts, credentials):
        env[f"AIRFLOW_CONN_{account.upper()}"] = json.dumps(sophos_connection(simulator_url, client_id, client_secret))
    env.update(extra_env or {})
    return env


def airflow(args: Sequence[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    executable = Path(sys.executable).with_name("airflow")
    return subprocess.run([str(executable), *args], env=env, **kwargs)


def ensure_airflow_db(env: dict[str, str]) -> None:
    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    if (home / ".migrated").exists():
        return
    done = airflow(["db", "migrate"], env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    (home / ".migrated").touch()


def dags_test(
    logical_date: str, env: dict[str, str], conf: dict | None = None, **kwargs
) -> subprocess.CompletedProcess:
    """`airflow dags test sophos_monthly_sync <date>`: the whole DAG in-process; exit code 1 when the run fails."""
    ensure_airflow_db(env)
    args = ["dags", "test", "sophos_monthly_sync", logical_date]
    if conf:
        args += ["--conf", json.dumps(conf)]
    return airflow(args, env, **kwargs)

"""`make airflow` (scripts/airflow.sh): the demo's warehouse prepared, the local Airflow stack running, the DAG
unpaused and a run of the demo month awaited. Also how the tests bring a stack up (start_stack, demo_run).

    python -m devtools.localstack up --server-dsn DSN --simulator-url URL [--port 8080] [--executor local|celery]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from devtools import databases
from devtools.localstack.airflow_cli import migrate_metadata
from devtools.localstack.api import AirflowApi
from devtools.localstack.components import (
    CELERY_WORKERS,
    COMPONENTS,
    running_components,
    start_components,
    stop_components,
)
from devtools.localstack.environment import (
    DAG_ID,
    EXECUTORS,
    LOGIN,
    REVIEW_PAGE,
    ROOT,
    SUPPORT_LOGIN,
    VIEWER_LOGIN,
    cli_exports,
    free_port,
    stack_env,
)


def start_stack(env: dict[str, str], run_dir: Path, log_dir: Path, timeout: float = 240) -> AirflowApi:
    """Migrates the metadata DB, starts the components, and returns the API once the DAG is parsed."""
    migrate_metadata(env)
    start_components(env, run_dir, log_dir)
    api = AirflowApi(env["AIRFLOW__API__BASE_URL"])
    started = time.monotonic()
    api.wait_until_healthy(timeout, log_dir)
    api.wait_for_dag(DAG_ID, timeout - (time.monotonic() - started))
    return api


def latest_schedule_month(now: datetime | None = None) -> str:
    """The month of the newest scheduled point (the 26th, 06:00 UTC) that is not in the future."""
    now = now or datetime.now(timezone.utc)
    index = now.year * 12 + now.month - 1 - (0 if (now.day, now.hour) >= (26, 6) else 1)
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def demo_run(api: AirflowApi, wait_seconds: float = 30) -> tuple[str, str]:
    """(billing month, run id) of the demo run. Unpausing a catchup=False DAG makes the scheduler start the
    newest scheduled run by itself; when it has not appeared in time, that month is triggered by hand."""
    month = latest_schedule_month()
    deadline = time.monotonic() + wait_seconds
    while True:
        for run in api.dag_runs(DAG_ID):
            if (run.get("logical_date") or "").startswith(f"{month}-26T06:00"):
                return month, run["dag_run_id"]
        if time.monotonic() > deadline:
            return month, api.trigger(DAG_ID, f"{month}-26T06:00:00Z")
        time.sleep(2)


def up(
    server_dsn: str,
    simulator_url: str,
    airflow_home: Path,
    run_dir: Path,
    *,
    port: int = 8080,
    scale: str = "small",
    seed: int = 42,
    wait_seconds: float = 300,
    executor: str = "local",
    broker_url: str | None = None,
) -> int:
    """`make airflow`: the warehouse DB prepared, the stack running (started unless it already is, with the
    same executor), the DAG unpaused, and a run of the demo month triggered and awaited."""
    dsn = databases.ensure_database(server_dsn)
    credentials, seeded = databases.prepare_warehouse(dsn, scale, seed)
    print(f"warehouse: {dsn} ({seeded['sellers']} sellers, {seeded['customer_organizations']} organizations)")
    portfile = run_dir / "airflow.port"
    log_dir = airflow_home / "component-logs"
    wanted = {*COMPONENTS, *(CELERY_WORKERS if executor == "celery" else ())}
    if set(running_components(run_dir)) == wanted and portfile.exists():
        api = AirflowApi(f"http://127.0.0.1:{portfile.read_text().strip()}")
        print(f"Airflow is already running ({api.base_url})")
    else:
        stop_components(run_dir)
        api_port = free_port(port)
        if api_port != port:
            print(f"port {port} is taken; the api-server uses {api_port}")
        env = stack_env(
            airflow_home=airflow_home,
            dsn=dsn,
            metadata_dsn=databases.ensure_database(server_dsn, "airflow"),
            simulator_url=simulator_url,
            credentials=credentials,
            api_port=api_port,
            executor=executor,
            broker_url=broker_url,
        )
        print(
            f"starting Airflow ({', '.join(sorted(wanted))}; {EXECUTORS[executor]}; logs: {log_dir}) - about a minute"
        )
        run_dir.mkdir(parents=True, exist_ok=True)
        portfile.write_text(str(api_port))
        try:
            api = start_stack(env, run_dir, log_dir)
        except RuntimeError:
            stop_components(run_dir)  # half a stack helps nobody; its logs stay in log_dir
            raise
    api.unpause(DAG_ID)
    month, run_id = demo_run(api)
    user, password = LOGIN
    print()
    print(f"Airflow UI:   {api.base_url}/dags/{DAG_ID}   login: {user} / {password}")
    print(
        f"Support page: {api.base_url}/{REVIEW_PAGE}   login: {SUPPORT_LOGIN[0]} / {SUPPORT_LOGIN[1]} (may resolve), "
        f"{VIEWER_LOGIN[0]} / {VIEWER_LOGIN[1]} (read only)"
    )
    print(f"DAG run:      {run_id} (billing month {month}); waiting up to {wait_seconds:.0f} s for it to finish")
    try:
        run = api.wait_for_run(DAG_ID, run_id, wait_seconds)
        print(f"              {run['state']}" + (f" - note: {run['note']}" if run.get("note") else ""))
        print("run summary:  the log of the task 'Reconcile and report' in the UI")
        status = 0 if run["state"] == "success" else 1
    except TimeoutError as exc:
        print(f"              {exc}; follow it in the UI")
        status = 0
    print(f"Airflow CLI:  {cli_exports(airflow_home)}")
    print(f'              then e.g. airflow dags trigger {DAG_ID} --conf \'{{"billing_month": "{month}"}}\'')
    print("stop:         make stop")
    api.close()
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.localstack", description=up.__doc__)
    parser.add_argument("command", choices=["up"])
    parser.add_argument("--server-dsn", required=True, help="DSN of the demo PostgreSQL server")
    parser.add_argument("--simulator-url", required=True)
    parser.add_argument("--airflow-home", default=str(ROOT / ".local" / "airflow-stack"))
    parser.add_argument("--run-dir", default=str(ROOT / ".local" / "run"))
    parser.add_argument("--port", type=int, default=8080, help="api-server port if free (default 8080)")
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--executor", choices=sorted(EXECUTORS), default="local")
    parser.add_argument("--broker-url", help="Redis URL of the Celery broker (--executor celery)")
    args = parser.parse_args(argv)
    try:
        return up(
            args.server_dsn,
            args.simulator_url,
            Path(args.airflow_home),
            Path(args.run_dir),
            port=args.port,
            scale=args.scale,
            seed=args.seed,
            executor=args.executor,
            broker_url=args.broker_url,
        )
    except RuntimeError as exc:
        print(f"make airflow failed: {exc}", file=sys.stderr)
        return 1

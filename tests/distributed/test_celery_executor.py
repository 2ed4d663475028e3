"""A month on CeleryExecutor with two workers: the mapped extracts spread over both, the loaded tables
equal those of an in-process (`airflow dags test`) run of the same month, and a worker killed while it
extracts leaves nothing lost: its task is retried on the other worker."""

from __future__ import annotations

import os
import signal
import time
from urllib.parse import quote

import psycopg
import pytest

from devtools.databases import prepare_warehouse
from devtools.localstack import airflow_cli, environment, up
from devtools.localstack.components import CELERY_WORKERS
from devtools.localstack.environment import DAG_ID
from simulator.testing import run_simulator
from tests.opt_in import fresh_database

pytestmark = pytest.mark.distributed

EXTRACTS = ("extract.extract_tenants", "extract.extract_licenses", "extract.extract_billing_usage")
# Columns that say when or by which run a row was written, not what it holds.
RUN_COLUMNS = ("sync_run_id", "rejected_id")
LOADED_TABLES = (
    "sophos.customers",
    "sophos.customer_mappings",
    "sophos.subscriptions",
    "sophos.subscription_status_history",
    "sophos.invoice_lines",
    "sophos.rejected_records",
    "review.unmapped_customers",
)


def table_checksums(dsn: str) -> dict[str, tuple[int, str]]:
    """(rows, md5 over the rows' contents) of each loaded table, timestamps and run ids left out."""
    sums = {}
    with psycopg.connect(dsn) as conn:
        for table in LOADED_TABLES:
            schema, name = table.split(".")
            volatile = [
                column
                for (column,) in conn.execute(
                    """SELECT column_name FROM information_schema.columns
                       WHERE table_schema = %s AND table_name = %s
                         AND (data_type LIKE 'timestamp%%' OR column_name = ANY(%s))""",
                    (schema, name, list(RUN_COLUMNS)),
                )
            ]
            sums[table] = conn.execute(
                f"""SELECT count(*), coalesce(md5(string_agg(row_text, '|' ORDER BY row_text)), '')
                    FROM (SELECT (to_jsonb(t) - %s::text[])::text AS row_text FROM {table} t) rows""",
                (volatile,),
            ).fetchone()
    return sums


@pytest.fixture(scope="module")
def scheduled_run(celery_stack) -> tuple[str, str]:
    """(run id, billing month) of the run the scheduler starts once the DAG is unpaused, finished."""
    _, run_id = up.demo_run(celery_stack.api)
    run = celery_stack.api.wait_for_run(DAG_ID, run_id, timeout=300)
    assert run["state"] == "success", f"logs under {celery_stack.home / 'logs'}"
    [(month,)] = celery_stack.query(
        "SELECT to_char(billing_month, 'YYYY-MM') FROM sophos.sync_runs WHERE dag_run_id = %s", (run_id,)
    )
    return run_id, month


@pytest.fixture(scope="module")
def month(scheduled_run) -> str:
    return scheduled_run[1]


@pytest.fixture(scope="module")
def reference_checksums(celery_stack, month, tmp_path_factory) -> dict[str, tuple[int, str]]:
    """The same month through `airflow dags test` (every task in one process) into a warehouse of its own."""
    dsn = fresh_database(celery_stack.server_dsn, "sophos_reference")
    prepare_warehouse(dsn, "small", celery_stack.seed)
    # The same data from a simulator of its own without the latency: one process extracts in turn.
    with run_simulator(scale="small", seed=celery_stack.seed) as simulator:
        env = environment.airflow_env(
            airflow_home=tmp_path_factory.mktemp("airflow-reference-home"),
            dsn=dsn,
            simulator_url=simulator.base_url,
            credentials=[(cid, secret) for cid, secret, _ in simulator.credentials],
            extra_env=celery_stack.fast,
        )
        done = airflow_cli.dags_test(
            f"{month}-26", env, conf={"billing_month": month}, capture_output=True, text=True, timeout=600
        )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return table_checksums(dsn)


def instances(stack, run_id: str) -> dict[str, list[dict]]:
    by_task: dict[str, list[dict]] = {}
    for ti in stack.api.task_instances(DAG_ID, run_id):
        by_task.setdefault(ti["task_id"], []).append(ti)
    return by_task


def tries(stack, run_id: str, task_id: str, map_index: int) -> list[dict]:
    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/{map_index}/tries"
    return stack.api.request("GET", path)["task_instances"]


def worker_of(ti: dict) -> str:
    """The worker named in a task instance's hostname (its --celery-hostname, `worker-N@host`)."""
    return (ti.get("hostname") or "").split("@")[0]


def test_mapped_extracts_run_on_both_workers_and_load_what_one_process_loads(
    celery_stack, scheduled_run, reference_checksums
):
    run_id, _ = scheduled_run
    by_task = instances(celery_stack, run_id)
    accounts = len(celery_stack.simulator.credentials)
    extracts = [ti for task_id in EXTRACTS for ti in by_task[task_id]]
    assert len(extracts) == 3 * accounts and {ti["state"] for ti in extracts} == {"success"}
    assert {worker_of(ti) for ti in extracts} == set(CELERY_WORKERS), [
        (ti["task_id"], ti["map_index"], ti["hostname"]) for ti in extracts
    ]
    # Each account's extract in a task process of its own (pids may repeat only across workers).
    for task_id in EXTRACTS:
        assert len({(worker_of(ti), ti["pid"]) for ti in by_task[task_id]}) == accounts, task_id

    assert table_checksums(celery_stack.warehouse_dsn) == reference_checksums


def test_a_worker_killed_mid_extract_is_retried_on_the_other_worker_with_nothing_lost(
    celery_stack, month, reference_checksums
):
    run_id = celery_stack.api.trigger(DAG_ID, conf={"billing_month": month})
    deadline = time.monotonic() + 240
    victim = None
    while victim is None:
        assert time.monotonic() < deadline, "no extract task was seen running on a worker"
        for task_id, tis in instances(celery_stack, run_id).items():
            running = [ti for ti in tis if task_id in EXTRACTS and ti["state"] == "running" and ti["hostname"]]
            if running:
                victim = running[0]
                break
        else:
            time.sleep(0.3)
    killed = worker_of(victim)
    survivor = next(worker for worker in CELERY_WORKERS if worker != killed)
    # The whole worker, as when its machine dies: main process, pool and task processes, no chance to clean up.
    os.killpg(celery_stack.worker_pids()[killed], signal.SIGKILL)

    run = celery_stack.api.wait_for_run(DAG_ID, run_id, timeout=300)
    assert run["state"] == "success"
    history = tries(celery_stack, run_id, victim["task_id"], victim["map_index"])
    assert [t["try_number"] for t in history] == [1, 2], history
    first, second = history
    assert worker_of(first) == killed and first["state"] in ("failed", "up_for_retry")
    assert worker_of(second) == survivor and second["state"] == "success"

    assert table_checksums(celery_stack.warehouse_dsn) == reference_checksums

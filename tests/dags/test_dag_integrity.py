"""DAG integrity: every DAG file imports cleanly in a fresh AIRFLOW_HOME, without touching a database or
the network at parse time, and carries what the UI and on-call need (tags, docs, owner, retries)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sophos_sync.run.runner import BESIDE, STAGES

ROOT = Path(__file__).resolve().parents[2]

# Runs in a child process: sockets and psycopg are booby-trapped before the DAG files are parsed.
PARSE_SCRIPT = r"""
import json, socket, sys
import psycopg

def refuse(*args, **kwargs):
    raise RuntimeError("network or database access at DAG parse time")

socket.socket.connect = refuse
socket.create_connection = refuse
psycopg.connect = refuse

from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "files": len(bag.dagbag_stats), "dags": {}}
for dag_id, dag in bag.dags.items():
    out["dags"][dag_id] = {
        "tags": sorted(dag.tags),
        "doc_md": dag.doc_md or "",
        "owners": sorted({t.owner for t in dag.tasks}),
        "min_retries": min(t.retries for t in dag.tasks),
        "max_active_runs": dag.max_active_runs,
        "catchup": dag.catchup,
        "task_ids": [t.task_id for t in dag.tasks],
        "upstream": {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks},
        "downstream": {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks},
    }
print("RESULT" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def parsed(tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("airflow_home")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONPATH": f"{ROOT / 'plugins'}:{ROOT}",
    }
    done = subprocess.run(
        [sys.executable, "-c", PARSE_SCRIPT, str(ROOT / "dags")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(text for text in done.stdout.splitlines() if text.startswith("RESULT"))
    return json.loads(line[len("RESULT") :])


def test_every_dag_file_imports_without_errors_or_io(parsed):
    assert parsed["errors"] == {}
    assert parsed["dags"], "no DAG found in dags/"


def test_every_dag_has_tags_docs_owner_and_retries(parsed):
    for dag_id, dag in parsed["dags"].items():
        assert dag["tags"], dag_id
        assert len(dag["doc_md"]) > 200, f"{dag_id}: doc_md should explain the DAG in the UI"
        assert "airflow" not in dag["owners"], f"{dag_id}: owner left at Airflow's default"
        assert dag["min_retries"] >= 2, dag_id


def test_monthly_sync_reads_like_the_process(parsed):
    dag = parsed["dags"]["sophos_monthly_sync"]
    assert dag["max_active_runs"] == 1
    assert dag["catchup"] is False
    for task_id in (
        "ensure_schema",
        "wait_for_billing_report",
        "extract.extract_tenants",
        "extract.extract_licenses",
        "extract.extract_billing_usage",
        "validate",
        "map_customers",
        "any_unmapped_customers",
        "record_unmapped_customers",
        "load_mirror",
        "reconcile_and_report",
    ):
        assert task_id in dag["task_ids"]


# Every edge of the monthly sync, written out: a dependency added, dropped or moved shows up here.
MONTHLY_SYNC_DOWNSTREAM = {
    "ensure_schema": ["start_sync_run"],
    "billing_month": [
        "extract.extract_billing_usage",
        "extract.extract_licenses",
        "extract.extract_tenants",
        "load_mirror",
        "reconcile_and_report",
        "record_unmapped_customers",
        "start_sync_run",
        "wait_for_billing_report",
    ],
    "start_sync_run": [
        "extract.extract_billing_usage",
        "extract.extract_licenses",
        "extract.extract_tenants",
        "load_mirror",
        "map_customers",
        "reconcile_and_report",
        "record_unmapped_customers",
        "validate",
    ],
    "wait_for_billing_report": ["extract.extract_billing_usage", "extract.extract_tenants"],
    "accounts": ["extract.extract_billing_usage", "extract.extract_licenses", "extract.extract_tenants"],
    "extract.extract_tenants": ["extract.extract_licenses"],
    "extract.extract_licenses": ["validate"],
    "extract.extract_billing_usage": ["validate"],
    "validate": ["map_customers"],
    "map_customers": ["any_unmapped_customers"],
    "any_unmapped_customers": ["all_customers_mapped", "record_unmapped_customers"],
    "record_unmapped_customers": ["load_mirror"],
    "all_customers_mapped": ["load_mirror"],
    "load_mirror": ["reconcile_and_report"],
    "reconcile_and_report": [],
}
# The tasks that decide, wait or branch rather than do a stage of the month's work (pipeline.STAGES).
AIRFLOW_ONLY = {
    "ensure_schema",
    "billing_month",
    "accounts",
    "wait_for_billing_report",
    "any_unmapped_customers",
    "all_customers_mapped",
}


def test_monthly_sync_is_wired_task_by_task(parsed):
    dag = parsed["dags"]["sophos_monthly_sync"]
    assert dag["downstream"] == MONTHLY_SYNC_DOWNSTREAM
    upstream = {task_id: [] for task_id in MONTHLY_SYNC_DOWNSTREAM}
    for task_id, downstream in MONTHLY_SYNC_DOWNSTREAM.items():
        for child in downstream:
            upstream[child].append(task_id)
    assert dag["upstream"] == {task_id: sorted(parents) for task_id, parents in upstream.items()}


def _ancestors(upstream: dict[str, list[str]], task_id: str) -> set[str]:
    found: set[str] = set()
    todo = list(upstream[task_id])
    while todo:
        parent = todo.pop()
        if parent not in found:
            found.add(parent)
            todo.extend(upstream[parent])
    return found


def test_the_dag_runs_the_stages_in_the_order_run_month_runs_them(parsed):
    """pipeline.run_month (the bench, the reliability tests) runs STAGES one after another: an order the
    DAG allows, with every stage a task of the DAG and every other task one that only decides or waits."""
    dag = parsed["dags"]["sophos_monthly_sync"]
    stage_of = {task_id: task_id.rsplit(".", 1)[-1] for task_id in dag["task_ids"]}
    assert set(stage_of.values()) == set(STAGES) | AIRFLOW_ONLY
    assert not set(STAGES) & AIRFLOW_ONLY
    for task_id, stage in stage_of.items():
        if stage in AIRFLOW_ONLY:
            continue
        earlier = {stage_of[a] for a in _ancestors(dag["upstream"], task_id)} - AIRFLOW_ONLY
        assert earlier <= set(STAGES[: STAGES.index(stage)]), f"{stage} runs after {earlier} in the DAG"
        if stage != STAGES[0]:
            assert STAGES[0] in earlier, f"{stage} does not depend on the sync run"


def test_stages_run_month_may_start_together_do_not_wait_for_each_other_in_the_dag(parsed):
    """run_month(side_by_side=True) starts each stage of BESIDE with its partner, as the DAG does: the two
    depend on the same earlier stages, and neither (nor what follows the partner) on the other."""
    dag = parsed["dags"]["sophos_monthly_sync"]
    stage_of = {task_id: task_id.rsplit(".", 1)[-1] for task_id in dag["task_ids"]}
    task_of = {stage: task_id for task_id, stage in stage_of.items()}

    def earlier(stage: str) -> set[str]:
        return {stage_of[a] for a in _ancestors(dag["upstream"], task_of[stage])} - AIRFLOW_ONLY

    assert BESIDE
    for stage, partner in BESIDE.items():
        assert earlier(stage) == earlier(partner)
        assert not set(STAGES[STAGES.index(partner) : STAGES.index(stage)]) & earlier(stage)

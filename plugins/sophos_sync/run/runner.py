"""A month in-process, through the very functions the DAG's tasks call (sophos_sync.run.stages), in the DAG's
order: what the benchmark and the reliability tests run.

STAGES is the order, defined once; tests/dags/test_dag_integrity.py holds the DAG's edges to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from typing import Any

from sophos_sync.entities import ENTITIES
from sophos_sync.run import report
from sophos_sync.run import stages as stage_functions  # run_month's `stages` are stage names

# The extract stage of each entity: one mapped DAG task per entity, named after it.
EXTRACT_STAGES = {entity.name: entity.extract_task for entity in ENTITIES}
# The stages of a month in the order the DAG runs them: one name per DAG task that does the month's work
# (its other tasks decide, wait or branch).
STAGES = (
    "start_sync_run",
    *EXTRACT_STAGES.values(),
    "validate",
    "map_customers",
    "record_unmapped_customers",
    "load_mirror",
    "reconcile_and_report",
)
# Stages the DAG starts together with another one, each on its own chain: an extract that waits for no other
# entity starts beside the first one (the billing extract does not wait for tenants and licences).
_INDEPENDENT = [entity.extract_task for entity in ENTITIES if entity.after is None]
BESIDE = {task: _INDEPENDENT[0] for task in _INDEPENDENT[1:]}


def _each_account(extract_one: Callable[[str], dict], accounts: Sequence[str], workers: int) -> list[dict]:
    if workers <= 1:
        return [extract_one(account) for account in accounts]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="extract-account") as pool:
        return list(pool.map(extract_one, accounts))


def _run_stage(name: str, step: Callable[[], object]) -> object:
    return step()


def _stage_call(
    name: str,
    billing_month: date,
    accounts: Sequence[str],
    dag_run_id: str | None,
    sync_run_id: int | None,
    dsn: str | None,
    account_workers: int = 1,
) -> Callable[[], object]:
    """What the DAG's task `name` calls, for all accounts at once where the DAG maps it over them."""
    if name == "start_sync_run":
        if not dag_run_id:
            raise ValueError("opening a sync run needs the dag_run_id it belongs to")
        opened_for = dag_run_id
        return lambda: stage_functions.start_run(opened_for, billing_month, dsn)
    if sync_run_id is None:
        raise ValueError(f"{name} goes on with an open run: give its sync_run_id, or run start_sync_run first")
    run_id = sync_run_id
    for entity, task in EXTRACT_STAGES.items():
        if name == task:

            def extract_all(entity: str = entity) -> list[dict]:
                return _each_account(
                    lambda account: stage_functions.extract_entity(entity, account, run_id, billing_month, dsn),
                    accounts,
                    account_workers,
                )

            return extract_all
    return {
        "validate": lambda: stage_functions.validate_run(run_id, dsn=dsn),
        "map_customers": lambda: stage_functions.map_customers(run_id, dsn),
        "record_unmapped_customers": lambda: stage_functions.record_unmapped(run_id, billing_month, dsn),
        "load_mirror": lambda: stage_functions.load_mirror(run_id, billing_month, dsn),
        "reconcile_and_report": lambda: report.reconcile_and_report(run_id, billing_month, dsn),
    }[name]


def run_month(
    billing_month: date,
    accounts: Sequence[str],
    dag_run_id: str | None = None,
    *,
    sync_run_id: int | None = None,
    stages: Iterable[str] = STAGES,
    around_stage: Callable[[str, Callable[[], object]], object] = _run_stage,
    dsn: str | None = None,
    account_workers: int = 1,
    side_by_side: bool = False,
) -> int:
    """A month in-process, through the functions the DAG's tasks call, in STAGES' order; the run's id.

    The whole month opens a run for `dag_run_id`; a part of it (`stages`, some of STAGES) goes on with the
    open run `sync_run_id`. As in the DAG, unmapped customers are recorded only when this call's mapping
    found some. `around_stage(name, step)` runs each stage and must return `step()` (e.g. to time it).
    `account_workers` > 1 extracts that many accounts at a time (threads), as the DAG's mapped tasks do;
    `side_by_side` starts each stage of BESIDE with its partner (a thread), as the DAG does, so
    `around_stage` may then be called from two threads at once.
    """
    wanted = set(stages)
    if wanted - set(STAGES):
        raise ValueError(f"unknown stages {sorted(wanted - set(STAGES))}: choose from {', '.join(STAGES)}")
    if "start_sync_run" in wanted and not dag_run_id:
        raise ValueError("opening a sync run needs the dag_run_id it belongs to")
    if "start_sync_run" not in wanted and sync_run_id is None:
        raise ValueError("without start_sync_run, give the sync_run_id of the open run to go on with")
    mapping: Any = {}

    def run(name: str) -> Any:
        return around_stage(
            name, _stage_call(name, billing_month, accounts, dag_run_id, sync_run_id, dsn, account_workers)
        )

    with ThreadPoolExecutor(max_workers=len(BESIDE), thread_name_prefix="stage-beside") as pool:
        started_beside: dict[str, Future] = {}
        for name in STAGES:
            if name not in wanted or (name == "record_unmapped_customers" and not mapping.get("unmapped", 0)):
                continue
            if name in started_beside:
                started_beside.pop(name).result()
                continue
            if side_by_side:
                started_beside.update(
                    {
                        other: pool.submit(run, other)
                        for other, partner in BESIDE.items()
                        if partner == name and other in wanted
                    }
                )
            result = run(name)
            if name == "start_sync_run":
                sync_run_id = result
            elif name == "map_customers":
                mapping = result
    assert sync_run_id is not None  # opened by start_sync_run, or given
    return sync_run_id

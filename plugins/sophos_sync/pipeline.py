"""The monthly sync, stage by stage, with no Airflow in the signatures.

The DAG's tasks call these functions one each; `run_month` calls the very same ones in the DAG's order
(STAGES) for the benchmark and the tests. Every stage opens its own database connection and reads its
input from, and writes its output to, PostgreSQL tables keyed by the run (docs/architecture.md, The flow),
so stages can run on any worker.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import psycopg

from sophos_sync import db, extract, report, settings, sync_run

log = logging.getLogger(__name__)

STAGE_TABLES = {
    "tenant": "sophos.stage_tenants",
    "license": "sophos.stage_licenses",
    "billing_usage": "sophos.stage_billing_lines",
}

# The stages of a month in the order the DAG runs them: one name per DAG task that does the month's work
# (its other tasks decide, wait or branch). tests/dags/test_dag_integrity.py holds the DAG's edges to it.
STAGES = (
    "start_sync_run",
    "extract_tenants",
    "extract_licenses",
    "extract_billing_usage",
    "validate",
    "map_customers",
    "record_unmapped_customers",
    "load_mirror",
    "reconcile_and_report",
)
EXTRACT_STAGES = {"tenant": "extract_tenants", "license": "extract_licenses", "billing_usage": "extract_billing_usage"}
# Stages the DAG starts together with another one, each on its own chain: the billing extract does not wait
# for tenants and licences (tests/dags/test_dag_integrity.py holds the DAG to it).
BESIDE = {"extract_billing_usage": "extract_tenants"}


def ensure_schema(dsn: str | None = None) -> list[str]:
    with db.connect(dsn) as conn:
        return db.migrate(conn)


def start_run(dag_run_id: str, billing_month: date, dsn: str | None = None) -> int:
    with db.connect(dsn) as conn:
        sync_run_id = sync_run.begin(conn, dag_run_id, billing_month)
    log.info("sync run %d for billing month %s (%s)", sync_run_id, billing_month.strftime("%Y-%m"), dag_run_id)
    return sync_run_id


def _hook(account: str):
    from sophos_sync.hook import SophosHook

    return SophosHook(account)


def _client(account: str):
    return _hook(account).get_client()


def report_available(billing_month: date, accounts: list[str]) -> bool:
    """True once every account's invoice report of the month exists (Sophos answers 404 until then)."""
    waiting = []
    for account in accounts:
        with _client(account) as client:
            if not client.billing_report_exists(billing_month.year, billing_month.month):
                waiting.append(account)
    if waiting:
        log.info(
            "billing report %s not published yet for %s; waiting", billing_month.strftime("%Y-%m"), ", ".join(waiting)
        )
    return not waiting


def extract_entity(entity: str, account: str, sync_run_id: int, billing_month: date, dsn: str | None = None) -> dict:
    hook = _hook(account)
    with hook.get_client() as client, db.connect(dsn) as conn:
        if entity == "tenant":
            return extract.extract_tenants(conn, client, sync_run_id, account)
        if entity == "license":
            return extract.extract_licenses(conn, client, sync_run_id, account)
        if entity == "billing_usage":
            return extract.extract_billing_usage(
                conn, client, sync_run_id, account, billing_month, contract_currency=hook.contract_currency
            )
    raise ValueError(f"unknown entity {entity!r}")


def _landing_rows(conn: psycopg.Connection, sync_run_id: int, entity: str):
    with conn.cursor(name=f"landing_{entity}") as cur:
        cur.itersize = 20_000
        cur.execute(
            """SELECT account, tenant_id, raw::text FROM sophos.landing_records
               WHERE sync_run_id = %s AND entity = %s ORDER BY account, seq""",
            (sync_run_id, entity),
        )
        yield from cur


def landing_pages(conn: psycopg.Connection, sync_run_id: int, entity: str):
    """(account, JSON lines) of the run's landed pages of `entity`, in the order they arrived."""
    with conn.cursor(name=f"landing_pages_{entity}", binary=True) as cur:
        cur.itersize = 16
        cur.execute(
            """SELECT account, lines FROM sophos.landing_pages
               WHERE sync_run_id = %s AND entity = %s ORDER BY account, page""",
            (sync_run_id, entity),
        )
        yield from cur


def write_stage(conn: psycopg.Connection, sync_run_id: int, result) -> None:
    """An in-memory ValidationResult's rows into its stage table (replacing the run's rows there)."""
    import numpy as np
    import pyarrow

    from sophos_sync.validate import STAGE_COLUMNS

    table = STAGE_TABLES[result.entity]
    columns = STAGE_COLUMNS[result.entity]
    conn.execute(f"DELETE FROM {table} WHERE sync_run_id = %s", (sync_run_id,))
    staged = pyarrow.Table.from_pandas(result.valid[columns], preserve_index=False)
    run = pyarrow.array(np.full(staged.num_rows, sync_run_id, dtype=np.int64))
    db.copy_table(conn, table, ["sync_run_id", *columns], staged.add_column(0, "sync_run_id", run))


def stage_pages(conn: psycopg.Connection, reader: psycopg.Connection, sync_run_id: int, entity: str):
    """validate_pages on the run's landed pages (read through `reader`), each chunk's stage rows COPYed by
    `conn` while the next is judged (replacing the run's rows there); the ValidationResult."""
    import numpy as np
    import pyarrow
    from psycopg import sql as pgsql

    from sophos_sync import validate

    table = STAGE_TABLES[entity]
    columns = validate.STAGE_COLUMNS[entity]
    conn.execute(f"DELETE FROM {table} WHERE sync_run_id = %s", (sync_run_id,))
    with db.StreamedCopy(conn, table, ["sync_run_id", *columns]) as copy:
        def stage(rows: pyarrow.Table) -> None:
            run = pyarrow.array(np.full(rows.num_rows, sync_run_id, dtype=np.int64))
            copy.put(rows.select(columns).add_column(0, "sync_run_id", run))

        # pages are read ahead in a thread while a chunk is judged, as the stage rows are written behind it
        pages = extract.prefetched(landing_pages(reader, sync_run_id, entity))
        result = validate.validate_pages(entity, pages, stage=stage)
    if result.unstage:
        schema, name = table.split(".")
        conn.execute(
            pgsql.SQL("DELETE FROM {} WHERE sync_run_id = %s AND {} = ANY(%s)").format(
                pgsql.Identifier(schema, name), pgsql.Identifier(validate.STAGE_KEYS[entity])),
            (sync_run_id, result.unstage),
        )
    return result


def write_rejected(conn: psycopg.Connection, sync_run_id: int, result) -> None:
    rejected = result.rejected
    db.copy_rows(
        conn,
        "sophos.rejected_records",
        ["sync_run_id", "entity", "source_key", "check_name", "column_name", "failure_case", "raw"],
        (
            (sync_run_id, result.entity, key, check, column, failure, raw)
            for key, check, column, failure, raw in zip(
                rejected["source_key"], rejected["check_name"], rejected["column_name"],
                rejected["failure_case"], rejected["raw"],
            )
        )
        if len(rejected)
        else (),
    )


def validate_run(sync_run_id: int, threshold: float | None = None, dsn: str | None = None) -> dict:
    """Landing → contracts → stage tables and rejected rows, all entities in one transaction.

    Billing lines are staged chunk by chunk as they are judged, so memory does not grow with the month.
    ContractViolation (whole-entity breakage) or RejectionThresholdExceeded roll the transaction back:
    nothing is staged, and the month's loaded data stays as it was.
    """
    from sophos_sync import validate

    threshold = settings.REJECT_THRESHOLD if threshold is None else threshold
    summary: dict[str, dict] = {}
    with db.connect(dsn) as conn, db.connect(dsn) as reader, conn.transaction():
        conn.execute("DELETE FROM sophos.rejected_records WHERE sync_run_id = %s", (sync_run_id,))
        for entity in validate.ENTITIES:
            started = time.monotonic()
            if entity in validate.PAGED:
                result = stage_pages(conn, reader, sync_run_id, entity)
            else:
                result = validate.validate(entity, _landing_rows(reader, sync_run_id, entity))
                write_stage(conn, sync_run_id, result)
            if entity == "billing_usage":
                validate.enforce_threshold(result, threshold)
            write_rejected(conn, sync_run_id, result)
            summary[entity] = result.counts()
            by_check = ", ".join(f"{name} {n:,}" for name, n in sorted(result.rejected_by_check.items()))
            log.info(
                "validated %s: %s in, %s staged, %s rejected%s in %.1f s (%s)",
                entity, f"{result.received:,}", f"{result.valid_rows:,}", f"{result.rejected_rows:,}",
                f" ({by_check})" if by_check else "", time.monotonic() - started,
                ", ".join(f"{step} {seconds:.1f} s" for step, seconds in result.seconds.items()),
            )
            if result.unknown_fields:
                log.warning("schema drift in %s: new fields %s", entity, ", ".join(result.unknown_fields))
            for drift in result.type_drift:
                log.warning("schema drift in %s: %s is %s in %s records (the contract expects %s); kept, not rejected",
                            entity, drift["field"], drift["found"], f"{drift['records']:,}", drift["expected"])
        sync_run.record_counts(conn, sync_run_id, "validate", summary)
        sync_run.record_counts(
            conn, sync_run_id, "schema_drift",
            {entity: s["unknown_fields"] for entity, s in summary.items() if s["unknown_fields"]},
        )
        sync_run.record_counts(
            conn, sync_run_id, "type_drift",
            {entity: s["type_drift"] for entity, s in summary.items() if s.get("type_drift")},
        )
    return summary


def map_customers(sync_run_id: int, dsn: str | None = None) -> dict:
    from sophos_sync import review

    with db.connect(dsn) as conn, conn.transaction():
        counts = review.map_customers(conn, sync_run_id)
        sync_run.record_counts(conn, sync_run_id, "mapping", counts)
    log.info(
        "mapped customers: %s already mapped, %s auto-matched, %s unmapped",
        f"{counts.get('mapped', 0):,}", f"{counts.get('auto_matched', 0):,}", f"{counts.get('unmapped', 0):,}",
    )
    return counts


def record_unmapped(sync_run_id: int, billing_month: date, dsn: str | None = None) -> dict:
    from sophos_sync import review

    with db.connect(dsn) as conn, conn.transaction():
        counts = review.record_unmapped_customers(conn, sync_run_id, billing_month)
        sync_run.record_counts(conn, sync_run_id, "review", counts)
    log.warning(
        "unmapped customers recorded for Support: %s new, %s updated; their subscriptions were not imported "
        "(python -m sophos_sync review list)",
        f"{counts.get('inserted', 0):,}", f"{counts.get('updated', 0):,}",
    )
    return counts


def currency_mismatches(conn: psycopg.Connection, billing_month: date) -> dict:
    """Per Sophos connection: the month's lines billed in another currency than its contract's."""
    found: dict[str, dict] = {}
    for account, contract, currency, lines in conn.execute(db.sql("report/currency_mismatches"), (billing_month,)):
        entry = found.setdefault(account, {"contract_currency": contract, "lines": 0, "by_currency": {}})
        entry["lines"] += lines
        entry["by_currency"][currency or "none"] = lines
    return found


def _raw_line_amounts(sync_run_id: int, dsn: str) -> dict:
    from sophos_sync import load

    with db.connect(dsn) as conn:
        return load.raw_line_amounts(conn, sync_run_id)


def load_mirror(sync_run_id: int, billing_month: date, dsn: str | None = None) -> dict:
    from sophos_sync import load

    started = time.monotonic()
    dsn = db.resolve_dsn(dsn)  # here, not in the thread: a task looks up its Airflow connections itself
    # The raw side of the money check reads every raw line of the month (a third of the load's time when
    # done in turn); on a connection of its own it runs while the server executes the load's statements.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="raw-line-amounts") as pool, db.connect(dsn) as conn:
        raw_amounts = pool.submit(_raw_line_amounts, sync_run_id, dsn)
        counts = load.load_month(conn, sync_run_id, billing_month, raw_amounts.result)
        with conn.transaction():
            sync_run.record_counts(conn, sync_run_id, "load", counts)
            mismatches = currency_mismatches(conn, billing_month)
            sync_run.record_counts(conn, sync_run_id, "currency_mismatch", mismatches)
    for account, found in mismatches.items():
        log.warning(
            "%s: %s billing lines are not in the contract currency %s (%s); loaded as billed and flagged in "
            "finance.invoice_lines.currency_mismatch",
            account, f"{found['lines']:,}", found["contract_currency"],
            ", ".join(f"{cur} {n:,}" for cur, n in found["by_currency"].items()),
        )
    log.info("loaded billing month %s in %.1f s", billing_month.strftime("%Y-%m"), time.monotonic() - started)
    return counts


def _each_account(extract_one: Callable[[str], dict], accounts: Sequence[str], workers: int) -> list[dict]:
    if workers <= 1:
        return [extract_one(account) for account in accounts]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="extract-account") as pool:
        return list(pool.map(extract_one, accounts))


def _run_stage(name: str, step: Callable[[], object]) -> object:
    return step()


def _stage_call(name: str, billing_month: date, accounts: Sequence[str], dag_run_id: str | None,
                sync_run_id: int | None, dsn: str | None, account_workers: int = 1) -> Callable[[], object]:
    """What the DAG's task `name` calls, for all accounts at once where the DAG maps it over them."""
    for entity, stage in EXTRACT_STAGES.items():
        if name == stage:
            return lambda entity=entity: _each_account(
                lambda account: extract_entity(entity, account, sync_run_id, billing_month, dsn),
                accounts, account_workers,
            )
    return {
        "start_sync_run": lambda: start_run(dag_run_id, billing_month, dsn),
        "validate": lambda: validate_run(sync_run_id, dsn=dsn),
        "map_customers": lambda: map_customers(sync_run_id, dsn),
        "record_unmapped_customers": lambda: record_unmapped(sync_run_id, billing_month, dsn),
        "load_mirror": lambda: load_mirror(sync_run_id, billing_month, dsn),
        "reconcile_and_report": lambda: report.reconcile_and_report(sync_run_id, billing_month, dsn),
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
    mapping: dict = {}

    def run(name: str) -> object:
        return around_stage(
            name, _stage_call(name, billing_month, accounts, dag_run_id, sync_run_id, dsn, account_workers)
        )

    with ThreadPoolExecutor(max_workers=len(BESIDE), thread_name_prefix="stage-beside") as pool:
        started_beside = {}
        for name in STAGES:
            if name not in wanted or (name == "record_unmapped_customers" and not mapping.get("unmapped", 0)):
                continue
            if name in started_beside:
                started_beside.pop(name).result()
                continue
            if side_by_side:
                started_beside.update({other: pool.submit(run, other) for other, partner in BESIDE.items()
                                       if partner == name and other in wanted})
            result = run(name)
            if name == "start_sync_run":
                sync_run_id = result
            elif name == "map_customers":
                mapping = result
    return sync_run_id

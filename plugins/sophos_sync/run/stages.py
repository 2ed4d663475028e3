"""The monthly sync, stage by stage, with no Airflow in the signatures.

The DAG's tasks call these functions one each (`sophos_sync.run.runner` calls the very same ones in the DAG's
order for the benchmark and the tests). Every stage opens its own database connection and reads its input
from, and writes its output to, PostgreSQL tables keyed by the run (docs/architecture.md, The flow), so
stages can run on any worker.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from sophos_sync.entities import ENTITIES
from sophos_sync.entities import entity as declared
from sophos_sync.extract.landing import Job
from sophos_sync.run import sync_run
from sophos_sync.settings import settings
from sophos_sync.warehouse import db, migrations

log = logging.getLogger(__name__)


def ensure_schema(dsn: str | None = None) -> list[str]:
    with db.connect(dsn) as conn:
        return migrations.migrate(conn)


def start_run(dag_run_id: str, billing_month: date, dsn: str | None = None) -> int:
    with db.connect(dsn) as conn:
        sync_run_id = sync_run.begin(conn, dag_run_id, billing_month)
    log.info("sync run %d for billing month %s (%s)", sync_run_id, billing_month.strftime("%Y-%m"), dag_run_id)
    return sync_run_id


def _hook(account: str):
    from sophos_sync.sophos.hook import SophosHook

    return SophosHook(account)


def report_available(billing_month: date, accounts: list[str]) -> bool:
    """True once every account's invoice report of the month exists (Sophos answers 404 until then)."""
    waiting = []
    for account in accounts:
        with _hook(account).get_client() as client:
            if not client.billing_report_exists(billing_month.year, billing_month.month):
                waiting.append(account)
    if waiting:
        log.info(
            "billing report %s not published yet for %s; waiting", billing_month.strftime("%Y-%m"), ", ".join(waiting)
        )
    return not waiting


def extract_entity(entity: str, account: str, sync_run_id: int, billing_month: date, dsn: str | None = None) -> dict:
    """One entity of one Sophos connection into the landing tables (sophos_sync.extract)."""
    extract = declared(entity).extractor
    hook = _hook(account)
    with hook.get_client() as client, db.connect(dsn) as conn:
        return extract(conn, client, Job(sync_run_id, account, billing_month, hook.contract_currency))


def validate_run(sync_run_id: int, threshold: float | None = None, dsn: str | None = None) -> dict:
    """Landing → contracts → stage tables and rejected rows, all entities in one transaction.

    Billing lines are staged chunk by chunk as they are judged, so memory does not grow with the month.
    ContractViolation (whole-entity breakage) or RejectionThresholdExceeded roll the transaction back:
    nothing is staged, and the month's loaded data stays as it was.
    """
    from sophos_sync.validation.judge import enforce_threshold
    from sophos_sync.validation.stage import stage_entity, write_rejected

    threshold = settings.REJECT_THRESHOLD if threshold is None else threshold
    summary: dict[str, dict] = {}
    with db.connect(dsn) as conn, db.connect(dsn) as reader, conn.transaction():
        conn.execute("DELETE FROM sophos.rejected_records WHERE sync_run_id = %s", (sync_run_id,))
        for entity in ENTITIES:
            started = time.monotonic()
            result = stage_entity(conn, reader, sync_run_id, entity)
            if entity.rejection_threshold:
                enforce_threshold(result, threshold)
            write_rejected(conn, sync_run_id, result)
            summary[entity.name] = result.counts()
            by_check = ", ".join(f"{name} {n:,}" for name, n in sorted(result.rejected_by_check.items()))
            log.info(
                "validated %s: %s in, %s staged, %s rejected%s in %.1f s (%s)",
                entity.name,
                f"{result.received:,}",
                f"{result.valid_rows:,}",
                f"{result.rejected_rows:,}",
                f" ({by_check})" if by_check else "",
                time.monotonic() - started,
                ", ".join(f"{step} {seconds:.1f} s" for step, seconds in result.seconds.items()),
            )
            if result.unknown_fields:
                log.warning(
                    "schema drift in %s: new fields %s%s",
                    entity.name,
                    ", ".join(result.unknown_fields),
                    f" and {result.unknown_fields_more:,} more" if result.unknown_fields_more else "",
                )
            for drift in result.type_drift:
                log.warning(
                    "schema drift in %s: %s is %s in %s records (the contract expects %s); kept, not rejected",
                    entity.name,
                    drift["field"],
                    drift["found"],
                    f"{drift['records']:,}",
                    drift["expected"],
                )
        sync_run.record_counts(conn, sync_run_id, "validate", summary)
        sync_run.record_counts(
            conn,
            sync_run_id,
            "schema_drift",
            {entity: s["unknown_fields"] for entity, s in summary.items() if s["unknown_fields"]},
        )
        more = {entity: s["unknown_fields_more"] for entity, s in summary.items() if s.get("unknown_fields_more")}
        if more:
            sync_run.record_counts(conn, sync_run_id, "schema_drift_more", more)
        sync_run.record_counts(
            conn,
            sync_run_id,
            "type_drift",
            {entity: s["type_drift"] for entity, s in summary.items() if s.get("type_drift")},
        )
    return summary


def map_customers(sync_run_id: int, dsn: str | None = None) -> dict:
    from sophos_sync.mapping import customers

    with db.connect(dsn) as conn, conn.transaction():
        counts = customers.map_customers(conn, sync_run_id)
        sync_run.record_counts(conn, sync_run_id, "mapping", counts)
    log.info(
        "mapped customers: %s already mapped, %s auto-matched, %s unmapped",
        f"{counts.get('mapped', 0):,}",
        f"{counts.get('auto_matched', 0):,}",
        f"{counts.get('unmapped', 0):,}",
    )
    return counts


def record_unmapped(sync_run_id: int, billing_month: date, dsn: str | None = None) -> dict:
    from sophos_sync.review import workflow

    with db.connect(dsn) as conn, conn.transaction():
        counts = workflow.record_unmapped_customers(conn, sync_run_id, billing_month)
        sync_run.record_counts(conn, sync_run_id, "review", counts)
    log.warning(
        "unmapped customers recorded for Support: %s new, %s updated; their subscriptions were not imported "
        "(python -m sophos_sync review list)",
        f"{counts.get('inserted', 0):,}",
        f"{counts.get('updated', 0):,}",
    )
    return counts


def _raw_line_amounts(sync_run_id: int, dsn: str) -> dict:
    from sophos_sync.load import reconcile

    with db.connect(dsn) as conn:
        return reconcile.raw_line_amounts(conn, sync_run_id)


def load_mirror(sync_run_id: int, billing_month: date, dsn: str | None = None) -> dict:
    from sophos_sync.load import mirror, reconcile

    started = time.monotonic()
    dsn = db.resolve_dsn(dsn)  # here, not in the thread: a task looks up its Airflow connections itself
    # The raw side of the money check reads every raw line of the month (a third of the load's time when
    # done in turn); on a connection of its own it runs while the server executes the load's statements.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="raw-line-amounts") as pool, db.connect(dsn) as conn:
        raw_amounts = pool.submit(_raw_line_amounts, sync_run_id, dsn)
        counts = mirror.load_month(conn, sync_run_id, billing_month, raw_amounts.result)
        with conn.transaction():
            sync_run.record_counts(conn, sync_run_id, "load", counts)
            mismatches = reconcile.currency_mismatches(conn, billing_month)
            sync_run.record_counts(conn, sync_run_id, "currency_mismatch", mismatches)
    for account, found in mismatches.items():
        log.warning(
            "%s: %s billing lines are not in the contract currency %s (%s); loaded as billed and flagged in "
            "finance.invoice_lines.currency_mismatch",
            account,
            f"{found['lines']:,}",
            found["contract_currency"],
            ", ".join(f"{cur} {n:,}" for cur, n in found["by_currency"].items()),
        )
    log.info("loaded billing month %s in %.1f s", billing_month.strftime("%Y-%m"), time.monotonic() - started)
    return counts

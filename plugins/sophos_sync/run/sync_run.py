"""The sync run: one row of sophos.sync_runs per DAG run and billing month, from open to summary.

A run is opened 'running' by its first task, each stage merges its counts into the row under its own key,
the report closes it 'succeeded' (or the failure callback 'failed') and drops its landing and staging rows;
the row, its counts and its rejected records stay as the run's report. SQL in include/sql/sync_run/.
"""

from __future__ import annotations

import logging
from datetime import date

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from sophos_sync.settings import settings
from sophos_sync.warehouse import db

log = logging.getLogger(__name__)

TOP_UNMAPPED = 5


def begin(conn: psycopg.Connection, dag_run_id: str, billing_month: date) -> int:
    """The run's id; a cleared and re-run DAG run reuses its row (and starts over as 'running')."""
    with conn.transaction():
        (sync_run_id,) = db.one(conn, "sync_run/open", {"dag_run_id": dag_run_id, "billing_month": billing_month})
    return sync_run_id


def record_counts(conn: psycopg.Connection, sync_run_id: int, stage: str, counts: dict) -> None:
    """Within the caller's transaction: a stage's counts, committed with the stage's own work."""
    conn.execute(
        db.sql("sync_run/record_counts"), {"sync_run_id": sync_run_id, "stage": stage, "counts": Jsonb(counts)}
    )


def finish(conn: psycopg.Connection, sync_run_id: int, status: str, counts: dict) -> None:
    """Close the run: status (succeeded|failed), finished_at, and counts merged into what stages recorded."""
    with conn.transaction():
        changed = conn.execute(
            db.sql("sync_run/finish"), {"sync_run_id": sync_run_id, "status": status, "counts": Jsonb(counts)}
        ).rowcount
    if not changed:
        raise ValueError(f"sync run {sync_run_id} does not exist; nothing to finish")
    log.info("sync run %d finished: %s", sync_run_id, status)


def fail(conn: psycopg.Connection, dag_run_id: str, message: str) -> None:
    """The DAG run's sync run, if still running, becomes 'failed' with the message as its error."""
    with conn.transaction():
        conn.execute(db.sql("sync_run/fail"), {"dag_run_id": dag_run_id, "message": Jsonb(message)})


def cleanup(conn: psycopg.Connection, sync_run_id: int) -> None:
    """Drop the landing and staging rows of a finished run (the run row and rejected records stay)."""
    with conn.transaction():
        (deleted,) = db.one(conn, "sync_run/cleanup", {"sync_run_id": sync_run_id})
    log.info("cleaned up sync run %d: %s landing and staging rows dropped", sync_run_id, f"{deleted:,}")


def purge_raw_records(
    conn: psycopg.Connection, sync_run_id: int, rejected_days: int | None = None, landing_days: int | None = None
) -> tuple[int, int]:
    """After `sync_run_id` loaded its month: drop the raw records (personal data) no one needs any more
    (include/sql/sync_run/purge_raw_records.sql). Returns (landing rows, rejected records) dropped."""
    params = {
        "sync_run_id": sync_run_id,
        "rejected_days": settings.REJECTED_RETENTION_DAYS if rejected_days is None else rejected_days,
        "landing_days": settings.LANDING_RETENTION_DAYS if landing_days is None else landing_days,
    }
    with conn.transaction():
        landing, rejected = db.one(conn, "sync_run/purge_raw_records", params)
    if landing or rejected:
        log.info(
            "purged raw records: %s landing rows of runs that did not load, %s rejected records past retention",
            f"{landing:,}",
            f"{rejected:,}",
        )
    return landing, rejected


def top_unmapped(conn: psycopg.Connection, billing_month: date, limit: int = TOP_UNMAPPED) -> list[dict]:
    """The open unmapped customers billed most in `billing_month`, with that month's amounts."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(db.sql("sync_run/top_unmapped"), {"billing_month": billing_month, "limit": limit}).fetchall()


def summary(conn: psycopg.Connection, sync_run_id: int) -> dict:
    """What the run did, as recorded in its row, and the open unmapped customers that bill the most in its month."""
    billing_month, status, started_at, finished_at, counts, dag_run_id = db.one(
        conn, "sync_run/summary", {"sync_run_id": sync_run_id}
    )
    return {
        "sync_run_id": sync_run_id,
        "dag_run_id": dag_run_id,
        "billing_month": billing_month.strftime("%Y-%m"),
        "status": status,
        "seconds": round((finished_at - started_at).total_seconds(), 1) if finished_at else None,
        "counts": counts,
        "top_unmapped": top_unmapped(conn, billing_month),
    }

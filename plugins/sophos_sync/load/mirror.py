"""Load: the run's staged rows → the PostgreSQL mirror and the month's invoice lines, in one transaction.

Set-based SQL only (include/sql/load/*.sql); validate has already COPYed the rows into the stage tables.
The mirror (customers, subscriptions, their status history) holds Sophos's current state and moves
only forward: a backfill of an older month reloads that month's invoice lines and leaves it alone.
"""

from __future__ import annotations

import calendar
import logging
import time
from collections.abc import Callable
from datetime import date

import psycopg

from sophos_sync.load.reconcile import reconcile
from sophos_sync.warehouse import db

log = logging.getLogger(__name__)


def _run(conn: psycopg.Connection, name: str, params: dict) -> int:
    """Execute include/sql/load/<name>.sql; the number of rows it changed."""
    return conn.execute(db.sql(f"load/{name}"), params).rowcount


def month_end(billing_month: date) -> date:
    return billing_month.replace(day=calendar.monthrange(billing_month.year, billing_month.month)[1])


def load_month(
    conn: psycopg.Connection, sync_run_id: int, billing_month: date, raw_amounts: Callable[[], dict] | None = None
) -> dict:
    """Load the run's staged month in ONE transaction and reconcile it before the commit.

    Commits when the connection has no transaction open (the normal case); inside a caller's transaction
    it works in a savepoint and the caller commits. Loads are serialized: a second one waits for the
    first to commit and then runs against the new state. A ReconciliationError rolls everything back,
    so the month keeps its previous data. `raw_amounts` gives the raw side of the money check when the
    caller computes it elsewhere (see reconcile).
    """
    from sophos_sync.review import workflow

    started = time.monotonic()
    params = {"sync_run_id": sync_run_id, "billing_month": billing_month, "reference_date": month_end(billing_month)}
    with conn.transaction():
        conn.execute(db.sql("load/lock_loads"))
        conn.execute(db.sql("load/analyze_stage"))
        row = conn.execute(db.sql("load/mirror_as_of")).fetchone()
        as_of = row[0] if row else None
        mirror = as_of is None or billing_month >= as_of
        # Additive and never overwriting: also done on a backfill, so its lines are mapped like a current run's.
        counts: dict = {
            "customer_mappings": {
                "dropped_seller_changed": _run(conn, "drop_seller_changed_mappings", params),
                "auto_inserted": _run(conn, "insert_auto_mappings", params),
            }
        }
        if mirror:
            log.info(
                "loading %s into the mirror (mirror was at %s)",
                f"{billing_month:%Y-%m}",
                f"{as_of:%Y-%m}" if as_of else "nothing yet",
            )
            counts.update(_load_mirror(conn, params))
        else:
            log.info(
                "backfill of %s: the mirror stays at %s; only the month's invoice lines are reloaded",
                f"{billing_month:%Y-%m}",
                f"{as_of:%Y-%m}",
            )
        counts["mirror"] = "applied" if mirror else "skipped (backfill)"
        counts["invoice_lines"] = replace_invoice_lines(conn, sync_run_id, billing_month)
        counts["review_closed"] = workflow.close_resolved(conn, sync_run_id)
        counts["reconciliation"] = reconcile(conn, sync_run_id, billing_month, raw_amounts)
    log.info(
        "loaded %s (sync run %d): %s in %.1f s",
        f"{billing_month:%Y-%m}",
        sync_run_id,
        _summary(counts),
        time.monotonic() - started,
    )
    return counts


def _summary(counts: dict) -> str:
    lines = counts["invoice_lines"]
    parts = [f"invoice lines {lines['inserted']:,} (replacing {lines['deleted']:,})"]
    if "customers" in counts:
        c, s, h = counts["customers"], counts["subscriptions"], counts["status_history"]
        parts += [
            f"customers +{c['inserted']:,} ~{c['updated']:,} removed {c['removed']:,}",
            f"subscriptions +{s['inserted']:,} ~{s['updated']:,} cancelled as vanished {s['cancelled_vanished']:,}",
            f"status changes {h['closed']:,}",
        ]
    mappings = counts["customer_mappings"]
    parts.append(f"auto mappings {mappings['auto_inserted']:,}")
    if mappings["dropped_seller_changed"]:
        parts.append(
            f"mappings to another seller's organization taken out of use {mappings['dropped_seller_changed']:,}"
        )
    return ", ".join(parts)


def _load_mirror(conn: psycopg.Connection, params: dict) -> dict:
    customers = db.one_by_name(conn, "load/merge_customers", params)
    customers["removed"] = _run(conn, "mark_removed_customers", params)
    subscriptions = db.one_by_name(conn, "load/merge_subscriptions", params)
    subscriptions["cancelled_vanished"] = _run(conn, "cancel_vanished_subscriptions", params)
    history = {
        "closed": _run(conn, "close_status_history", params),
        "opened": _run(conn, "open_status_history", params),
    }
    _run(conn, "set_mirror_as_of", params)
    return {"customers": customers, "subscriptions": subscriptions, "status_history": history}


def replace_invoice_lines(conn: psycopg.Connection, sync_run_id: int, billing_month: date) -> dict:
    """Within the caller's transaction: the month's invoice lines become exactly the run's valid lines."""
    params = {"sync_run_id": sync_run_id, "billing_month": billing_month}
    deleted = _run(conn, "delete_invoice_month", params)
    return {"deleted": deleted, "inserted": _run(conn, "insert_invoice_month", params)}

"""The run report: reconcile the committed month, close the run, and say what happened in a few lines."""
from __future__ import annotations

import logging
from datetime import date

import psycopg

from sophos_sync import db

log = logging.getLogger(__name__)

TOP_UNMAPPED = 5


def _fmt(n) -> str:
    return f"{n:,}" if isinstance(n, int) else str(n)


def top_unmapped(conn: psycopg.Connection, limit: int = TOP_UNMAPPED) -> list[dict]:
    rows = conn.execute(
        """SELECT sophos_customer_id::text, customer_name, reason, billed_amount, currency, subscription_count
           FROM review.unmapped_customers WHERE status = 'open'
           ORDER BY billed_amount DESC NULLS LAST, customer_name LIMIT %s""",
        (limit,),
    ).fetchall()
    keys = ("sophos_customer_id", "customer_name", "reason", "billed_amount", "currency", "subscription_count")
    return [dict(zip(keys, row)) for row in rows]


def run_summary(conn: psycopg.Connection, sync_run_id: int) -> dict:
    row = conn.execute(
        """SELECT billing_month, status, started_at, finished_at, counts, dag_run_id
           FROM sophos.sync_runs WHERE sync_run_id = %s""",
        (sync_run_id,),
    ).fetchone()
    billing_month, status, started_at, finished_at, counts, dag_run_id = row
    return {
        "sync_run_id": sync_run_id,
        "dag_run_id": dag_run_id,
        "billing_month": billing_month.strftime("%Y-%m"),
        "status": status,
        "seconds": round((finished_at - started_at).total_seconds(), 1) if finished_at else None,
        "counts": counts,
        "top_unmapped": top_unmapped(conn),
    }


def format_summary(summary: dict) -> str:
    counts = summary["counts"]
    validated = counts.get("validate", {})
    mapping = counts.get("mapping", {})
    lines = [
        f"Sophos sync {summary['billing_month']} (sync run {summary['sync_run_id']}): {summary['status']}"
        + (f" in {summary['seconds']} s" if summary["seconds"] is not None else "")
    ]
    extracted = " · ".join(
        f"{entity} {_fmt(v.get('received', 0))}" for entity, v in validated.items()
    )
    lines.append(f"  extracted   {extracted or 'nothing'}")
    rejected = " · ".join(
        f"{entity} {_fmt(v.get('rejected', 0))}"
        + (
            " (" + ", ".join(f"{c} {_fmt(n)}" for c, n in sorted(v.get("rejected_by_check", {}).items())) + ")"
            if v.get("rejected_by_check")
            else ""
        )
        for entity, v in validated.items()
    )
    lines.append(f"  rejected    {rejected or 'nothing'}")
    collapsed = validated.get("billing_usage", {}).get("collapsed_duplicates", 0)
    if collapsed:
        lines.append(f"  collapsed   {_fmt(collapsed)} identical duplicate billing lines")
    lines.append(
        f"  customers   mapped {_fmt(mapping.get('mapped', 0))} · auto-matched {_fmt(mapping.get('auto_matched', 0))}"
        f" · unmapped {_fmt(mapping.get('unmapped', 0))}"
        + _reasons(mapping)
    )
    load = counts.get("load", {})
    if load:
        lines.append("  loaded      " + _flatten(load))
    reconcile = counts.get("reconcile", {})
    if reconcile:
        lines.append("  reconciled  " + _flatten(reconcile))
    for account, found in counts.get("currency_mismatch", {}).items():
        lines.append(
            f"  currency    {account}: {_fmt(found['lines'])} lines not in the contract currency "
            f"{found['contract_currency']} (" + ", ".join(f"{c} {_fmt(n)}" for c, n in found["by_currency"].items())
            + "), flagged in finance.invoice_lines"
        )
    drift = counts.get("schema_drift", {})
    if drift:
        lines.append("  drift       " + "; ".join(f"{e}: new fields {', '.join(f)}" for e, f in drift.items()))
    if summary["top_unmapped"]:
        lines.append("  top unmapped customers by amount (python -m sophos_sync review list):")
        for row in summary["top_unmapped"]:
            amount = f"{row['billed_amount']:,.2f} {row['currency'] or ''}".strip() if row["billed_amount"] else "-"
            name = str(row["customer_name"]).strip()  # stored as Sophos spells it, stray spaces too; aligned here
            lines.append(f"    {amount:>16}  {name:40.40}  {row['reason']:<14} {row['sophos_customer_id']}")
    return "\n".join(lines)


def _reasons(mapping: dict) -> str:
    reasons = {k: v for k, v in mapping.items() if k in ("no_match", "ambiguous", "unknown_seller") and v}
    return " (" + ", ".join(f"{k} {_fmt(v)}" for k, v in reasons.items()) + ")" if reasons else ""


def _flatten(values: dict, prefix: str = "") -> str:
    parts = []
    for key, value in values.items():
        if isinstance(value, dict):
            parts.append(_flatten(value, f"{prefix}{key}."))
        elif isinstance(value, list):
            continue
        else:
            parts.append(f"{prefix}{key} {_fmt(value)}")
    return " · ".join(p for p in parts if p)


def reconcile_and_report(sync_run_id: int, billing_month: date, dsn: str | None = None) -> dict:
    """Re-reconciles the committed month, marks the run succeeded, drops its landing data, logs the summary."""
    from sophos_sync import load

    with db.connect(dsn) as conn:
        figures = load.reconcile(conn, sync_run_id, billing_month)
        conn.commit()
        load.finish_run(conn, sync_run_id, "succeeded", {"reconcile": figures})
        load.cleanup_run(conn, sync_run_id)
        conn.commit()
        summary = run_summary(conn, sync_run_id)
    for line in format_summary(summary).splitlines():
        log.info("%s", line)
    return {"status": summary["status"], "billing_month": summary["billing_month"], "sync_run_id": sync_run_id}

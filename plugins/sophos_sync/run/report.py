"""The run report: reconcile the committed month, close the run, and say what happened in a few lines."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal, InvalidOperation

import psycopg

from sophos_sync.mapping.outcomes import REASONS
from sophos_sync.run import sync_run
from sophos_sync.warehouse import db

log = logging.getLogger(__name__)

MAX_NOTE_CHARS = 1000  # Airflow's REST API refuses longer DAG run notes


def _fmt(n) -> str:
    return f"{n:,}" if isinstance(n, int) else str(n)


def format_summary(summary: dict) -> str:
    """sync_run.summary as a few lines for the task log and the demo."""
    counts = summary["counts"]
    validated = counts.get("validate", {})
    mapping = counts.get("mapping", {})
    lines = [
        f"Sophos sync {summary['billing_month']} (sync run {summary['sync_run_id']}): {summary['status']}"
        + (f" in {summary['seconds']} s" if summary["seconds"] is not None else "")
    ]
    extracted = " · ".join(f"{entity} {_fmt(v.get('received', 0))}" for entity, v in validated.items())
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
        f" · unmapped {_fmt(mapping.get('unmapped', 0))}" + _reasons(mapping)
    )
    load = counts.get("load", {})
    if load:
        lines.append("  loaded      " + _flatten(load))
    reconcile = counts.get("reconcile", {})
    if reconcile:
        lines.append("  reconciled  " + _flatten(reconcile))
    lines += _money_lines(counts.get("money") or {})
    for account, found in counts.get("currency_mismatch", {}).items():
        lines.append(
            f"  currency    {account}: {_fmt(found['lines'])} lines not in the contract currency "
            f"{found['contract_currency']} ("
            + ", ".join(f"{c} {_fmt(n)}" for c, n in found["by_currency"].items())
            + "), flagged in finance.invoice_lines"
        )
    drift = counts.get("schema_drift", {})
    more = counts.get("schema_drift_more", {})
    if drift:
        lines.append(
            "  drift       "
            + "; ".join(
                f"{e}: new fields {', '.join(f)}" + (f" and {_fmt(more[e])} more" if more.get(e) else "")
                for e, f in drift.items()
            )
        )
    for entity, changed in counts.get("type_drift", {}).items():
        lines.append(
            f"  drift       {entity}: "
            + "; ".join(
                f"{d['field']} is {d['found']} (was {d['expected']}) in {_fmt(d['records'])} records, kept"
                for d in changed
            )
        )
    if summary["top_unmapped"]:
        lines.append(
            f"  top unmapped customers by amount in {summary['billing_month']} (python -m sophos_sync review list):"
        )
        for row in summary["top_unmapped"]:
            amount = f"{row['billed_amount']:,.2f} {row['currency'] or ''}".strip() if row["billed_amount"] else "-"
            name = str(row["customer_name"]).strip()  # stored as Sophos spells it, stray spaces too; aligned here
            lines.append(f"    {amount:>16}  {name:40.40}  {row['reason']:<14} {row['sophos_customer_id']}")
    return "\n".join(lines)


ORDER_LINE_STATUSES = ("consistent", "per_unit", "discounted_unit", "mismatch", "unpriced")


def _amounts(by_currency: dict) -> str:
    return ", ".join(f"{currency} {_amount(amount)}" for currency, amount in sorted(by_currency.items()))


def _money_lines(money: dict) -> list[str]:
    """The month's money as Sophos means it (report/money.sql), a line per kind, each said only when it is there."""
    if not money:
        return []
    statuses = money.get("order_lines", {})
    checked = ", ".join(
        f"{_fmt(statuses[status])} {status}"
        + (
            f" ({_amounts(money['mismatched_amounts'])} apart)"
            if status == "mismatch" and money.get("mismatched_amounts")
            else ""
        )
        for status in ORDER_LINE_STATUSES
        if statuses.get(status)
    )
    lines = [f"  order lines {checked or 'none'} (finance.order_line_checks)"]
    if money.get("credit_lines"):
        lines.append(
            f"  credits     {_fmt(money['credit_lines'])} credit lines"
            + (f", {_amounts(money['credit_amounts'])}" if money.get("credit_amounts") else "")
        )
    if money.get("unpriced_lines"):
        lines.append(
            f"  unpriced    {_fmt(money['unpriced_lines'])} lines ({_fmt(money['unpriced_units'])} units) have "
            "no price from Sophos or the price list: no amount"
        )
    if money.get("price_list_lines"):
        lines.append(
            f"  price list  valued {_fmt(money['price_list_lines'])} lines Sophos sent without a unit price ("
            f"{_amounts(money['price_list_amounts'])})"
        )
    if money.get("price_deviations"):
        lines.append(
            f"  deviations  {_fmt(money['price_deviations'])} lines priced by Sophos off the price list ("
            f"{_amounts(money['price_deviation_amounts'])} over the list; finance.price_deviations)"
        )
    return lines


def _reasons(mapping: dict) -> str:
    reasons = {k: v for k, v in mapping.items() if k in REASONS and v}
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


def _amount(value) -> str:
    try:
        return f"{Decimal(str(value)):,.2f}"
    except InvalidOperation:
        return str(value)


def one_line(summary: dict) -> str:
    """The run summary of sync_run.summary in one line, e.g.
    `2026-10 succeeded: 399 of 400 invoice lines loaded, 1 rejected · customers: 44 mapped, 16 unmapped
    (review list) · EUR 48,839.77 · USD 54,042.20`."""
    counts = summary.get("counts") or {}
    lines = (counts.get("reconcile") or {}).get("lines") or {}
    mapping = counts.get("mapping") or {}
    parts = []
    if lines:
        loaded = f"{lines.get('loaded', 0):,} of {lines.get('reported', 0):,} invoice lines loaded"
        if lines.get("rejected"):
            loaded += f", {lines['rejected']:,} rejected"
        parts.append(loaded)
    if mapping:
        mapped = mapping.get("mapped", 0) + mapping.get("auto_matched", 0)
        customers = f"customers: {mapped:,} mapped"
        if mapping.get("unmapped"):
            customers += f", {mapping['unmapped']:,} unmapped (review list)"
        parts.append(customers)
    amounts = (counts.get("reconcile") or {}).get("amounts") or {}
    parts += [f"{currency} {_amount(value)}" for currency, value in sorted(amounts.items())]
    money = counts.get("money") or {}
    if money.get("unpriced_lines"):
        parts.append(f"{money['unpriced_lines']:,} lines without a price")
    if (money.get("order_lines") or {}).get("mismatch"):
        parts.append(f"{money['order_lines']['mismatch']:,} order lines mismatch (finance.order_line_checks)")
    head = f"{summary['billing_month']} {summary['status']}"
    return (f"{head}: " + " · ".join(parts) if parts else head)[:MAX_NOTE_CHARS]


def staged_line_amounts(conn: psycopg.Connection, sync_run_id: int) -> dict:
    """Per currency, the money of the billing lines validation staged for the run, summed by PostgreSQL."""
    return dict(conn.execute(db.sql("report/stage_line_amounts"), {"sync_run_id": sync_run_id}).fetchall())


def _staged_line_amounts(sync_run_id: int, dsn: str) -> dict:
    with db.connect(dsn) as conn:
        return staged_line_amounts(conn, sync_run_id)


def money_figures(conn: psycopg.Connection, billing_month: date) -> dict:
    """The committed month's order-line checks, credits, unpriced lines and price list figures."""
    return db.one(conn, "report/money", {"billing_month": billing_month})[0]


def _money_figures(billing_month: date, dsn: str) -> dict:
    with db.connect(dsn) as conn:
        return money_figures(conn, billing_month)


def reconcile_and_report(sync_run_id: int, billing_month: date, dsn: str | None = None) -> dict:
    """Re-reconciles the committed month, marks the run succeeded, drops its landing data, logs the summary;
    returns the summary's one line for the run note.

    The load already checked the month's money against the raw API records before its commit; this re-check
    asks PostgreSQL alone whether what was committed still matches what was staged (counts and per-currency
    sums), without reading the month's raw JSON again."""
    from sophos_sync.load.reconcile import reconcile

    dsn = db.resolve_dsn(dsn)  # here, not in the thread: a task looks up its Airflow connections itself
    # The staged side is summed, and the month's money figures are gathered, on connections of their own while
    # the loaded side is summed on this one.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="report") as pool, db.connect(dsn) as conn:
        staged = pool.submit(_staged_line_amounts, sync_run_id, dsn)
        money = pool.submit(_money_figures, billing_month, dsn)
        figures = reconcile(
            conn,
            sync_run_id,
            billing_month,
            staged.result,
            compared_with="the lines validation staged",
        )
        conn.commit()
        sync_run.finish(conn, sync_run_id, "succeeded", {"reconcile": figures, "money": money.result()})
        sync_run.cleanup(conn, sync_run_id)
        sync_run.purge_raw_records(conn, sync_run_id)
        conn.commit()
        summary = sync_run.summary(conn, sync_run_id)
    for line in format_summary(summary).splitlines():
        log.info("%s", line)
    return {
        "status": summary["status"],
        "billing_month": summary["billing_month"],
        "sync_run_id": sync_run_id,
        "note": one_line(summary),
    }

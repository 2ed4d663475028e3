"""Load: the run's staged rows → the PostgreSQL mirror and the month's invoice lines, in one transaction.

Set-based SQL only (include/sql/load/*.sql); validate has already COPYed the rows into the stage tables.
The mirror (customers, subscriptions, their status history) holds Sophos's current state and moves
only forward: a backfill of an older month reloads that month's invoice lines and leaves it alone.
"""
from __future__ import annotations

import calendar
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from operator import attrgetter
from typing import Any

import msgspec
import psycopg

from sophos_sync import db
from sophos_sync.errors import ReconciliationError

log = logging.getLogger(__name__)

NO_CURRENCY = "no currency"


def _run(conn: psycopg.Connection, name: str, params: dict) -> int:
    """Execute include/sql/load/<name>.sql; the number of rows it changed."""
    return conn.execute(db.sql(f"load/{name}"), params).rowcount


def _row(conn: psycopg.Connection, name: str, params: dict) -> dict:
    cur = conn.execute(db.sql(f"load/{name}"), params)
    return dict(zip((c.name for c in cur.description), cur.fetchone()))


def month_end(billing_month: date) -> date:
    return billing_month.replace(day=calendar.monthrange(billing_month.year, billing_month.month)[1])


def load_month(conn: psycopg.Connection, sync_run_id: int, billing_month: date,
               raw_amounts: Callable[[], dict] | None = None) -> dict:
    """Load the run's staged month in ONE transaction and reconcile it before the commit.

    Commits when the connection has no transaction open (the normal case); inside a caller's transaction
    it works in a savepoint and the caller commits. Loads are serialized: a second one waits for the
    first to commit and then runs against the new state. A ReconciliationError rolls everything back,
    so the month keeps its previous data. `raw_amounts` gives the raw side of the money check when the
    caller computes it elsewhere (see reconcile).
    """
    from sophos_sync import review   # pandas-heavy: imported when a load runs, not when the DAG is parsed

    started = time.monotonic()
    params = {"sync_run_id": sync_run_id, "billing_month": billing_month, "reference_date": month_end(billing_month)}
    with conn.transaction():
        conn.execute(db.sql("load/lock_loads"))
        conn.execute(db.sql("load/analyze_stage"))
        row = conn.execute(db.sql("load/mirror_as_of")).fetchone()
        as_of = row[0] if row else None
        mirror = as_of is None or billing_month >= as_of
        # Additive and never overwriting: also done on a backfill, so its lines are mapped like a current run's.
        counts: dict = {"customer_mappings": {
            "dropped_seller_changed": _run(conn, "drop_seller_changed_mappings", params),
            "auto_inserted": _run(conn, "insert_auto_mappings", params),
        }}
        if mirror:
            log.info(
                "loading %s into the mirror (mirror was at %s)",
                f"{billing_month:%Y-%m}", f"{as_of:%Y-%m}" if as_of else "nothing yet",
            )
            counts.update(_load_mirror(conn, params))
        else:
            log.info(
                "backfill of %s: the mirror stays at %s; only the month's invoice lines are reloaded",
                f"{billing_month:%Y-%m}", f"{as_of:%Y-%m}",
            )
        counts["mirror"] = "applied" if mirror else "skipped (backfill)"
        counts["invoice_lines"] = replace_invoice_lines(conn, sync_run_id, billing_month)
        counts["review_closed"] = review.close_resolved(conn, sync_run_id)
        counts["reconciliation"] = reconcile(conn, sync_run_id, billing_month, raw_amounts)
    log.info("loaded %s (sync run %d): %s in %.1f s", f"{billing_month:%Y-%m}", sync_run_id, _summary(counts),
             time.monotonic() - started)
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
        parts.append(f"mappings to another seller's organization taken out of use {mappings['dropped_seller_changed']:,}")
    return ", ".join(parts)


def _load_mirror(conn: psycopg.Connection, params: dict) -> dict:
    customers = _row(conn, "merge_customers", params)
    customers["removed"] = _run(conn, "mark_removed_customers", params)
    subscriptions = _row(conn, "merge_subscriptions", params)
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


def reconcile(conn: psycopg.Connection, sync_run_id: int, billing_month: date,
              raw_amounts: Callable[[], dict] | None = None, compared_with: str = "the raw API records") -> dict:
    """Check the month's loaded lines against what Sophos reported; raise ReconciliationError if they differ.

    Counts: loaded + rejected + collapsed identical duplicates == the API's announced count.
    Money: per currency, sum(line_amount) in PostgreSQL == the Decimal sum over the raw landing JSON of
    the lines validation kept (identical duplicates once). Needs the run's landing rows (before sync_run.cleanup).
    The raw side is `raw_amounts()` when given (the same figures computed on another connection, e.g. while
    the load ran, or the staged lines' sums after the commit: `compared_with` names it), else it is computed here.
    """
    started = time.monotonic()
    params = {"sync_run_id": sync_run_id, "billing_month": billing_month}
    with conn.transaction():
        per_currency = conn.execute(db.sql("load/reconcile_loaded"), params).fetchall()
        lines = {"loaded": sum(count for _, count, _ in per_currency),
                 **_row(conn, "reconcile_line_counts", params)}
        loaded_amounts = {currency: amount for currency, _, amount in per_currency}
        raw = raw_amounts() if raw_amounts else raw_line_amounts(conn, sync_run_id)
    month = f"{billing_month:%Y-%m}"
    if lines["reported"] is None:
        raise ReconciliationError(
            f"billing month {month} (sync run {sync_run_id}): no billing report was extracted for this run, "
            f"so its {lines['loaded']:,} loaded lines cannot be checked; re-run the extract. Nothing was committed."
        )
    if lines["loaded"] == 0:
        # Two runs of one month (a manual run beside the scheduled one): their loads wait for each other,
        # and the later one replaces the earlier one's lines, so the earlier one finds none of its own here.
        holder = conn.execute(db.sql("load/month_loaded_by"), params).fetchone()
        if holder and holder[0] != sync_run_id:
            raise ReconciliationError(
                f"billing month {month} (sync run {sync_run_id}): another run of the same month, sync run "
                f"{holder[0]}, loaded it after this run did, so the month now holds that run's lines, which it "
                f"reconciled itself. Nothing is lost and nothing needs re-running; sync run {holder[0]}'s "
                f"report has the month's figures."
            )
    accounted = lines["loaded"] + lines["rejected"] + lines["collapsed_duplicates"]
    if accounted != lines["reported"]:
        raise ReconciliationError(
            f"billing month {month} (sync run {sync_run_id}): Sophos reported {lines['reported']:,} lines but the run "
            f"accounts for {accounted:,} (loaded {lines['loaded']:,} + rejected {lines['rejected']:,} + collapsed "
            f"duplicates {lines['collapsed_duplicates']:,}). The month was not committed; re-run it, and if the "
            f"difference stays, compare sophos.landing_pages with the report in Sophos Central."
        )
    if loaded_amounts != raw:
        raise ReconciliationError(
            f"billing month {month} (sync run {sync_run_id}): amounts differ between PostgreSQL "
            f"{_fmt_amounts(loaded_amounts)} and {compared_with} {_fmt_amounts(raw)}. The month was not "
            f"committed; a difference means prices were altered between landing and load: report it as a bug."
        )
    figures = {
        "lines": {key: int(value) for key, value in lines.items()},
        "amounts": {c or NO_CURRENCY: str(a) for c, a in sorted(loaded_amounts.items(), key=_by_currency)},
    }
    log.info(
        "reconciled %s: %s lines reported = %s loaded + %s rejected + %s collapsed; amounts %s in %.1f s",
        month, f"{lines['reported']:,}", f"{lines['loaded']:,}", f"{lines['rejected']:,}",
        f"{lines['collapsed_duplicates']:,}", _fmt_amounts(loaded_amounts), time.monotonic() - started,
    )
    return figures


def raw_line_amounts(conn: psycopg.Connection, sync_run_id: int) -> dict[str | None, Decimal]:
    """Per currency, the Decimal sum of net price x billable quantity over the run's raw billing lines that
    validation kept (identical duplicates once): the money check's side that never saw the stage tables."""
    from sophos_sync.validate import contract, line_key_of

    key_fields = contract("billing_usage").NATURAL_KEY
    fields = [*key_fields, "netPrice", "billableQuantity", "netPriceCurrency", "unitPriceCurrency"]
    # Decoded as validate decodes (msgspec, so line_key_of gives the same keys), but only these fields.
    attrs = [f"f{i}" for i in range(len(fields))]
    line = msgspec.defstruct("Line", [(a, Any, None) for a in attrs], rename=dict(zip(attrs, fields)), gc=False)
    decoder, pick = msgspec.json.Decoder(line), attrgetter(*attrs)
    params = {"sync_run_id": sync_run_id}
    rejected = {key for (key,) in conn.execute(db.sql("load/rejected_line_keys"), params)}
    seen: set[str] = set()
    totals: dict[str | None, Decimal] = defaultdict(Decimal)
    with conn.cursor(name="reconcile_raw_lines", binary=True) as cur:
        cur.itersize = 16
        cur.execute(db.sql("load/landing_billing_lines"), params)
        for (page,) in cur:
            for decoded in _page_lines(decoder, page):
                values = pick(decoded)
                key = line_key_of(values[:len(key_fields)])
                if key in rejected or key in seen:
                    continue
                seen.add(key)
                price, quantity, net_currency, unit_currency = values[len(key_fields):]
                # Prices are decimal strings (validate rejects anything else); str() so Decimal never sees a
                # float. A line without price or quantity has no amount, as line_amount is NULL in PostgreSQL.
                totals[net_currency or unit_currency] += (
                    Decimal(str(price)) * quantity if price is not None and quantity is not None else 0
                )
    return dict(totals)


def _page_lines(decoder: msgspec.json.Decoder, page: bytes) -> list:
    """A landed page's lines decoded; a line that is no JSON object (rejected by validation) is left out."""
    try:
        return decoder.decode_lines(page)
    except msgspec.DecodeError:
        pass
    decoded = []
    for text in page.split(b"\n"):
        try:
            decoded.append(decoder.decode(text))
        except msgspec.DecodeError:
            continue
    return decoded


def _by_currency(item: tuple) -> str:
    return item[0] or ""


def _fmt_amounts(amounts: dict) -> str:
    return "{" + ", ".join(f"{c or NO_CURRENCY}: {a}" for c, a in sorted(amounts.items(), key=_by_currency)) + "}"

"""Reconciliation: the month's loaded lines against what Sophos reported (line counts) and against the raw
API records (money per currency), before the load commits and again after; and the month's lines billed in
another currency than their connection's contract."""

from __future__ import annotations

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

from sophos_sync.errors import ReconciliationError
from sophos_sync.warehouse import db

log = logging.getLogger(__name__)

NO_CURRENCY = "no currency"


def reconcile(
    conn: psycopg.Connection,
    sync_run_id: int,
    billing_month: date,
    raw_amounts: Callable[[], dict] | None = None,
    compared_with: str = "the raw API records",
) -> dict:
    """Check the month's loaded lines against what Sophos reported; raise ReconciliationError if they differ.

    Counts: loaded + rejected + collapsed identical duplicates == the API's announced count.
    Money: per currency, the sum of the amounts Sophos priced (line_amount where price_source is sophos) in
    PostgreSQL == the Decimal sum of unitPrice x billableQuantity over the raw landing JSON of the lines
    validation kept (identical duplicates once). A price list's valuation is ours, so it is not compared. Needs
    the run's landing rows (before sync_run.cleanup). The raw side is `raw_amounts()` when given (the same
    figures computed on another connection, e.g. while the load ran, or the staged lines' sums after the commit:
    `compared_with` names it), else it is computed here.
    """
    started = time.monotonic()
    params = {"sync_run_id": sync_run_id, "billing_month": billing_month}
    with conn.transaction():
        per_currency = conn.execute(db.sql("load/reconcile_loaded"), params).fetchall()
        lines = {
            "loaded": sum(count for _, count, _ in per_currency),
            **db.one_by_name(conn, "load/reconcile_line_counts", params),
        }
        loaded_amounts = {currency: amount for currency, _, amount in per_currency if amount is not None}
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
        month,
        f"{lines['reported']:,}",
        f"{lines['loaded']:,}",
        f"{lines['rejected']:,}",
        f"{lines['collapsed_duplicates']:,}",
        _fmt_amounts(loaded_amounts),
        time.monotonic() - started,
    )
    return figures


def raw_line_amounts(conn: psycopg.Connection, sync_run_id: int) -> dict[str | None, Decimal]:
    """Per currency, the Decimal sum of unit price x billable quantity over the run's raw billing lines that
    validation kept (identical duplicates once) and that carry a unit price: the money check's side that never
    saw the stage tables. A line's currency is found as validation finds it: netPriceCurrency, else
    unitPriceCurrency, else the contract currency its extract recorded."""
    from sophos_sync.entities import BILLING_USAGE
    from sophos_sync.validation.contracts import contract
    from sophos_sync.validation.keys import line_key_of
    from sophos_sync.validation.stage import contract_currencies

    key_fields = contract("billing_usage").natural_key
    fields = [*key_fields, "unitPrice", "billableQuantity", "netPriceCurrency", "unitPriceCurrency"]
    # Decoded as validate decodes (msgspec, so line_key_of gives the same keys), but only these fields.
    attrs = [f"f{i}" for i in range(len(fields))]
    line = msgspec.defstruct(
        "Line", [(a, Any, None) for a in attrs], rename=dict(zip(attrs, fields, strict=True)), gc=False
    )
    decoder, pick = msgspec.json.Decoder(line), attrgetter(*attrs)
    params = {"sync_run_id": sync_run_id}
    rejected = {key for (key,) in conn.execute(db.sql("load/rejected_line_keys"), params)}
    of_contract = contract_currencies(conn, sync_run_id, BILLING_USAGE)
    seen: set[str] = set()
    totals: dict[str | None, Decimal] = defaultdict(Decimal)
    with conn.cursor(name="reconcile_raw_lines", binary=True) as cur:
        cur.itersize = 16
        cur.execute(db.sql("load/landing_billing_lines"), params)
        for account, page in cur:
            for decoded in _page_lines(decoder, page):
                values = pick(decoded)
                key = line_key_of(values[: len(key_fields)])
                if key in rejected or key in seen:
                    continue
                seen.add(key)
                price, quantity, net_currency, unit_currency = values[len(key_fields) :]
                if price is None:
                    continue  # no amount from Sophos, as line_amount is not compared for it in PostgreSQL
                # Prices are decimal strings (validate rejects anything else); str() so Decimal never sees a
                # float. A quantity is required, so a kept line has one.
                totals[net_currency or unit_currency or of_contract.get(account)] += Decimal(str(price)) * quantity
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


def currency_mismatches(conn: psycopg.Connection, billing_month: date) -> dict:
    """Per Sophos connection: the month's lines billed in another currency than its contract's."""
    found: dict[str, dict] = {}
    for account, contract, currency, lines in conn.execute(db.sql("report/currency_mismatches"), (billing_month,)):
        entry = found.setdefault(account, {"contract_currency": contract, "lines": 0, "by_currency": {}})
        entry["lines"] += lines
        entry["by_currency"][currency or "none"] = lines
    return found

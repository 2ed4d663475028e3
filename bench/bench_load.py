"""Invoice-line load vs raw COPY: 1M billing lines into the shape of sophos.invoice_lines, in the same run.

Seeds one run's stage tables with generated lines (in SQL, seeded by the row number), then per round:
  load  — the invoice-line part of load_month (replace_invoice_lines: DELETE the month, INSERT ... SELECT
          from the stage table joined with mappings, tenants and batches) and its COMMIT;
  copy  — `psql \\copy` of the very rows the load produced, from a CSV file, into an empty table created
          LIKE sophos.invoice_lines INCLUDING ALL (same columns, generated amount, keys, indexes): the
          physical limit of getting these rows into that table on this machine.
Prints both rates and load/copy (target >= 0.5). Uses a database of its own on $SOPHOS_BENCH_PG_DSN's
server, else on the project's throwaway 'bench' server (scripts/pg.sh start bench, stopped after unless
it was running), and drops it after. `python -m devtools.bench` measures the same ratio inside a
whole month; this script isolates the invoice-line statements and repeats them.

    .venv/bin/python bench/bench_load.py [--lines 1000000] [--tenants 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT)]

import psycopg  # noqa: E402

from devtools.bench import postgres  # noqa: E402
from sophos_sync.load import mirror  # noqa: E402
from sophos_sync.warehouse import db, migrations  # noqa: E402

MONTH = date(2026, 10, 1)
PARTNER = "7b1e2a34-0000-4000-8000-000000000001"
COPY_TABLE = "bench.invoice_lines_copy"

SEED = [
    """INSERT INTO sophos.landing_batches (sync_run_id, account, entity, partner_id, record_count, reported_count)
       VALUES (%(run)s, 'sophos_default', 'billing_usage', %(partner)s, %(lines)s, %(lines)s)""",
    """INSERT INTO sophos.stage_tenants (sync_run_id, account, sophos_customer_id, name, show_as, partner_id,
                                       billing_type, data_region, data_geography)
       SELECT %(run)s, 'sophos_default', ('00000000-0000-4000-8000-' || lpad(t::text, 12, '0'))::uuid,
              'Customer ' || t || ' GmbH', 'Customer ' || t, %(partner)s, 'term', 'eu01', 'DE'
       FROM generate_series(1, %(tenants)s) t""",
    # four customers in five are mapped
    """INSERT INTO sophos.customer_mappings (sophos_customer_id, platform_org_id, method, mapped_by)
       SELECT sophos_customer_id, 'org-' || substr(sophos_customer_id::text, 25), 'manual', 'bench'
       FROM sophos.stage_tenants WHERE sync_run_id = %(run)s AND right(sophos_customer_id::text, 1) <> '5'""",
    # one line in twenty is a device line without a tenant
    """INSERT INTO sophos.stage_billing_lines (
           sync_run_id, account, line_key, sophos_customer_id, partner_account_id, partner_account_name,
           order_number, order_line_item_number, account_number_or_serial_number, sku, product_code,
           product_description, product_group, billable_quantity, actual_quantity, ordered_quantity, unit_price,
           net_price, unit_msrp, price_with_taxes, additional_discount_percentage, currency, account_status,
           external_id, distributor_account_name, billing_start_date, billing_end_date)
       SELECT %(run)s, 'sophos_default',
              concat_ws('|', 'PA-1', 'SO-' || (i / 4), i %% 4, 'SN-' || i, 'CIXA-' || (i %% 40), '2026-10-01',
                        '2026-10-31'),
              CASE WHEN i %% 20 <> 0
                   THEN ('00000000-0000-4000-8000-' || lpad((i %% %(tenants)s + 1)::text, 12, '0'))::uuid END,
              'PA-1', 'North IT GmbH', 'SO-' || (i / 4), (i %% 4)::text, 'SN-' || i, 'CIXA-' || (i %% 40),
              'CIXA', 'Intercept X Advanced for Server', 'Endpoint', i %% 250 + 1, i %% 250 + 1, i %% 250 + 5,
              (i %% 997 + 1) / 100.0, (i %% 997 + 1) / 100.0 * 0.8, (i %% 997 + 1) / 100.0 * 1.1,
              (i %% 997 + 1) / 100.0 * 1.19, 20, CASE WHEN i %% 10 = 0 THEN 'USD' ELSE 'EUR' END,
              CASE WHEN i %% 50 = 0 THEN 'suspended' ELSE 'active' END, 'EXT-' || i, 'Distri AG',
              DATE '2026-10-01', DATE '2026-10-31'
       FROM generate_series(1, %(lines)s) i""",
]


def timed_load(conn: psycopg.Connection, run: int) -> tuple[float, dict]:
    started = time.perf_counter()
    with conn.transaction():
        counts = mirror.replace_invoice_lines(conn, run, MONTH)
    return time.perf_counter() - started, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with (
        postgres.throwaway_database(os.environ.get("SOPHOS_BENCH_PG_DSN"), prefix="bench_load") as dsn,
        psycopg.connect(dsn) as conn,
        tempfile.TemporaryDirectory() as tmp,
    ):
        migrations.migrate(conn)
        run = conn.execute(
            "INSERT INTO sophos.sync_runs (dag_run_id, billing_month) VALUES ('bench', %s) RETURNING sync_run_id",
            (MONTH,),
        ).fetchone()[0]
        started = time.perf_counter()
        params = {"run": run, "partner": PARTNER, "lines": args.lines, "tenants": args.tenants}
        for statement in SEED:
            conn.execute(statement, params)
        postgres.clone_table(conn, "sophos.invoice_lines", COPY_TABLE)
        columns = postgres.insertable_columns(conn, "sophos.invoice_lines")
        conn.commit()
        print(
            f"seeded {args.lines:,} stage billing lines of {args.tenants:,} tenants in "
            f"{time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        conn.execute(db.sql("load/analyze_stage"))
        conn.commit()
        print(f"load_month's ANALYZE of the stage tables (not timed below): {time.perf_counter() - started:.2f} s")

        # The first load produces the rows the COPY side reads back.
        first, counts = timed_load(conn, run)
        csv_path = Path(tmp) / "invoice_lines.csv"
        postgres.export_csv(dsn, f"SELECT {', '.join(columns)} FROM sophos.invoice_lines", csv_path)
        size_mb = csv_path.stat().st_size / 1e6
        print(f"rows per round: {counts['inserted']:,} ({size_mb:,.0f} MB as CSV)")

        loads, replaces, copies = [], [], []
        for _ in range(args.rounds):
            conn.execute("TRUNCATE sophos.invoice_lines")
            conn.commit()
            seconds, _ = timed_load(conn, run)  # a month loaded for the first time
            loads.append(seconds)
            seconds, _ = timed_load(conn, run)  # the same month again: DELETE + INSERT
            replaces.append(seconds)
            copies.append(postgres.timed_copy(dsn, COPY_TABLE, columns, csv_path))
        rows = counts["inserted"]
        best_load, best_replace, best_copy = min(loads), min(replaces), min(copies)
        print(
            f"load (new month)      {rows / best_load:>12,.0f} rows/s  best of {args.rounds}: {best_load:.2f} s "
            f"(first, cold: {first:.2f} s)"
        )
        print(
            f"load (replace month)  {rows / best_replace:>12,.0f} rows/s  best of {args.rounds}: {best_replace:.2f} s"
        )
        print(f"raw psql \\copy        {rows / best_copy:>12,.0f} rows/s  best of {args.rounds}: {best_copy:.2f} s")
        print(
            f"load / copy: {best_copy / best_load:.2f}x (new month), {best_copy / best_replace:.2f}x (replace)"
            f"  — target >= 0.5x"
        )


if __name__ == "__main__":
    main()

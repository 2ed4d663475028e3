"""`make demo`: one full monthly sync of the real DAG against the Sophos simulator and a local PostgreSQL.

scripts/demo.sh starts the PostgreSQL server and the simulator (they keep running until `make stop`);
this module prepares the database, runs `airflow dags test` for the latest month whose report is out,
and prints the run summary measured in PostgreSQL.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from devtools import databases
from devtools.localstack import airflow_cli, environment
from sophos_sync.run import months, report, sync_run
from sophos_sync.settings import settings
from sophos_sync.warehouse import db


def latest_run(dsn: str) -> int | None:
    with db.connect(dsn) as conn:
        row = conn.execute("SELECT max(sync_run_id) FROM sophos.sync_runs").fetchone()
    return row[0]


def write_price_list_example(dsn: str, month, path: Path) -> Path:
    """A price list (prices import's CSV) of the month's SKUs at the unit prices Sophos billed them at."""
    with db.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT sku, currency, min(unit_price) FROM sophos.invoice_lines WHERE billing_month = %s "
            "AND price_source = 'sophos' GROUP BY sku, currency ORDER BY sku, currency",
            (month,),
        ).fetchall()
    lines = ["sku,currency,unit_price,valid_from,valid_to"]
    lines += [f"{sku},{currency},{price},{month:%Y-%m}-01," for sku, currency, price in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.demo")
    parser.add_argument("--server-dsn", required=True, help="DSN of the demo PostgreSQL server")
    parser.add_argument("--simulator-url", required=True)
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--airflow-home", default=str(settings.PROJECT_ROOT / ".local" / "airflow"))
    args = parser.parse_args(argv)

    from simulator import generator

    dsn = databases.ensure_database(args.server_dsn)
    credentials, seeded = databases.prepare_warehouse(dsn, args.scale, args.seed)
    print(f"platform reference data: {seeded['sellers']} sellers, {seeded['customer_organizations']} organizations")
    month = months.parse_month(generator.latest_report_month(date.today()))
    env = environment.airflow_env(
        airflow_home=Path(args.airflow_home), dsn=dsn, simulator_url=args.simulator_url, credentials=credentials
    )
    log_path = Path(args.airflow_home) / "demo-run.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print(
        f"running DAG sophos_monthly_sync for billing month {month:%Y-%m} over {len(credentials)} Sophos accounts "
        f"(airflow dags test; log: {log_path})"
    )
    before = latest_run(dsn)
    started = time.monotonic()
    with log_path.open("w") as log_file:
        done = airflow_cli.dags_test(
            f"{month:%Y-%m}-26", env, conf={"billing_month": f"{month:%Y-%m}"}, stdout=log_file, stderr=log_file
        )
    elapsed = time.monotonic() - started
    run_id = latest_run(dsn)
    if run_id is None or run_id == before:
        print(f"the DAG run did not start a sync run (exit {done.returncode}); see {log_path}", file=sys.stderr)
        return 1
    with db.connect(dsn) as conn:
        summary = sync_run.summary(conn, run_id)
    print()
    print(report.format_summary(summary))
    print()
    print(f"DAG run {'succeeded' if done.returncode == 0 else 'FAILED'} in {elapsed:.0f} s (full log: {log_path})")
    price_list = write_price_list_example(dsn, month, Path(args.airflow_home).parent / "demo-price-list.csv")
    print(f"look around:  psql '{dsn}'")
    print("  e.g.  SELECT * FROM finance.monthly_totals;  SELECT * FROM review.unmapped_customers;")
    print("        SELECT status, count(*), sum(difference) FROM finance.order_line_checks GROUP BY status;")
    print("Support:      .venv/bin/python -m sophos_sync --dsn '" + dsn + "' review list")
    print(f"price list:   .venv/bin/python -m sophos_sync --dsn '{dsn}' prices import {price_list}")
    print("              (the month's SKUs at their prices: it values lines Sophos sends without a price, and")
    print("              finance.price_deviations shows where Sophos priced off the list; edit a price to see one)")
    print("stop:         make stop")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())

"""The dlt peer (bench/peer/dlt_month.py, in .local/bench-peer-venv, which `make bench` installs): dlt's rest_api
source loading the same month from the same simulator into the same database, timed with its peak RSS, checked
line by line against our invoice lines, and compared with the stages that do the same work here."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

import psycopg

from devtools.bench.month import Stage
from devtools.bench.targets import TARGETS
from devtools.databases import database_url
from sophos_sync.settings import settings

ROOT = settings.PROJECT_ROOT
PEER_DIR = ROOT / "bench" / "peer"
PEER_PYTHON = ROOT / ".local" / "bench-peer-venv" / "bin" / "python"
PEER_KEY_COLUMNS = (
    "partner_account_id",
    "order_number",
    "order_line_item_number",
    "account_number_or_serial_number",
    "sku",
    "billing_start_date",
    "billing_end_date",
)


def dlt_month(
    dsn: str, simulator_url: str, credentials: Sequence[tuple[str, str]], billing_month: date, workdir: Path
) -> dict | None:
    """dlt (bench/peer/dlt_month.py, in its own venv) loading the same month from the same simulator into the
    same database, timed, with its peak RSS; then a line-by-line check against our invoice lines."""
    if not PEER_PYTHON.exists():
        print(f"  dlt peer: skipped ({PEER_PYTHON} missing: `make bench` installs bench/peer/requirements.txt)")
        return None
    url = database_url(dsn, "postgresql", default_password="unused")  # dlt takes a URL, and a password always
    credentials_file = workdir / "peer-credentials.json"
    credentials_file.write_text(json.dumps([list(pair) for pair in credentials]))
    process = subprocess.Popen(
        [
            str(PEER_PYTHON),
            str(PEER_DIR / "dlt_month.py"),
            "--base-url",
            simulator_url,
            "--dsn",
            url,
            "--month",
            f"{billing_month:%Y-%m}",
            "--credentials",
            str(credentials_file),
            "--page-size",
            str(settings.BILLING_PAGE_SIZE),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started = time.perf_counter()
    output, errors = process.communicate()
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"the dlt peer failed:\n{errors[-3000:]}")
    figures = json.loads(output.strip().splitlines()[-1])
    return {
        "lines": figures["lines"],
        "seconds": figures["seconds"],
        "wall_seconds": round(wall, 3),
        "peak_rss_mb": figures["peak_rss_mb"],
        "check": _line_check(dsn, billing_month),
    }


PEER_COMPARED_STAGES = ("extract_tenants", "extract_licenses", "extract_billing_usage", "validate", "load_mirror")


def comparison(peer: dict, stages: Mapping[str, Stage], our_peak_mb: float, total_seconds: float) -> dict:
    """dlt against our extract + validate + load (it loads no tenants or licences: ours is an upper bound):
    the whole month but the other stages, since the extracts overlap."""
    ours = total_seconds - sum(stage.seconds for name, stage in stages.items() if name not in PEER_COMPARED_STAGES)
    return {
        **peer,
        "our_seconds": round(ours, 2),
        "our_peak_rss_mb": round(our_peak_mb, 1),
        "speedup": round(peer["seconds"] / ours, 2) if ours else None,
        "speedup_target": TARGETS["peer_speedup"],
        "compares": " + ".join(PEER_COMPARED_STAGES),
    }


def _line_check(dsn: str, billing_month: date) -> dict:
    """Whether every line we loaded is in dlt's table with the same price and quantity, and the money per
    currency is the same. dlt keeps the lines our contracts reject (it has none), so it holds more."""
    key = " || '|' || ".join(
        f"coalesce(left(p.{column}::text, 10), '')"
        if column.startswith("billing_")
        else f"coalesce(p.{column}::text, '')"
        for column in PEER_KEY_COLUMNS
    )
    with psycopg.connect(dsn) as conn:
        (peer_lines,) = conn.execute("SELECT count(*) FROM dlt_peer.billing_usage").fetchone()
        rows = conn.execute(
            f"""WITH peer AS (SELECT {key} AS line_key, p.net_price::text AS net_price, p.billable_quantity
                              FROM dlt_peer.billing_usage p)
                SELECT o.currency, count(*), count(peer.line_key),
                       count(*) FILTER (WHERE peer.net_price::numeric IS DISTINCT FROM o.net_price
                                           OR peer.billable_quantity IS DISTINCT FROM o.billable_quantity),
                       sum(o.line_amount), sum(peer.net_price::numeric * peer.billable_quantity)
                FROM sophos.invoice_lines o LEFT JOIN peer ON peer.line_key = o.line_key
                WHERE o.billing_month = %s GROUP BY o.currency""",
            (billing_month,),
        ).fetchall()
    ours = sum(r[1] for r in rows)
    matched = sum(r[2] for r in rows)
    differing = sum(r[3] for r in rows)
    same_money = all(r[4] == r[5] for r in rows)
    return {
        "our_lines": ours,
        "peer_lines": peer_lines,
        "ours_found_in_peer": matched,
        "differing_price_or_quantity": differing,
        "same_sum_per_currency": same_money,
        "same_valid_lines": matched == ours and differing == 0 and same_money,
    }

"""The limits, one per stage, measured in the same run (bench/README.md: stage | seconds | limit | ratio):
raw fetch     the same client fetching every billing page of every account, same concurrency, lines
              dropped as decoded: the API floor of the billing extract;
licence fetch the same client fetching every tenant's licences, same concurrency, accounts side by side,
              answers dropped: the API floor of the licence extract;
extract phase both of them side by side, as the DAG runs the extracts;
bare decode   Arrow's JSON reader on the landed billing lines (with raw COPY: validate's floor);
raw COPY      devtools.bench.baselines.raw_copy (the load's floor);
report SELECT a plain count(*), sum(line_amount) per currency over the loaded month.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import psycopg

from devtools.bench.measurement import MB
from devtools.bench.month import Stage
from sophos_sync.settings import settings


def raw_fetch(accounts: Sequence[str], billing_month: date) -> dict:
    """The API floor of the billing extract: the same client fetching every page of every account, the
    accounts side by side as the DAG's mapped tasks, each page dropped as soon as it is read."""
    from sophos_sync.sophos.hook import SophosHook

    def fetch(account: str) -> tuple[int, int]:
        with SophosHook(account).get_client() as client:
            client.whoami()  # the extract asks it too
            usage = client.billing_usage(billing_month.year, billing_month.month)
            lines = sum(len(items) for items in usage.pages())
            return lines, usage.pages_read

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(accounts), thread_name_prefix="raw-fetch") as pool:
        fetched = list(pool.map(fetch, accounts))
    seconds = time.perf_counter() - started
    return {
        "rows": sum(n for n, _ in fetched),
        "pages": sum(p for _, p in fetched),
        "seconds": round(seconds, 3),
        "concurrency": len(accounts),
    }


def license_fetch(accounts: Sequence[str]) -> dict:
    """The API floor of the licence extract: the same client fetching every listed tenant's licences with the
    same concurrency, the accounts side by side as the DAG's mapped tasks, each answer dropped (no landing)."""
    from sophos_sync.sophos.hook import SophosHook

    def listed(account: str) -> list[str]:
        with SophosHook(account).get_client() as client:
            return [tenant["id"] for tenant in client.tenants()]

    def fetch(account: str, tenant_ids: list[str]) -> int:
        with SophosHook(account).get_client() as client:
            client.whoami()  # the extract asks it too
            return sum(len(result.licenses or ()) for result in client.licenses(tenant_ids))

    with ThreadPoolExecutor(max_workers=len(accounts), thread_name_prefix="license-fetch") as pool:
        tenants = list(pool.map(listed, accounts))
        started = time.perf_counter()
        licenses = list(pool.map(fetch, accounts, tenants))
        seconds = time.perf_counter() - started
    requests = sum(map(len, tenants))
    return {
        "rows": sum(licenses),
        "requests": requests,
        "seconds": round(seconds, 3),
        "requests_per_s": round(requests / seconds, 1),
        "concurrency": settings.LICENSE_CONCURRENCY,
    }


def extract_phase(accounts: Sequence[str], billing_month: date) -> dict:
    """The API floor of the three extracts as the DAG runs them: every account's tenants listed, then their
    licences fetched, beside every billing page; the same clients and concurrency, every answer dropped."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="extract-floor") as pool:
        billing = pool.submit(raw_fetch, accounts, billing_month)
        licenses = pool.submit(license_fetch, accounts)
        rows = billing.result()["rows"] + licenses.result()["rows"]
    return {"rows": rows, "seconds": round(time.perf_counter() - started, 3)}


def bare_decode(landed_lines: Path) -> dict:
    """Arrow's JSON reader alone on the month's landed billing lines: the floor of decoding them."""
    import pyarrow.json

    started = time.perf_counter()
    table = pyarrow.json.read_json(landed_lines)
    seconds = time.perf_counter() - started
    rows = table.num_rows
    del table
    return {"rows": rows, "seconds": round(seconds, 3), "mb": round(landed_lines.stat().st_size / MB, 1)}


def report_select(dsn: str, billing_month: date) -> dict:
    """A plain count and sum per currency over the loaded month: the floor of re-checking it."""
    with psycopg.connect(dsn) as conn:
        started = time.perf_counter()
        rows = conn.execute(
            """SELECT currency, count(*), sum(line_amount) FROM sophos.invoice_lines
               WHERE billing_month = %s GROUP BY currency""",
            (billing_month,),
        ).fetchall()
        seconds = time.perf_counter() - started
    return {"rows": sum(n for _, n, _ in rows), "seconds": round(seconds, 3)}


def stage_limits(stages: Mapping[str, Stage], limits: Mapping[str, dict], raw_copy: dict) -> list[dict]:
    """Each stage's time against the same run's floor for its work: stage | seconds | limit | ratio | target."""
    report = stages["reconcile_and_report"]
    extracts = max(
        stages["extract_billing_usage"].seconds, stages["extract_tenants"].seconds + stages["extract_licenses"].seconds
    )  # they start together
    pairs = [
        (
            "the three extracts, side by side",
            extracts,
            limits["extract_phase"]["seconds"],
            "tenants then licences beside the billing pages, answers dropped (same clients, same concurrency)",
            "<= 1.5x",
            lambda ratio, _: ratio <= 1.5,
        ),
        (
            "extract_licenses",
            stages["extract_licenses"].seconds,
            limits["license_fetch"]["seconds"],
            "licence fetch alone (same client, same concurrency, answers dropped)",
            "",
            None,
        ),
        # Measured alone, these two limits are the floors of stages that here share the CPU with each other:
        # the extract target is the three extracts' against the floor measured side by side, as they run.
        (
            "extract_billing_usage",
            stages["extract_billing_usage"].seconds,
            limits["raw_fetch"]["seconds"],
            "raw fetch alone (same client, same concurrency)",
            "",
            None,
        ),
        (
            "validate",
            stages["validate"].seconds,
            limits["bare_decode"]["seconds"] + raw_copy["seconds"],
            "bare Arrow decode of the landed lines + raw COPY of the month",
            "<= 2x",
            lambda ratio, _: ratio <= 2.0,
        ),
        (
            "load_mirror",
            stages["load_mirror"].seconds,
            raw_copy["seconds"],
            "raw COPY of the month's invoice lines",
            "",
            None,
        ),
        (
            "reconcile_and_report: its re-check",
            report.detail["recheck_seconds"],
            limits["report_select"]["seconds"],
            "plain SELECT count(*), sum() per currency",
            "<= 2 s",
            lambda _, seconds: seconds <= 2.0,
        ),
        (
            "reconcile_and_report",
            report.seconds,
            limits["report_select"]["seconds"],
            "plain SELECT count(*), sum() per currency",
            "",
            None,
        ),
    ]
    rows = []
    for name, seconds, limit, what, target, met in pairs:
        ratio = round(seconds / limit, 2) if limit > 0 else None
        rows.append(
            {
                "stage": name,
                "seconds": round(seconds, 2),
                "limit_seconds": round(limit, 3),
                "ratio": ratio,
                "limit": what,
                "target": target,
                "met": met(ratio, seconds) if met and ratio is not None else None,
            }
        )
    return rows

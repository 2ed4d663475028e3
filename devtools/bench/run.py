"""One run of the benchmark: the simulator at the scale and a throwaway database started, the month through
the stages (devtools.bench.month), then the baselines, the dlt peer and the limits on the same rows, and the
results as one JSON-ready dict with the ratios and targets (devtools.bench.output writes them)."""

from __future__ import annotations

import logging
import os
import platform
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import psycopg

from devtools import databases
from devtools.bench import baselines, limits, peer
from devtools.bench.measurement import PeakRss, proc_status_mb
from devtools.bench.month import Recorder, run_month
from devtools.bench.postgres import throwaway_database
from devtools.bench.process import environment_variables, log_level
from devtools.bench.targets import TARGET_SCALE, TARGETS, verdict
from devtools.localstack.environment import account_ids, connections
from sophos_sync.run import months


@dataclass(frozen=True)
class Options:
    scale: str = "large"
    latency_ms: int = 20
    seed: int = 1
    to_sql_rows: int = 100_000
    sequential_tenants: int = 2_000
    # A PostgreSQL server to create the bench database on instead of starting scripts/pg.sh's 'bench'.
    server_dsn: str | None = None
    # The stages' own log lines (one per stage and account); without it only their warnings show.
    verbose: bool = False


def _machine(dsn: str) -> dict:
    with psycopg.connect(dsn) as conn:
        (pg_version,) = conn.execute("SHOW server_version").fetchone()
    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    return {
        "cores": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1),
        "python": platform.python_version(),
        "postgresql": pg_version,
        "os": platform.platform(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def run(options: Options) -> dict:
    """Run the benchmark; the results as one JSON-ready dict (see devtools.bench.output.write_results)."""
    from simulator import generator
    from simulator.testing import run_simulator
    from sophos_sync.warehouse import db

    if options.scale not in generator.SCALES:
        raise ValueError(f"unknown scale {options.scale!r}: choose one of {', '.join(generator.SCALES)}")
    today = date.today()
    billing_month = months.parse_month(generator.latest_report_month(today))
    print(
        f"benchmark: scale {options.scale} (seed {options.seed}), billing month {billing_month:%Y-%m}, "
        f"API latency {options.latency_ms} ms",
        flush=True,
    )
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sophos-bench-")))
        dsn = stack.enter_context(throwaway_database(options.server_dsn))
        sim = stack.enter_context(
            run_simulator(
                scale=options.scale, seed=options.seed, today=today, latency_ms=options.latency_ms, startup_timeout=180
            )
        )
        credentials, seeded = databases.prepare_warehouse(dsn, options.scale, options.seed)
        accounts = account_ids(len(credentials))
        print(
            f"  simulator {sim.base_url} ({len(accounts)} accounts), platform data: "
            f"{seeded['sellers']} sellers, {seeded['customer_organizations']:,} organizations",
            flush=True,
        )
        stack.enter_context(
            environment_variables(connections(dsn, sim.base_url, credentials), remove=["SOPHOS_SYNC_DB_DSN"])
        )
        # A worker has Airflow imported and its connections within reach before a task starts; do not time that.
        db.resolve_dsn()
        if not options.verbose:
            stack.enter_context(log_level(["sophos_sync", "simulator"], logging.WARNING))
        recorder = Recorder(PeakRss())
        dag_run_id = f"bench__{options.scale}__{datetime.now(timezone.utc):%Y%m%dT%H%M%S}"
        with recorder.peak_rss.window() as month_rss:
            started = time.perf_counter()
            _, subset = run_month(
                recorder,
                accounts,
                billing_month,
                dag_run_id,
                options.sequential_tenants,
                workdir / "landed_lines.jsonl",
            )
            total_seconds = time.perf_counter() - started - recorder.untimed_seconds
        simulator_peak = proc_status_mb(sim.process.pid, "VmHWM")

        print("baselines:", flush=True)
        raw_copy = baselines.raw_copy(dsn, billing_month, workdir)
        print(
            f"  raw psql \\copy            {raw_copy['rows']:>10,} rows  {raw_copy['rows_per_s']:>10,.0f} rows/s",
            flush=True,
        )
        to_sql = baselines.to_sql(dsn, billing_month, options.to_sql_rows)
        print(
            f"  to_sql(method='multi')    {to_sql['rows']:>10,} rows  {to_sql['rows_per_s']:>10,.0f} rows/s", flush=True
        )
        sequential = baselines.sequential_licenses(subset)
        print(
            f"  sequential licences       {sequential['tenants']:>10,} tenants {sequential['tenants_per_s']:>8,.1f} "
            f"tenants/s",
            flush=True,
        )
        dlt = peer.dlt_month(dsn, sim.base_url, credentials, billing_month, workdir)
        if dlt:
            print(
                f"  dlt peer (rest_api, merge) {dlt['lines']:>9,} lines  {dlt['seconds']:8.1f} s  "
                f"peak RSS {dlt['peak_rss_mb']:,.0f} MB  same valid lines: {dlt['check']['same_valid_lines']}",
                flush=True,
            )
        print("limits:", flush=True)
        floors = {
            "raw_fetch": limits.raw_fetch(accounts, billing_month),
            "license_fetch": limits.license_fetch(accounts),
            "extract_phase": limits.extract_phase(accounts, billing_month),
            "bare_decode": limits.bare_decode(workdir / "landed_lines.jsonl"),
            "report_select": limits.report_select(dsn, billing_month),
        }
        for name, limit in floors.items():
            print(f"  {name:<25} {limit['rows']:>10,} rows  {limit['seconds']:8.2f} s", flush=True)
        machine = _machine(dsn)

    stages = {s.name: s for s in recorder.stages}
    load_stage = stages["load_mirror"]
    load_rate = load_stage.rows_per_s
    lines_seconds = load_stage.detail["invoice_lines_seconds"]
    lines_rate = load_stage.rows / lines_seconds if lines_seconds else 0.0
    tenants = stages["extract_tenants"].rows
    license_rate = tenants / stages["extract_licenses"].seconds
    extracted = sum(stages[name].rows for name in ("extract_tenants", "extract_licenses", "extract_billing_usage"))
    peak = month_rss["peak_mb"]

    def ratio(name: str, value: float, compares: str, target: str | None = None) -> dict:
        goal = TARGETS[target or name]
        return {
            "value": round(value, 2),
            "target": goal,
            "met": verdict(value >= goal, options.scale),
            "compares": compares,
        }

    return {
        "scale": options.scale,
        "seed": options.seed,
        "latency_ms": options.latency_ms,
        "billing_month": f"{billing_month:%Y-%m}",
        "accounts": len(accounts),
        "stages": [s.as_dict() for s in recorder.stages],
        "total": {
            "seconds": round(total_seconds, 1),
            "rows": extracted,
            "rows_per_s": round(extracted / total_seconds, 1),
            "peak_rss_mb": round(peak, 1),
        },
        "simulator_peak_rss_mb": round(simulator_peak, 1),
        "baselines": {
            "raw_copy": raw_copy,
            "to_sql_multi": to_sql,
            "sequential_licenses": sequential,
        },
        "limits": {**floors, "raw_copy": raw_copy},
        "peer": peer.comparison(dlt, stages, peak, total_seconds) if dlt else None,
        "stage_limits": limits.stage_limits(stages, floors, raw_copy),
        "rates": {
            "load_invoice_lines_per_s": round(load_rate, 1),
            "load_invoice_line_statement_per_s": round(lines_rate, 1),
            "licenses_tenants_per_s": round(license_rate, 1),
        },
        "ratios": {
            "load_vs_raw_copy": ratio(
                "load_vs_raw_copy",
                load_rate / raw_copy["rows_per_s"],
                "invoice lines per second of the whole load stage (mirror, lines, reconciliation, commit) / raw COPY",
            ),
            "load_statement_vs_raw_copy": ratio(
                "load_statement_vs_raw_copy",
                lines_rate / raw_copy["rows_per_s"],
                "the load's invoice-line statements alone (replace_invoice_lines) / raw COPY",
                "load_vs_raw_copy",
            ),
            "load_vs_to_sql": ratio(
                "load_vs_to_sql",
                load_rate / to_sql["rows_per_s"],
                "invoice lines per second of the whole load stage / to_sql(method='multi')",
            ),
            "licenses_vs_sequential": ratio(
                "licenses_vs_sequential",
                license_rate / sequential["tenants_per_s"],
                "tenants per second of the licence stage / sequential fetching (concurrency 1)",
            ),
        },
        "targets": {
            "apply_at_scale": TARGET_SCALE,
            "total_seconds": {
                "value": round(total_seconds, 1),
                "target": TARGETS["total_seconds"],
                "met": verdict(total_seconds < TARGETS["total_seconds"], options.scale),
            },
            "peak_rss_mb": {
                "value": round(peak, 1),
                "target": TARGETS["peak_rss_mb"],
                "met": verdict(peak < TARGETS["peak_rss_mb"], options.scale),
            },
        },
        "machine": machine,
    }

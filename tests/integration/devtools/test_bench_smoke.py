"""`python -m devtools.bench` at small scale with tiny baselines: it keeps working end to end.

Timings are not asserted (they depend on the machine); what is checked is that every stage of the month
processed rows, each baseline measured the rows it was asked for, and the outputs have their shape.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.bench.measurement import MB, PeakRss
from devtools.bench.output import README_MARKER

pytestmark = pytest.mark.slow  # the benchmark of a whole month, in a subprocess

ROOT = Path(__file__).resolve().parents[3]
DAG_STAGES = [
    "start_sync_run",
    "extract_tenants",
    "extract_licenses",
    "extract_billing_usage",
    "validate",
    "map_customers",
    "record_unmapped_customers",
    "load_mirror",
    "reconcile_and_report",
]


def test_bench_at_small_scale_measures_every_stage_and_baseline(tmp_path, pg_server_dsn):
    out, readme = tmp_path / "results.json", tmp_path / "README.md"
    readme.write_text("# Benchmarks\n\nHand-written intro.\n\n" + README_MARKER + "\n\nold table\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "devtools.bench",
            "--scale",
            "small",
            "--latency-ms",
            "0",
            "--to-sql-rows",
            "200",
            "--sequential-tenants",
            "20",
            "--out",
            str(out),
            "--readme",
            str(readme),
            "--pg-server",
            pg_server_dsn,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    results = json.loads(out.read_text())
    assert results["scale"] == "small"
    assert [s["name"] for s in results["stages"]] == DAG_STAGES
    for stage in results["stages"]:
        assert stage["rows"] > 0, stage
        assert stage["seconds"] > 0 and stage["peak_rss_mb"] > 0, stage
    stages = {s["name"]: s for s in results["stages"]}
    # Every line the API sent is loaded or rejected; the report reconciles exactly the loaded ones.
    validated = stages["validate"]["detail"]["billing_usage"]
    assert validated["received"] == stages["extract_billing_usage"]["rows"]
    assert stages["load_mirror"]["rows"] == stages["reconcile_and_report"]["rows"] == validated["valid"]
    assert results["total"]["rows"] == sum(stages[n]["rows"] for n in DAG_STAGES[1:4])

    baselines = results["baselines"]
    assert baselines["raw_copy"]["rows"] == stages["load_mirror"]["rows"]
    assert baselines["to_sql_multi"]["rows"] == 200
    assert baselines["sequential_licenses"]["tenants"] == 20
    for name, ratio in results["ratios"].items():
        assert ratio["value"] > 0, name
        assert ratio["met"] is None, "targets are judged at large scale only"
    assert results["machine"]["cores"] >= 1 and results["machine"]["postgresql"]
    limits = results["limits"]
    assert limits["raw_fetch"]["rows"] == stages["extract_billing_usage"]["rows"]
    assert limits["license_fetch"]["rows"] == stages["extract_licenses"]["rows"]
    assert limits["extract_phase"]["rows"] == limits["license_fetch"]["rows"] + limits["raw_fetch"]["rows"]
    assert limits["bare_decode"]["rows"] == stages["extract_billing_usage"]["rows"]
    assert limits["report_select"]["rows"] == stages["reconcile_and_report"]["rows"]
    limited = {row["stage"]: row for row in results["stage_limits"]}
    assert set(limited) == {
        "the three extracts, side by side",
        "extract_licenses",
        "extract_billing_usage",
        "validate",
        "load_mirror",
        "reconcile_and_report",
        "reconcile_and_report: its re-check",
    }
    for row in limited.values():
        assert row["limit_seconds"] > 0 and row["ratio"] > 0, row
    if results["peer"] is not None:  # the dlt peer's venv is there once `make bench` has run
        assert results["peer"]["check"]["same_valid_lines"], results["peer"]
        assert results["peer"]["check"]["our_lines"] == stages["load_mirror"]["rows"]

    text = readme.read_text()
    assert text.startswith("# Benchmarks\n\nHand-written intro.\n")
    assert "old table" not in text
    assert "| load_mirror |" in text and "to_sql" in text and "its limit (same run)" in text


def test_peak_rss_sees_a_spike_freed_before_its_block_ends():
    peak_rss = PeakRss()
    with peak_rss.window() as month:
        with peak_rss.window() as quiet:
            pass
        with peak_rss.window() as spike:
            block = bytearray(200 * MB)
            block[::4096] = b"x" * len(block[::4096])  # touch every page so it is resident
            del block
        with peak_rss.window() as after:
            pass
    assert spike["peak_mb"] - spike["start_mb"] >= 190
    assert quiet["peak_mb"] < spike["peak_mb"] and after["peak_mb"] < spike["peak_mb"]
    assert month["peak_mb"] == spike["peak_mb"], "an enclosing block's peak includes its inner blocks'"


def test_peak_rss_of_blocks_that_overlap_in_two_threads():
    """The extracts the DAG runs side by side are timed from two threads: each block still gets the peak of
    its own time, and a block opened after both sees none of it."""
    import threading

    peak_rss = PeakRss()
    billing_open, tenants_done = threading.Event(), threading.Event()
    figures: dict = {}

    def billing() -> None:
        with peak_rss.window() as figures["billing"]:
            billing_open.set()
            tenants_done.wait(timeout=30)

    thread = threading.Thread(target=billing)
    thread.start()
    billing_open.wait(timeout=30)
    with peak_rss.window() as tenants:
        block = bytearray(200 * MB)
        block[::4096] = b"x" * len(block[::4096])
        del block
    tenants_done.set()
    thread.join()
    with peak_rss.window() as validate:
        pass
    assert tenants["peak_mb"] - tenants["start_mb"] >= 190
    assert figures["billing"]["peak_mb"] >= tenants["peak_mb"], "the spike happened while billing ran too"
    assert validate["peak_mb"] < tenants["peak_mb"]

"""The benchmark's results written out: bench/results.json, and Markdown tables under a marker in
bench/README.md (the hand-written text above the marker is kept)."""

from __future__ import annotations

import json
from pathlib import Path

from sophos_sync.settings import settings

RESULTS_PATH = settings.PROJECT_ROOT / "bench" / "results.json"
README_PATH = settings.PROJECT_ROOT / "bench" / "README.md"
README_MARKER = "<!-- results below are written by `python -m devtools.bench`; edits below this line are lost -->"


def _n(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def markdown(results: dict) -> str:
    """The results as Markdown tables: stages with the whole month, then the baselines and their ratios."""
    machine = results["machine"]
    lines = [
        f"Scale **{results['scale']}** (seed {results['seed']}), billing month {results['billing_month']}, "
        f"{results['accounts']} Sophos accounts, API latency {results['latency_ms']} ms; "
        f"{machine['cores']} cores ({machine['cpu_model']}), {machine['memory_gb']} GB, Python {machine['python']}, "
        f"PostgreSQL {machine['postgresql']}; {machine['date']}.",
        "",
        "| stage | seconds | rows | rows/s | peak RSS MB | RSS at start MB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for stage in results["stages"]:
        lines.append(
            f"| {stage['name']} | {_n(stage['seconds'], 1)} | {_n(stage['rows'])} | {_n(stage['rows_per_s'])} "
            f"| {_n(stage['peak_rss_mb'])} | {_n(stage['rss_at_start_mb'])} |"
        )
    total = results["total"]
    lines.append(
        f"| **whole month** | **{_n(total['seconds'], 1)}** | {_n(total['rows'])} extracted | "
        f"{_n(total['rows_per_s'])} | **{_n(total['peak_rss_mb'])}** | |"
    )
    lines += [
        "",
        "| stage | seconds | its limit (same run) | limit seconds | ratio | target |",
        "|---|---:|---|---:|---:|---|",
    ]
    for row in results["stage_limits"]:
        ratio = f"{row['ratio']:.2f}x" if row["ratio"] is not None else "-"
        target = row["target"] + (" (missed)" if row["met"] is False else "")
        lines.append(
            f"| {row['stage']} | {_n(row['seconds'], 2)} | {row['limit']} | {_n(row['limit_seconds'], 2)} "
            f"| {ratio} | {target} |"
        )
    peer = results.get("peer")
    if peer:
        check = peer["check"]
        lines += [
            "",
            "| peer (same simulator, same PostgreSQL) | seconds | peak RSS MB | lines loaded |",
            "|---|---:|---:|---:|",
            f"| dlt `rest_api` (OAuth2, cursor paginator, merge on the natural key) | {_n(peer['seconds'], 1)} "
            f"| {_n(peer['peak_rss_mb'])} | {_n(peer['lines'])} |",
            f"| sophos-sync ({peer['compares']}) | {_n(peer['our_seconds'], 1)} | {_n(peer['our_peak_rss_mb'])} "
            f"| {_n(check['our_lines'])} |",
            "",
            f"sophos-sync is {peer['speedup']:.2f}x dlt's speed (target >= {peer['speedup_target']:g}x) and peaks at "
            f"{_n(peer['our_peak_rss_mb'])} MB against dlt's {_n(peer['peak_rss_mb'])} MB. Line by line: "
            f"{_n(check['ours_found_in_peer'])} of our {_n(check['our_lines'])} valid lines are in dlt's table, "
            f"{_n(check['differing_price_or_quantity'])} with another price or quantity; sums per currency "
            f"{'equal' if check['same_sum_per_currency'] else 'DIFFER'}. dlt also keeps the "
            f"{_n(check['peer_lines'] - check['ours_found_in_peer'])} lines our contracts reject.",
        ]
    baselines, rates, ratios = results["baselines"], results["rates"], results["ratios"]
    copy, to_sql, seq = baselines["raw_copy"], baselines["to_sql_multi"], baselines["sequential_licenses"]
    lines += [
        "",
        "| baseline (same run, same rows) | rows | seconds | rate | ours | ratio | target |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| raw `psql \\copy` of the invoice lines | {_n(copy['rows'])} | {_n(copy['seconds'], 1)} "
        f"| {_n(copy['rows_per_s'])} rows/s | load stage {_n(rates['load_invoice_lines_per_s'])} rows/s "
        f"| {_fmt_ratio(ratios['load_vs_raw_copy'])} | >= {ratios['load_vs_raw_copy']['target']}x |",
        f"| (same, the load's invoice-line statements alone) | | | | {_n(rates['load_invoice_line_statement_per_s'])} "
        f"rows/s | {_fmt_ratio(ratios['load_statement_vs_raw_copy'])} | |",
        f'| `to_sql(method="multi", chunksize={to_sql["chunksize"]})` | {_n(to_sql["rows"])} '
        f"| {_n(to_sql['seconds'], 1)} | {_n(to_sql['rows_per_s'])} rows/s "
        f"| load stage {_n(rates['load_invoice_lines_per_s'])} rows/s | {_fmt_ratio(ratios['load_vs_to_sql'])} "
        f"| >= {ratios['load_vs_to_sql']['target']:g}x |",
        f"| sequential licences (concurrency 1) | {_n(seq['tenants'])} tenants | {_n(seq['seconds'], 1)} "
        f"| {_n(seq['tenants_per_s'], 1)} tenants/s | licence stage {_n(rates['licenses_tenants_per_s'], 1)} "
        f"tenants/s | {_fmt_ratio(ratios['licenses_vs_sequential'])} "
        f"| >= {ratios['licenses_vs_sequential']['target']:g}x |",
        "",
        f"Whole month {_n(total['seconds'], 1)} s (target < {_n(results['targets']['total_seconds']['target'])} s), "
        f"peak RSS {_n(total['peak_rss_mb'])} MB (target < {_n(results['targets']['peak_rss_mb']['target'])} MB; "
        f"the simulator, a separate process, peaked at {_n(results['simulator_peak_rss_mb'])} MB). "
        f"Targets apply at scale {results['targets']['apply_at_scale']}.",
    ]
    return "\n".join(lines) + "\n"


def _fmt_ratio(ratio: dict) -> str:
    return f"{ratio['value']:.2f}x" + (" (missed)" if ratio["met"] is False else "")


DEFAULT_INTRO = """# Benchmarks

`make bench` (or `python -m devtools.bench --scale large`) regenerates the results below.
"""


def write_results(results: dict, out: Path, readme: Path | None) -> None:
    """results.json, and the Markdown tables under README_MARKER in readme (the text above it is kept)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if readme is None:
        return
    intro = readme.read_text(encoding="utf-8").split(README_MARKER)[0] if readme.exists() else DEFAULT_INTRO
    readme.parent.mkdir(parents=True, exist_ok=True)
    readme.write_text(f"{intro.rstrip()}\n\n{README_MARKER}\n\n{markdown(results)}", encoding="utf-8")

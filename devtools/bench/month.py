"""The month through the DAG's stages in this process (runner.run_month, as the tasks call them), each stage
timed with its rows and its peak RSS; and what the baselines and limits need read on the way, before the
run's landing rows are dropped."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from devtools.bench.measurement import PeakRss, release_memory, timed_calls


@dataclass
class Stage:
    name: str
    seconds: float
    rows: int
    peak_rss_mb: float
    rss_at_start_mb: float
    detail: dict = field(default_factory=dict)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "rows_per_s": round(self.rows_per_s, 1)}


class Recorder:
    """The stages of one month, each timed and its peak RSS measured as it runs, in the order they ended."""

    def __init__(self, peak_rss: PeakRss) -> None:
        self.peak_rss = peak_rss
        self.stages: list[Stage] = []
        self.untimed_seconds = 0.0

    @contextmanager
    def untimed(self) -> Iterator[None]:
        """Bench bookkeeping between stages: left out of the whole month's time."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.untimed_seconds += time.perf_counter() - started

    def stage(
        self,
        name: str,
        action: Callable[[], object],
        rows: Callable[[object], int],
        detail: Callable[[object], dict] | None = None,
    ):
        with self.peak_rss.window() as rss:
            started = time.perf_counter()
            result = action()
            seconds = time.perf_counter() - started
        stage = Stage(name, seconds, rows(result), rss["peak_mb"], rss["start_mb"], detail(result) if detail else {})
        self.stages.append(stage)
        print(
            f"  {name:<24} {stage.seconds:8.1f} s  {stage.rows:>10,} rows  {stage.rows_per_s:>10,.0f} rows/s  "
            f"peak RSS {stage.peak_rss_mb:,.0f} MB",
            flush=True,
        )
        return result


def _sum(results: Sequence[dict], key: str) -> int:
    return sum(int(r.get(key) or 0) for r in results)


def _export_landed_lines(run_id: int, path: Path) -> None:
    """The run's landed billing lines as JSON lines, for the bare-decode limit (landing rows go at cleanup)."""
    from sophos_sync.extract import landing
    from sophos_sync.warehouse import db

    with db.connect() as conn, path.open("wb") as out:
        for _, lines in landing.pages(conn, run_id, "billing_usage"):
            if lines:
                out.write(lines)
                out.write(b"\n")


def _reconciled_lines(result: dict) -> int:
    from sophos_sync.warehouse import db

    with db.connect() as conn:
        (lines,) = conn.execute(
            "SELECT (counts->'reconcile'->'lines'->>'loaded')::bigint FROM sophos.sync_runs WHERE sync_run_id = %s",
            (result["sync_run_id"],),
        ).fetchone()
    return int(lines or 0)


# Per stage of runner.STAGES: its rows, and the detail kept in the results, read from what it returned.
STAGE_MEASURES: dict[str, tuple[Callable[[object], int], Callable[[object], dict] | None]] = {
    "start_sync_run": (lambda _: 1, None),
    "extract_tenants": (lambda r: _sum(r, "tenants"), None),
    "extract_licenses": (lambda r: _sum(r, "licenses"), lambda r: {"tenants_skipped": _sum(r, "tenants_skipped")}),
    "extract_billing_usage": (lambda r: _sum(r, "billing_lines"), None),
    "validate": (
        lambda r: sum(v["received"] for v in r.values()),
        lambda r: {entity: {k: v[k] for k in ("received", "valid", "rejected")} for entity, v in r.items()},
    ),
    "map_customers": (lambda r: r.get("mapped", 0) + r.get("auto_matched", 0) + r.get("unmapped", 0), dict),
    "record_unmapped_customers": (lambda r: r["inserted"] + r["updated"], dict),
    "load_mirror": (
        lambda r: r["invoice_lines"]["inserted"],
        lambda r: {
            "invoice_lines": r["invoice_lines"],
            "customers": r.get("customers"),
            "subscriptions": r.get("subscriptions"),
            "status_history": r.get("status_history"),
        },
    ),
    "reconcile_and_report": (_reconciled_lines, lambda r: {"status": r["status"]}),
}


def _tenant_sample(sync_run_id: int, limit: int) -> dict[str, list[str]]:
    """The tenants the sequential baseline will fetch again, read while the run's landing rows exist."""
    from sophos_sync.warehouse import db

    subset: dict[str, list[str]] = {}
    with db.connect() as conn:
        for account, tenant_id in conn.execute(
            """SELECT account, raw->>'id' FROM sophos.landing_records
               WHERE sync_run_id = %s AND entity = 'tenant' AND raw->>'id' IS NOT NULL
               ORDER BY account, seq LIMIT %s""",
            (sync_run_id, limit),
        ):
            subset.setdefault(account, []).append(tenant_id)
    return subset


def run_month(
    recorder: Recorder,
    accounts: Sequence[str],
    billing_month: date,
    dag_run_id: str,
    sample_tenants: int,
    landed_lines: Path,
) -> tuple[int, dict[str, list[str]]]:
    """The month through runner.run_month, every stage timed, as the DAG runs it: the billing extract beside
    the tenants and licences, the accounts of each extract stage side by side as the DAG's mapped tasks; the
    run id and the sequential baseline's tenants."""
    from sophos_sync.load import mirror, reconcile
    from sophos_sync.run import runner

    # One step of a stage timed apart (stage: (module, function, detail name)).
    timed_steps = {
        "load_mirror": (mirror, "replace_invoice_lines", "invoice_lines_seconds"),
        "reconcile_and_report": (reconcile, "reconcile", "recheck_seconds"),
    }
    stages = runner.STAGES
    beside = {
        name
        for stage, partner in runner.BESIDE.items()
        for name in stages[stages.index(partner) : stages.index(stage) + 1]
    }  # overlapping stages
    subset: dict[str, list[str]] = {}
    opened: list[int] = []

    def around_stage(name: str, step: Callable[[], object]) -> object:
        if name not in beside:  # stages that run alone start as a task does, with the memory of no other
            with recorder.untimed():
                release_memory()
        if name == "validate":  # the extracts are done; read what the baselines need before it is dropped
            with recorder.untimed():
                subset.update(_tenant_sample(opened[0], sample_tenants))
                _export_landed_lines(opened[0], landed_lines)
        if name in timed_steps:
            owner, function, detail = timed_steps[name]
            with timed_calls(owner, function) as spent:
                result = recorder.stage(name, step, *STAGE_MEASURES[name])
            recorder.stages[-1].detail[detail] = round(spent["seconds"], 3)
            return result
        result = recorder.stage(name, step, *STAGE_MEASURES[name])
        if name == "start_sync_run":
            opened.append(result)
        return result

    run_id = runner.run_month(
        billing_month, accounts, dag_run_id, around_stage=around_stage, account_workers=len(accounts), side_by_side=True
    )
    recorder.stages.sort(key=lambda stage: runner.STAGES.index(stage.name))
    return run_id, subset

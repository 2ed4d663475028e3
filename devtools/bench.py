"""The production-scale benchmark: one whole month through the same stage functions the DAG's tasks call,
measured per stage (wall time, rows/s, peak RSS), against three baselines on the same rows in the same run.

    python -m devtools.bench [--scale small|medium|large] [--latency-ms 20] [--seed N] [--out bench/results.json]

It starts the simulator at the scale (simulator.testing.run_simulator) and a throwaway PostgreSQL server
(scripts/pg.sh start bench, stopped at the end unless it was already running), creates a database of its
own there, seeds the Platform's reference data, and gives the stages their Airflow connections as
AIRFLOW_CONN_* environment variables of this process, as a worker would have them. The stages run in
the DAG's order in this process; each extract stage runs its accounts side by side (threads), as the
DAG's mapped extract tasks do (processes, so their memory here is one process's sum of theirs).

Limits, one per stage, from the same run (bench/README.md: stage | seconds | limit | ratio):
  raw fetch     the same client fetching every billing page of every account, same concurrency, lines
                dropped as decoded: the API floor of the billing extract;
  licence fetch the same client fetching every tenant's licences, same concurrency, accounts side by side,
                answers dropped: the API floor of the licence extract;
  bare decode   Arrow's JSON reader on the landed billing lines (with raw COPY: validate's floor);
  raw COPY      below (the load's floor);
  report SELECT a plain count(*), sum(line_amount) per currency over the loaded month.
The dlt peer (bench/peer/dlt_month.py, in .local/bench-peer-venv, which `make bench` installs): dlt's rest_api
source loading the same month into the same database, timed with its peak RSS, and checked line by line.

Baselines, after the month is loaded:
  raw COPY      psql \\copy of the month's invoice lines (exported with COPY TO) into an empty clone of
                sophos.invoice_lines: the physical limit of getting those rows into that table here;
  to_sql        pandas.DataFrame.to_sql(method="multi", chunksize=1000) through SQLAlchemy on a subset
                of the same lines: what a typical hand-written Airflow ETL does;
  sequential    the licences of a subset of the tenants fetched with concurrency 1, same client.
The pieces other benchmark scripts share (throwaway database, psql COPY timing, licence fetching, RSS)
live here too, so bench/*.py stay thin.
"""
from __future__ import annotations

import json
import logging
import os
import platform
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import psycopg

from devtools import databases
from sophos_sync.run import months
from sophos_sync.settings import settings

ROOT = settings.PROJECT_ROOT
PG_SCRIPT = ROOT / "scripts" / "pg.sh"
PG_INSTANCE = "bench"
RESULTS_PATH = ROOT / "bench" / "results.json"
README_PATH = ROOT / "bench" / "README.md"
README_MARKER = "<!-- results below are written by `python -m devtools.bench`; edits below this line are lost -->"
MB = 1024 * 1024
# The rows/s a hand-written ETL gets depends on the batch: 1,000 rows per INSERT is the usual choice and
# keeps the bind parameters (rows x 30 columns) under PostgreSQL's limit of 65,535.
TO_SQL_CHUNKSIZE = 1000
BENCH_SCHEMA = "bench"
TARGET_SCALE = "large"
TARGETS = {
    "total_seconds": 90.0,
    "peak_rss_mb": 1024.0,
    "load_vs_raw_copy": 0.5,
    "load_vs_to_sql": 20.0,
    "licenses_vs_sequential": 10.0,
    "peer_speedup": 2.0,
}


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


# --- measuring ------------------------------------------------------------------------------------------------

class PeakRss:
    """Peak resident set of this process within blocks, read from the kernel's own high-water mark (VmHWM)
    and reset at each block's start (/proc/self/clear_refs, Linux 4.0+): exact however short a spike is,
    which a sampling thread, starved of the GIL by a busy stage, is not. Blocks may nest: an enclosing
    block's peak includes those of the blocks within it.
    """

    def __init__(self) -> None:
        self._open: list[dict] = []
        self._lock = threading.Lock()  # stages the DAG runs side by side are timed from two threads

    @staticmethod
    def _high_water_mb() -> float:
        return proc_status_mb(os.getpid(), "VmHWM")

    def _fold_into_open_blocks(self, peak_mb: float) -> None:
        for figures in self._open:
            figures["peak_mb"] = max(figures["peak_mb"], peak_mb)

    @contextmanager
    def window(self) -> Iterator[dict]:
        """Yields a dict that holds 'start_mb' at once and 'peak_mb' when the block ends. Blocks may also
        overlap (opened in two threads): each still gets the peak of its own time."""
        with self._lock:
            self._fold_into_open_blocks(self._high_water_mb())
            Path("/proc/self/clear_refs").write_text("5")  # 5: reset the peak RSS to the current RSS
            figures = {"start_mb": proc_status_mb(os.getpid(), "VmRSS"), "peak_mb": 0.0}
            self._open.append(figures)
        try:
            yield figures
        finally:
            with self._lock:
                self._fold_into_open_blocks(self._high_water_mb())
                self._open = [block for block in self._open if block is not figures]


def release_memory() -> None:
    """Hand freed memory back to the system, as a task's process does by ending: CPython, glibc and Arrow keep
    what a stage freed, so without this a stage's RSS at start would be the earlier stages' leftovers."""
    import ctypes
    import gc

    import pyarrow

    gc.collect()
    pyarrow.default_memory_pool().release_unused()
    ctypes.CDLL("libc.so.6").malloc_trim(0)


def proc_status_mb(pid: int, field_name: str) -> float:
    """A memory figure of /proc/PID/status in MB, e.g. VmHWM (the peak resident set) or VmRSS."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field_name} is not in /proc/{pid}/status")


@contextmanager
def timed_calls(owner: object, name: str) -> Iterator[dict]:
    """Within the block, times every call of owner.<name> (the real function, called as usual).

    Lets a stage report how long one step of it took without changing the stage's code.
    """
    original = getattr(owner, name)
    spent = {"calls": 0, "seconds": 0.0}

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent["calls"] += 1
            spent["seconds"] += time.perf_counter() - started

    setattr(owner, name, timed)
    try:
        yield spent
    finally:
        setattr(owner, name, original)


# --- PostgreSQL -----------------------------------------------------------------------------------------------

def _pg(command: str) -> str:
    done = subprocess.run([str(PG_SCRIPT), command, PG_INSTANCE], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"scripts/pg.sh {command} {PG_INSTANCE} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout.strip()


def _answers(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


@contextmanager
def throwaway_database(server_dsn: str | None = None, prefix: str = "bench") -> Iterator[str]:
    """DSN of a new, empty database, dropped when the block ends, failure or not.

    Without `server_dsn` it lives on scripts/pg.sh's 'bench' server, which is started for the block and
    stopped after it, unless it was already running (someone else's bench may be using it).
    """
    started_here = False
    if server_dsn is None:
        try:
            was_running = _answers(_pg("dsn"))
        except RuntimeError:  # never started on this machine
            was_running = False
        server_dsn = _pg("start")
        started_here = not was_running
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        dsn = databases.create_database(server_dsn, name)
        try:
            yield dsn
        finally:
            databases.drop_database(server_dsn, name)
    finally:
        if started_here:
            _pg("stop")


def psql(dsn: str, command: str) -> None:
    done = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", command], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"psql failed ({command[:120]}...): {done.stderr.strip()[-2000:]}")


def insertable_columns(conn: psycopg.Connection, table: str) -> list[str]:
    """The columns of schema.table a COPY or INSERT may write (generated columns left out), in order."""
    rows = conn.execute(
        """SELECT attname FROM pg_attribute
           WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
           ORDER BY attnum""",
        (table,),
    ).fetchall()
    return [name for (name,) in rows]


def clone_table(conn: psycopg.Connection, source: str, target: str) -> None:
    """An empty table of the same shape: columns, generated columns, keys, indexes, defaults."""
    schema = target.split(".")[0]
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    conn.execute(f"DROP TABLE IF EXISTS {target}")
    conn.execute(f"CREATE TABLE {target} (LIKE {source} INCLUDING ALL)")


def export_csv(dsn: str, query: str, path: Path) -> None:
    psql(dsn, f"\\copy ({query}) TO '{path}' WITH (FORMAT csv)")


def timed_copy(dsn: str, table: str, columns: Sequence[str], csv_path: Path) -> float:
    """Seconds psql takes to \\copy the CSV file into table (emptied first, not timed)."""
    psql(dsn, f"TRUNCATE {table}")
    started = time.perf_counter()
    psql(dsn, f"\\copy {table} ({', '.join(columns)}) FROM '{csv_path}' WITH (FORMAT csv)")
    return time.perf_counter() - started


# --- licences -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LicenseFetch:
    tenants: int
    licenses: int
    skipped: int
    seconds: float

    @property
    def tenants_per_s(self) -> float:
        return self.tenants / self.seconds if self.seconds > 0 else 0.0


def fetch_licenses(
    make_client: Callable[[object, int], object],
    tenants_by_account: Mapping[object, Sequence[str]],
    concurrency: int,
) -> LicenseFetch:
    """Fetch the licences of each account's tenants with `make_client(account, concurrency)`, timed."""
    started = time.perf_counter()
    tenants = licenses = skipped = 0
    for account, listed in tenants_by_account.items():
        with make_client(account, concurrency) as client:
            for result in client.licenses(listed):
                tenants += 1
                if result.licenses is None:
                    skipped += 1
                else:
                    licenses += len(result.licenses)
    return LicenseFetch(tenants, licenses, skipped, time.perf_counter() - started)


# --- the run --------------------------------------------------------------------------------------------------

@contextmanager
def _log_level(names: Sequence[str], level: int) -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in names]
    saved = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, previous in zip(loggers, saved):
            logger.setLevel(previous)


@contextmanager
def _environment(values: Mapping[str, str], remove: Sequence[str] = ()) -> Iterator[None]:
    """Set (and remove) environment variables of this process for the block, then put back what was there."""
    keys = [*values, *remove]
    saved = {key: os.environ.get(key) for key in keys}
    for key in remove:
        os.environ.pop(key, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _Recorder:
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

    def stage(self, name: str, action: Callable[[], object], rows: Callable[[object], int],
              detail: Callable[[object], dict] | None = None):
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
    from sophos_sync.warehouse import db
    from sophos_sync.extract import landing

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
            "invoice_lines": r["invoice_lines"], "customers": r.get("customers"),
            "subscriptions": r.get("subscriptions"), "status_history": r.get("status_history"),
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


def _run_month(recorder: _Recorder, accounts: Sequence[str], billing_month: date, dag_run_id: str,
               sample_tenants: int, landed_lines: Path) -> tuple[int, dict[str, list[str]]]:
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
    beside = {name for stage, partner in runner.BESIDE.items()
              for name in stages[stages.index(partner):stages.index(stage) + 1]}  # overlapping stages
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

    run_id = runner.run_month(billing_month, accounts, dag_run_id, around_stage=around_stage,
                                account_workers=len(accounts), side_by_side=True)
    recorder.stages.sort(key=lambda stage: runner.STAGES.index(stage.name))
    return run_id, subset


def _raw_copy_baseline(dsn: str, billing_month: date, workdir: Path) -> dict:
    with psycopg.connect(dsn, autocommit=True) as conn:
        columns = insertable_columns(conn, "sophos.invoice_lines")
        clone_table(conn, "sophos.invoice_lines", f"{BENCH_SCHEMA}.invoice_lines_copy")
    csv_path = workdir / "invoice_lines.csv"
    export_csv(
        dsn,
        f"SELECT {', '.join(columns)} FROM sophos.invoice_lines WHERE billing_month = '{billing_month.isoformat()}'",
        csv_path,
    )
    seconds = timed_copy(dsn, f"{BENCH_SCHEMA}.invoice_lines_copy", columns, csv_path)
    with psycopg.connect(dsn) as conn:
        (rows,) = conn.execute(f"SELECT count(*) FROM {BENCH_SCHEMA}.invoice_lines_copy").fetchone()
    size_mb = csv_path.stat().st_size / MB
    csv_path.unlink()
    return {"rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds, 1), "csv_mb": round(size_mb, 1)}


def _to_sql_baseline(dsn: str, billing_month: date, rows_wanted: int) -> dict:
    import pandas as pd
    import sqlalchemy

    params = psycopg.conninfo.conninfo_to_dict(dsn)
    url = sqlalchemy.engine.URL.create(
        "postgresql+psycopg", username=params.get("user"), password=params.get("password") or None,
        host=params.get("host"), port=int(params["port"]) if params.get("port") else None,
        database=params.get("dbname"),
    )
    engine = sqlalchemy.create_engine(url)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            columns = insertable_columns(conn, "sophos.invoice_lines")
            clone_table(conn, "sophos.invoice_lines", f"{BENCH_SCHEMA}.invoice_lines_to_sql")
        # The target's own column types: pandas would otherwise send the UUIDs as VARCHAR, which PostgreSQL
        # refuses for a uuid column; this is what a hand-written ETL ends up passing.
        target = sqlalchemy.Table("invoice_lines_to_sql", sqlalchemy.MetaData(), schema=BENCH_SCHEMA,
                                  autoload_with=engine)
        frame = pd.read_sql_query(
            sqlalchemy.text(
                f"SELECT {', '.join(columns)} FROM sophos.invoice_lines WHERE billing_month = :month LIMIT :n"
            ),
            engine,
            params={"month": billing_month, "n": rows_wanted},
        )
        started = time.perf_counter()
        frame.to_sql(
            "invoice_lines_to_sql", engine, schema=BENCH_SCHEMA, if_exists="append", index=False,
            method="multi", chunksize=TO_SQL_CHUNKSIZE, dtype={c.name: c.type for c in target.columns if c.name in frame.columns},
        )
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    rows = len(frame)
    return {"rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds, 1),
            "chunksize": TO_SQL_CHUNKSIZE}


def _sequential_baseline(subset: Mapping[str, Sequence[str]]) -> dict:
    from sophos_sync.sophos.hook import SophosHook

    fetched = fetch_licenses(lambda account, c: SophosHook(account, concurrency=c).get_client(), subset, 1)
    return {"tenants": fetched.tenants, "licenses": fetched.licenses, "seconds": round(fetched.seconds, 3),
            "tenants_per_s": round(fetched.tenants_per_s, 1)}


def _raw_fetch_limit(accounts: Sequence[str], billing_month: date) -> dict:
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
    return {"rows": sum(n for n, _ in fetched), "pages": sum(p for _, p in fetched), "seconds": round(seconds, 3),
            "concurrency": len(accounts)}


def _license_fetch_limit(accounts: Sequence[str]) -> dict:
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
    return {"rows": sum(licenses), "requests": requests, "seconds": round(seconds, 3),
            "requests_per_s": round(requests / seconds, 1), "concurrency": settings.LICENSE_CONCURRENCY}


def _extract_phase_limit(accounts: Sequence[str], billing_month: date) -> dict:
    """The API floor of the three extracts as the DAG runs them: every account's tenants listed, then their
    licences fetched, beside every billing page; the same clients and concurrency, every answer dropped."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="extract-floor") as pool:
        billing = pool.submit(_raw_fetch_limit, accounts, billing_month)
        licenses = pool.submit(_license_fetch_limit, accounts)
        rows = billing.result()["rows"] + licenses.result()["rows"]
    return {"rows": rows, "seconds": round(time.perf_counter() - started, 3)}


def _bare_decode_limit(landed_lines: Path) -> dict:
    """Arrow's JSON reader alone on the month's landed billing lines: the floor of decoding them."""
    import pyarrow.json

    started = time.perf_counter()
    table = pyarrow.json.read_json(landed_lines)
    seconds = time.perf_counter() - started
    rows = table.num_rows
    del table
    return {"rows": rows, "seconds": round(seconds, 3), "mb": round(landed_lines.stat().st_size / MB, 1)}


def _report_select_limit(dsn: str, billing_month: date) -> dict:
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
    extracts = max(stages["extract_billing_usage"].seconds,
                   stages["extract_tenants"].seconds + stages["extract_licenses"].seconds)  # they start together
    pairs = [
        ("the three extracts, side by side", extracts, limits["extract_phase"]["seconds"],
         "tenants then licences beside the billing pages, answers dropped (same clients, same concurrency)",
         "<= 1.5x", lambda ratio, _: ratio <= 1.5),
        ("extract_licenses", stages["extract_licenses"].seconds, limits["license_fetch"]["seconds"],
         "licence fetch alone (same client, same concurrency, answers dropped)", "", None),
        # Measured alone, these two limits are the floors of stages that here share the CPU with each other:
        # the extract target is the three extracts' against the floor measured side by side, as they run.
        ("extract_billing_usage", stages["extract_billing_usage"].seconds, limits["raw_fetch"]["seconds"],
         "raw fetch alone (same client, same concurrency)", "", None),
        ("validate", stages["validate"].seconds, limits["bare_decode"]["seconds"] + raw_copy["seconds"],
         "bare Arrow decode of the landed lines + raw COPY of the month", "<= 2x", lambda ratio, _: ratio <= 2.0),
        ("load_mirror", stages["load_mirror"].seconds, raw_copy["seconds"], "raw COPY of the month's invoice lines",
         "", None),
        ("reconcile_and_report: its re-check", report.detail["recheck_seconds"], limits["report_select"]["seconds"],
         "plain SELECT count(*), sum() per currency", "<= 2 s", lambda _, seconds: seconds <= 2.0),
        ("reconcile_and_report", report.seconds, limits["report_select"]["seconds"],
         "plain SELECT count(*), sum() per currency", "", None),
    ]
    rows = []
    for name, seconds, limit, what, target, met in pairs:
        ratio = round(seconds / limit, 2) if limit > 0 else None
        rows.append({"stage": name, "seconds": round(seconds, 2), "limit_seconds": round(limit, 3),
                     "ratio": ratio, "limit": what, "target": target,
                     "met": met(ratio, seconds) if met and ratio is not None else None})
    return rows


PEER_DIR = ROOT / "bench" / "peer"
PEER_PYTHON = ROOT / ".local" / "bench-peer-venv" / "bin" / "python"
PEER_KEY_COLUMNS = (
    "partner_account_id", "order_number", "order_line_item_number", "account_number_or_serial_number", "sku",
    "billing_start_date", "billing_end_date",
)


def _peer_baseline(dsn: str, simulator_url: str, credentials: Sequence[tuple[str, str]], billing_month: date,
                   workdir: Path) -> dict | None:
    """dlt (bench/peer/dlt_month.py, in its own venv) loading the same month from the same simulator into the
    same database, timed, with its peak RSS; then a line-by-line check against our invoice lines."""
    if not PEER_PYTHON.exists():
        print(f"  dlt peer: skipped ({PEER_PYTHON} missing: `make bench` installs bench/peer/requirements.txt)")
        return None
    params = psycopg.conninfo.conninfo_to_dict(dsn)
    # dlt takes a URL only, and a password always (a trust-auth server ignores it).
    url = (f"postgresql://{params.get('user', 'postgres')}:{params.get('password') or 'unused'}@"
           f"{params.get('host', '127.0.0.1')}:{params.get('port', 5432)}/{params['dbname']}")
    credentials_file = workdir / "peer-credentials.json"
    credentials_file.write_text(json.dumps([list(pair) for pair in credentials]))
    process = subprocess.Popen(
        [str(PEER_PYTHON), str(PEER_DIR / "dlt_month.py"), "--base-url", simulator_url, "--dsn", url,
         "--month", f"{billing_month:%Y-%m}", "--credentials", str(credentials_file),
         "--page-size", str(settings.BILLING_PAGE_SIZE)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    started = time.perf_counter()
    output, errors = process.communicate()
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"the dlt peer failed:\n{errors[-3000:]}")
    figures = json.loads(output.strip().splitlines()[-1])
    return {"lines": figures["lines"], "seconds": figures["seconds"], "wall_seconds": round(wall, 3),
            "peak_rss_mb": figures["peak_rss_mb"], "check": _peer_check(dsn, billing_month)}


PEER_COMPARED_STAGES = ("extract_tenants", "extract_licenses", "extract_billing_usage", "validate", "load_mirror")


def _peer_comparison(peer: dict, stages: Mapping[str, Stage], our_peak_mb: float, total_seconds: float) -> dict:
    """dlt against our extract + validate + load (it loads no tenants or licences: ours is an upper bound):
    the whole month but the other stages, since the extracts overlap."""
    ours = total_seconds - sum(stage.seconds for name, stage in stages.items() if name not in PEER_COMPARED_STAGES)
    return {**peer, "our_seconds": round(ours, 2), "our_peak_rss_mb": round(our_peak_mb, 1),
            "speedup": round(peer["seconds"] / ours, 2) if ours else None,
            "speedup_target": TARGETS["peer_speedup"], "compares": " + ".join(PEER_COMPARED_STAGES)}


def _peer_check(dsn: str, billing_month: date) -> dict:
    """Whether every line we loaded is in dlt's table with the same price and quantity, and the money per
    currency is the same. dlt keeps the lines our contracts reject (it has none), so it holds more."""
    key = " || '|' || ".join(f"coalesce(left(p.{column}::text, 10), '')" if column.startswith("billing_")
                             else f"coalesce(p.{column}::text, '')" for column in PEER_KEY_COLUMNS)
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
    return {"our_lines": ours, "peer_lines": peer_lines, "ours_found_in_peer": matched,
            "differing_price_or_quantity": differing, "same_sum_per_currency": same_money,
            "same_valid_lines": matched == ours and differing == 0 and same_money}


def _verdict(met: bool, scale: str) -> bool | None:
    """Whether a target is met; None below the scale the targets are set for."""
    return met if scale == TARGET_SCALE else None


def _machine(dsn: str) -> dict:
    with psycopg.connect(dsn) as conn:
        (pg_version,) = conn.execute("SHOW server_version").fetchone()
    cpu_model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
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
    """Run the benchmark; the results as one JSON-ready dict (see write_results)."""
    from simulator import generator
    from simulator.testing import run_simulator
    from devtools.localstack import environment
    from sophos_sync.warehouse import db

    if options.scale not in generator.SCALES:
        raise ValueError(f"unknown scale {options.scale!r}: choose one of {', '.join(generator.SCALES)}")
    today = date.today()
    billing_month = months.parse_month(generator.latest_report_month(today))
    print(f"benchmark: scale {options.scale} (seed {options.seed}), billing month {billing_month:%Y-%m}, "
          f"API latency {options.latency_ms} ms", flush=True)
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sophos-bench-")))
        dsn = stack.enter_context(throwaway_database(options.server_dsn))
        sim = stack.enter_context(
            run_simulator(scale=options.scale, seed=options.seed, today=today, latency_ms=options.latency_ms,
                          startup_timeout=180)
        )
        credentials, seeded = databases.prepare_warehouse(dsn, options.scale, options.seed)
        accounts = environment.account_ids(len(credentials))
        print(f"  simulator {sim.base_url} ({len(accounts)} accounts), platform data: "
              f"{seeded['sellers']} sellers, {seeded['customer_organizations']:,} organizations", flush=True)
        stack.enter_context(
            _environment(environment.connections(dsn, sim.base_url, credentials), remove=["SOPHOS_SYNC_DB_DSN"])
        )
        # A worker has Airflow imported and its connections within reach before a task starts; do not time that.
        db.resolve_dsn()
        if not options.verbose:
            stack.enter_context(_log_level(["sophos_sync", "simulator"], logging.WARNING))
        recorder = _Recorder(PeakRss())
        dag_run_id = f"bench__{options.scale}__{datetime.now(timezone.utc):%Y%m%dT%H%M%S}"
        with recorder.peak_rss.window() as month_rss:
            started = time.perf_counter()
            _, subset = _run_month(recorder, accounts, billing_month, dag_run_id, options.sequential_tenants,
                                   workdir / "landed_lines.jsonl")
            total_seconds = time.perf_counter() - started - recorder.untimed_seconds
        simulator_peak = proc_status_mb(sim.process.pid, "VmHWM")

        print("baselines:", flush=True)
        raw_copy = _raw_copy_baseline(dsn, billing_month, workdir)
        print(f"  raw psql \\copy            {raw_copy['rows']:>10,} rows  {raw_copy['rows_per_s']:>10,.0f} rows/s",
              flush=True)
        to_sql = _to_sql_baseline(dsn, billing_month, options.to_sql_rows)
        print(f"  to_sql(method='multi')    {to_sql['rows']:>10,} rows  {to_sql['rows_per_s']:>10,.0f} rows/s",
              flush=True)
        sequential = _sequential_baseline(subset)
        print(f"  sequential licences       {sequential['tenants']:>10,} tenants {sequential['tenants_per_s']:>8,.1f} "
              f"tenants/s", flush=True)
        peer = _peer_baseline(dsn, sim.base_url, credentials, billing_month, workdir)
        if peer:
            print(f"  dlt peer (rest_api, merge) {peer['lines']:>9,} lines  {peer['seconds']:8.1f} s  "
                  f"peak RSS {peer['peak_rss_mb']:,.0f} MB  same valid lines: {peer['check']['same_valid_lines']}",
                  flush=True)
        print("limits:", flush=True)
        limits = {
            "raw_fetch": _raw_fetch_limit(accounts, billing_month),
            "license_fetch": _license_fetch_limit(accounts),
            "extract_phase": _extract_phase_limit(accounts, billing_month),
            "bare_decode": _bare_decode_limit(workdir / "landed_lines.jsonl"),
            "report_select": _report_select_limit(dsn, billing_month),
        }
        for name, limit in limits.items():
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
        return {"value": round(value, 2), "target": goal, "met": _verdict(value >= goal, options.scale),
                "compares": compares}

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
        "limits": {**limits, "raw_copy": raw_copy},
        "peer": _peer_comparison(peer, stages, peak, total_seconds) if peer else None,
        "stage_limits": stage_limits(stages, limits, raw_copy),
        "rates": {
            "load_invoice_lines_per_s": round(load_rate, 1),
            "load_invoice_line_statement_per_s": round(lines_rate, 1),
            "licenses_tenants_per_s": round(license_rate, 1),
        },
        "ratios": {
            "load_vs_raw_copy": ratio(
                "load_vs_raw_copy", load_rate / raw_copy["rows_per_s"],
                "invoice lines per second of the whole load stage (mirror, lines, reconciliation, commit) / raw COPY",
            ),
            "load_statement_vs_raw_copy": ratio(
                "load_statement_vs_raw_copy", lines_rate / raw_copy["rows_per_s"],
                "the load's invoice-line statements alone (replace_invoice_lines) / raw COPY", "load_vs_raw_copy",
            ),
            "load_vs_to_sql": ratio(
                "load_vs_to_sql", load_rate / to_sql["rows_per_s"],
                "invoice lines per second of the whole load stage / to_sql(method='multi')",
            ),
            "licenses_vs_sequential": ratio(
                "licenses_vs_sequential", license_rate / sequential["tenants_per_s"],
                "tenants per second of the licence stage / sequential fetching (concurrency 1)",
            ),
        },
        "targets": {
            "apply_at_scale": TARGET_SCALE,
            "total_seconds": {"value": round(total_seconds, 1), "target": TARGETS["total_seconds"],
                              "met": _verdict(total_seconds < TARGETS["total_seconds"], options.scale)},
            "peak_rss_mb": {"value": round(peak, 1), "target": TARGETS["peak_rss_mb"],
                            "met": _verdict(peak < TARGETS["peak_rss_mb"], options.scale)},
        },
        "machine": machine,
    }


# --- output ---------------------------------------------------------------------------------------------------

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
    lines += ["", "| stage | seconds | its limit (same run) | limit seconds | ratio | target |",
              "|---|---:|---|---:|---:|---|"]
    for row in results["stage_limits"]:
        ratio = f"{row['ratio']:.2f}x" if row["ratio"] is not None else "-"
        target = row["target"] + (" (missed)" if row["met"] is False else "")
        lines.append(f"| {row['stage']} | {_n(row['seconds'], 2)} | {row['limit']} | {_n(row['limit_seconds'], 2)} "
                     f"| {ratio} | {target} |")
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
        f"| `to_sql(method=\"multi\", chunksize={to_sql['chunksize']})` | {_n(to_sql['rows'])} "
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


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m devtools.bench",
        description="benchmark a whole month against the simulator and a throwaway PostgreSQL (bench/README.md)",
    )
    parser.add_argument("--scale", choices=("small", "medium", "large"), default="large")
    parser.add_argument("--latency-ms", type=int, default=20, help="API latency the simulator adds to every call")
    parser.add_argument("--seed", type=int, default=1, help="the simulator's data seed")
    parser.add_argument("--to-sql-rows", type=int, default=100_000, help="invoice lines in the to_sql baseline")
    parser.add_argument(
        "--sequential-tenants", type=int, default=2_000, help="tenants in the sequential licence baseline"
    )
    parser.add_argument("--out", help="where the results JSON goes (default: bench/results.json)")
    parser.add_argument("--readme", help="Markdown file whose results section is rewritten (default: bench/README.md)")
    parser.add_argument(
        "--pg-server", metavar="DSN",
        help="PostgreSQL server to create the bench database on (default: start scripts/pg.sh's 'bench' server)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    args = parser.parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options = Options(
        scale=args.scale, latency_ms=args.latency_ms, seed=args.seed, to_sql_rows=args.to_sql_rows,
        sequential_tenants=args.sequential_tenants, server_dsn=args.pg_server, verbose=args.verbose,
    )
    out = Path(args.out) if args.out else RESULTS_PATH
    readme = Path(args.readme) if args.readme else README_PATH
    results = run(options)
    write_results(results, out, readme)
    print()
    print(markdown(results))
    print(f"written: {out}, {readme}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Runs at the same time: two runs of one month, and a backfill of an older month during the current month's
load. Loads take turns on the load lock (include/sql/load/lock_loads.sql), seen waiting in pg_locks, and the
tables end exactly as after the same runs one by one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
import pytest
from harness import OCTOBER, SEPTEMBER, Sync, checksums, invoice_lines_held, month_lines, run_status

from sophos_sync.errors import ReconciliationError
from sophos_sync.run import months

# Backends of sophos-sync on the load lock: granted to the load inside its transaction, or queued for it;
# `blocked` says whether the backend also waits for sophos.invoice_lines (which the test holds).
LOAD_LOCK = """
    SELECT l.pid, l.granted,
           EXISTS (SELECT 1 FROM pg_locks t
                   WHERE t.pid = l.pid AND t.locktype = 'relation' AND NOT t.granted
                     AND t.relation = 'sophos.invoice_lines'::regclass) AS blocked
    FROM pg_locks l
    JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.objid = hashtext('sophos_sync.load')::oid
      AND a.datname = current_database() AND a.application_name = 'sophos-sync'
"""


def wait_for_loads(dsn: str, waiting: int, timeout: float = 60) -> int:
    """Until one load holds the load lock, stopped mid-transaction at the held table, and `waiting` others
    queue for the lock; returns the holder's backend pid. Polls pg_locks: observes, never guesses by sleeping."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            rows = conn.execute(LOAD_LOCK).fetchall()
            holders = [pid for pid, granted, blocked in rows if granted and blocked]
            queued = [pid for pid, granted, _ in rows if not granted]
            if len(holders) == 1 and len(queued) == waiting and len(rows) == 1 + waiting:
                return holders[0]
            assert time.monotonic() < deadline, f"expected 1 load holding the lock and {waiting} waiting: {rows}"
            time.sleep(0.05)


class Worker:
    """A piece of a run on a thread of its own, as on another Airflow worker; its exception is kept."""

    def __init__(self, target: Callable, *args):
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(target, *args), daemon=True)
        self._thread.start()

    def _run(self, target: Callable, *args) -> None:
        try:
            target(*args)
        except BaseException as exc:  # handed to the test thread
            self.error = exc

    def join(self) -> BaseException | None:
        self._thread.join(120)
        assert not self._thread.is_alive(), "the worker is still running"
        return self.error


def load_counts(dsn: str, sync_run_id: int) -> dict:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT counts->'load' FROM sophos.sync_runs WHERE sync_run_id = %s", (sync_run_id,)
        ).fetchone()[0]


def test_two_runs_of_one_month_at_once_load_in_turn_and_the_superseded_one_fails_clearly(sync, pg_dsn, baseline):
    """A scheduled run and a manual run of October, started together: extract, validate and map side by side,
    the second load waits for the first to commit, and the month ends with the later load's lines only."""
    names = ("scheduled__2026-10-26", "manual__2026-10-27")
    runs: dict[str, int] = {}
    # Both runs and the test pass each barrier together; a failing run breaks them, so nobody waits forever.
    started, prepared, loaded = (threading.Barrier(len(names) + 1, timeout=120) for _ in range(3))

    def month_run(dag_run_id: str) -> None:
        try:
            started.wait()
            runs[dag_run_id] = sync_run_id = sync.start(OCTOBER, dag_run_id)
            sync.extract(sync_run_id, OCTOBER)
            sync.prepare(sync_run_id, OCTOBER)
            prepared.wait()
            sync.load(sync_run_id, OCTOBER)
            loaded.wait()
        except BaseException:
            for barrier in (started, prepared, loaded):
                barrier.abort()
            raise
        sync.report(sync_run_id, OCTOBER)

    workers = {name: Worker(month_run, name) for name in names}
    try:
        started.wait()
        with invoice_lines_held(pg_dsn):
            prepared.wait()
            wait_for_loads(pg_dsn, waiting=1)  # one load is inside its transaction, the other queues for the lock
        loaded.wait()
    except threading.BrokenBarrierError:
        pytest.fail(f"a run failed before its load committed: {[w.join() for w in workers.values()]}")
    failures = {name: worker.join() for name, worker in workers.items()}

    lines, holders = month_lines(pg_dsn, OCTOBER)
    assert len(holders) == 1, f"the month holds lines of several runs: {holders}"
    (winner,) = holders
    (loser,) = set(runs.values()) - holders
    by_run = {runs[name]: failure for name, failure in failures.items()}
    assert by_run[winner] is None and run_status(pg_dsn, winner) == "succeeded"
    assert isinstance(by_run[loser], ReconciliationError), by_run[loser]
    assert f"another run of the same month, sync run {winner}, loaded it after this run did" in str(by_run[loser])
    # The later load found the earlier one's committed lines and replaced them whole: they never interleaved.
    assert load_counts(pg_dsn, loser)["invoice_lines"] == {"deleted": 0, "inserted": lines}
    assert load_counts(pg_dsn, winner)["invoice_lines"] == {"deleted": lines, "inserted": lines}
    assert checksums(pg_dsn) == baseline(OCTOBER)


RUNS = {"current month": (OCTOBER, "scheduled__2026-10-26"), "backfill": (SEPTEMBER, "backfill__2026-09-26")}


@pytest.mark.parametrize("first", list(RUNS))
def test_backfill_during_the_current_months_load_leaves_the_mirror_at_the_newer_month(
    first, sync: Sync, pg_dsn, baseline
):
    """September, synced in its time, is backfilled while October loads (or October starts while the backfill
    loads). Whichever load takes the lock first, the mirror ends at October's state: a backfill that comes
    second finds the mirror newer (mirror_as_of) and reloads only its month's lines."""
    sync.run_month(SEPTEMBER)
    second = next(name for name in RUNS if name != first)
    runs = {}

    def prepared(name: str) -> int:
        month, dag_run_id = RUNS[name]
        runs[name] = sync_run_id = sync.start(month, dag_run_id)
        sync.extract(sync_run_id, month)
        sync.prepare(sync_run_id, month)
        return sync_run_id

    with invoice_lines_held(pg_dsn):
        holding = Worker(sync.load, prepared(first), RUNS[first][0])
        holder = wait_for_loads(pg_dsn, waiting=0)
        # The other run extracts, validates and maps while that load's transaction is open ...
        waiting = Worker(sync.load, prepared(second), RUNS[second][0])
        # ... and its load queues behind it.
        assert wait_for_loads(pg_dsn, waiting=1) == holder
    assert holding.join() is None and waiting.join() is None
    for name, sync_run_id in runs.items():
        sync.report(sync_run_id, RUNS[name][0])

    assert load_counts(pg_dsn, runs["backfill"])["mirror"] == (
        "applied" if first == "backfill" else "skipped (backfill)"
    )
    assert load_counts(pg_dsn, runs["current month"])["mirror"] == "applied"
    assert [run_status(pg_dsn, sync_run_id) for sync_run_id in runs.values()] == ["succeeded"] * 2
    assert month_lines(pg_dsn, SEPTEMBER)[1] == {runs["backfill"]}
    assert month_lines(pg_dsn, OCTOBER)[1] == {runs["current month"]}
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT as_of_month FROM sophos.mirror_state").fetchone() == (months.parse_month(OCTOBER),)
    assert checksums(pg_dsn) == baseline(SEPTEMBER, OCTOBER)

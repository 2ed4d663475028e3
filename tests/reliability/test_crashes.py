"""Crashes around the load: the worker killed, its database connection cut, PostgreSQL restarted.
Afterwards the previous month is intact, nothing of the crashed run is visible, and a rerun gives
exactly the tables of an undisturbed run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from harness import OCTOBER, ROOT, SEPTEMBER, Sync, checksums, invoice_lines_held, month_lines, run_status

from devtools.databases import create_database, seed_platform
from sophos_sync.warehouse import migrations


def wait_for_blocked_load(dsn: str, timeout: float = 60) -> int:
    """The backend pid of a load that holds the load lock (so its transaction is open) and waits on a table
    lock: found through pg_locks and pg_stat_activity, not guessed by sleeping."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                """SELECT a.pid FROM pg_stat_activity a
                   JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory' AND l.granted
                   WHERE a.datname = current_database() AND a.application_name = 'sophos-sync'
                     AND a.wait_event_type = 'Lock' AND a.xact_start IS NOT NULL
                     AND l.objid = hashtext('sophos_sync.load')::oid"""
            ).fetchone()
            if row:
                return row[0]
            time.sleep(0.05)
    raise AssertionError("no load reached its open transaction in time")


def wait_until_gone(dsn: str, pid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            assert time.monotonic() < deadline, f"backend {pid} is still there"
            time.sleep(0.05)


def prepared_october(sync: Sync) -> int:
    """September synced; October extracted, validated and mapped: ready for its load task."""
    sync.run_month(SEPTEMBER)
    sync_run_id = sync.start(OCTOBER)
    sync.extract(sync_run_id, OCTOBER)
    sync.prepare(sync_run_id, OCTOBER)
    return sync_run_id


def assert_nothing_of_october_committed(dsn: str, september_state: dict) -> None:
    assert month_lines(dsn, OCTOBER) == (0, set())
    assert checksums(dsn) == september_state


def finish(sync: Sync, sync_run_id: int) -> None:
    """What Airflow's retry of the load task, then the report task, do."""
    sync.load(sync_run_id, OCTOBER)
    sync.report(sync_run_id, OCTOBER)


def test_worker_killed_during_the_load_commits_nothing_and_the_rerun_completes(sync, pg_dsn, baseline):
    sync_run_id = prepared_october(sync)
    september_state = checksums(pg_dsn)
    # Support's review rows already show October: recording them is a task of its own, before the load.
    assert {k: v for k, v in september_state.items() if k != "unmapped_customers"} == {
        k: v for k, v in baseline(SEPTEMBER).items() if k != "unmapped_customers"
    }

    env = {**os.environ, **sync.env(), "PYTHONPATH": f"{ROOT / 'plugins'}:{ROOT}"}
    with invoice_lines_held(pg_dsn):
        worker = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("load_worker.py")), str(sync_run_id), OCTOBER],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            backend = wait_for_blocked_load(pg_dsn)
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.communicate()
    assert worker.returncode == -signal.SIGKILL
    wait_until_gone(pg_dsn, backend)  # PostgreSQL saw the client vanish and rolled its transaction back

    assert_nothing_of_october_committed(pg_dsn, september_state)
    finish(sync, sync_run_id)
    assert run_status(pg_dsn, sync_run_id) == "succeeded"
    assert checksums(pg_dsn) == baseline(SEPTEMBER, OCTOBER)


def test_connection_dropped_during_the_load_fails_it_and_the_rerun_completes(sync, pg_dsn, baseline):
    sync_run_id = prepared_october(sync)
    september_state = checksums(pg_dsn)
    failure: list[BaseException] = []

    def load() -> None:
        try:
            sync.load(sync_run_id, OCTOBER)
        except BaseException as exc:  # handed to the test thread
            failure.append(exc)

    with invoice_lines_held(pg_dsn):
        worker = threading.Thread(target=load)
        worker.start()
        backend = wait_for_blocked_load(pg_dsn)
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s)", (backend,)).fetchone() == (True,)
        worker.join(30)
    assert not worker.is_alive()
    assert len(failure) == 1 and isinstance(failure[0], psycopg.OperationalError), failure
    assert "terminating connection" in str(failure[0])

    assert_nothing_of_october_committed(pg_dsn, september_state)
    finish(sync, sync_run_id)
    assert checksums(pg_dsn) == baseline(SEPTEMBER, OCTOBER)


# --- PostgreSQL restarted between tasks: a server instance of this test's own -----------------------------


class OwnServer:
    """A throwaway PostgreSQL instance (scripts/pg.sh) that this test may restart and finally removes."""

    def __init__(self) -> None:
        self.name = f"reliability-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.base = ROOT / ".local" / "pg" / self.name
        self.server_dsn = self._pg("start")

    def _pg(self, command: str) -> str:
        done = subprocess.run([str(ROOT / "scripts" / "pg.sh"), command, self.name], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def restart(self) -> None:
        """pg_ctl restart keeps the port and options the server was started with (postmaster.opts). Its log
        goes to a file: otherwise the new server holds this pipe open, and the restart never returns."""
        binary = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))[-1]
        command = [
            str(binary),
            "-D",
            str(self.base / "data"),
            "-l",
            str(self.base / "server.log"),
            "-m",
            "fast",
            "-w",
            "-t",
            "60",
            "restart",
        ]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr

    def started_at(self) -> object:
        with psycopg.connect(self.server_dsn) as conn:
            return conn.execute("SELECT pg_postmaster_start_time()").fetchone()[0]

    def remove(self) -> None:
        self._pg("stop")
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def own_server():
    server = OwnServer()
    yield server
    server.remove()


def test_postgres_restarted_between_tasks_loses_nothing(own_server, monkeypatch, simulator, baseline):
    dsn = create_database(own_server.server_dsn, "warehouse")
    with psycopg.connect(dsn) as conn:
        migrations.migrate(conn)
    seed_platform(dsn, simulator.dataset(months=[]))
    sync = Sync(monkeypatch, dsn, simulator)
    sync.run_month(SEPTEMBER)

    restarts = []

    def restart() -> None:
        before = own_server.started_at()
        own_server.restart()
        restarts.append(own_server.started_at() > before)

    sync_run_id = sync.start(OCTOBER)
    restart()
    sync.extract(sync_run_id, OCTOBER)
    restart()
    sync.prepare(sync_run_id, OCTOBER, between_tasks=restart)
    sync.load(sync_run_id, OCTOBER)
    restart()
    sync.report(sync_run_id, OCTOBER)

    assert restarts == [True] * 4
    assert run_status(dsn, sync_run_id) == "succeeded"
    assert checksums(dsn) == baseline(SEPTEMBER, OCTOBER)

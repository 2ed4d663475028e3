"""The benchmark's PostgreSQL: a throwaway database (on scripts/pg.sh's 'bench' server unless one is given),
psql's COPY timed, and empty clones of the warehouse's tables to copy into."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import psycopg

from devtools import databases
from sophos_sync.settings import settings

PG_SCRIPT = settings.PROJECT_ROOT / "scripts" / "pg.sh"
PG_INSTANCE = "bench"


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

"""PostgreSQL access: where the database is, SQL files by name, migrations, and COPY."""
from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
from collections.abc import Iterable, Sequence
from functools import cache

import psycopg
from psycopg import sql as pgsql

from sophos_sync import settings
from sophos_sync.errors import ConfigurationError, MigrationChecksumMismatch

log = logging.getLogger(__name__)

MIGRATION_LOCK = "sophos_sync.migrate"


EXAMPLE_DSN = "postgresql://user:password@host:5432/dbname"


def resolve_dsn(dsn: str | None = None, conn_id: str | None = None) -> str:
    """The database to use: an explicit DSN, else $SOPHOS_SYNC_DB_DSN, else the Airflow connection."""
    if dsn:
        return _checked_dsn(dsn, "the DSN given (--dsn)")
    if os.environ.get("SOPHOS_SYNC_DB_DSN"):
        return _checked_dsn(os.environ["SOPHOS_SYNC_DB_DSN"], "$SOPHOS_SYNC_DB_DSN")
    return dsn_from_airflow_connection(conn_id or settings.DB_CONN_ID)


def _checked_dsn(dsn: str, source: str) -> str:
    """`dsn` if libpq can parse it; the error does not quote it, since a DSN may carry a password."""
    try:
        psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        raise ConfigurationError(
            f"{source} is not a PostgreSQL connection string (e.g. {EXAMPLE_DSN} or 'host=... dbname=...')"
        ) from None
    return dsn


def dsn_from_airflow_connection(conn_id: str) -> str:
    """The libpq DSN of an Airflow postgres connection, read through the provider's PostgresHook.

    Its extras are libpq parameters (sslmode, sslrootcert, sslcert, sslkey, options, connect_timeout...) and
    reach psycopg as they are, but for the ones the provider itself keeps for other uses (cursor, iam, ...).
    """
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    from sophos_sync.hook import mask_password

    variable = f"AIRFLOW_CONN_{conn_id.upper()}"
    defined = os.environ.get(variable, "").strip()
    # Airflow reads any text as a URI; without a scheme it becomes a connection to localhost:5432.
    if defined and not defined.startswith("{") and "://" not in defined:
        raise ConfigurationError(f"{variable} is not a connection URI ({EXAMPLE_DSN}) nor a JSON connection")
    hook = PostgresHook(postgres_conn_id=conn_id)
    try:
        conn = hook.connection
    except Exception as exc:  # Airflow raises its own not-found type, which differs by context
        raise ConfigurationError(
            f"database connection '{conn_id}' is not configured: set {variable} "
            f"(a postgresql:// URI) or add it in the Airflow UI, or set SOPHOS_SYNC_DB_DSN"
        ) from exc
    mask_password(conn.password)
    libpq_extras = {
        name: str(value) for name, value in conn.extra_dejson.items()
        if name not in PostgresHook.ignored_extra_options and value is not None
    }
    return psycopg.conninfo.make_conninfo(
        host=conn.host or "localhost",
        port=str(conn.port or 5432),
        user=conn.login or "",
        password=conn.password or "",
        dbname=conn.schema or "postgres",
        **libpq_extras,
    )


def connect(dsn: str | None = None, **kwargs) -> psycopg.Connection:
    kwargs.setdefault("application_name", "sophos-sync")
    return psycopg.connect(resolve_dsn(dsn), **kwargs)


@cache
def sql(name: str) -> str:
    """The text of include/sql/<name>.sql, e.g. sql("load/merge_subscriptions")."""
    path = settings.SQL_DIR / f"{name}.sql"
    return path.read_text(encoding="utf-8")


def migration_files() -> list[tuple[str, str]]:
    folder = settings.SQL_DIR / "migrations"
    return [(p.stem, p.read_text(encoding="utf-8")) for p in sorted(folder.glob("[0-9]*.sql"))]


def migrate(conn: psycopg.Connection) -> list[str]:
    """Apply the migrations not applied yet, in order; concurrent callers wait on an advisory lock.

    Applied migrations are append-only: one whose file changed since it was applied stops everything
    (MigrationChecksumMismatch) before any pending one runs, since the database no longer matches the files.
    """
    applied_now: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (MIGRATION_LOCK,))
        conn.execute("CREATE SCHEMA IF NOT EXISTS sophos")
        conn.execute(
            """CREATE TABLE IF NOT EXISTS sophos.schema_migrations (
                   version text PRIMARY KEY,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = dict(conn.execute("SELECT version, checksum FROM sophos.schema_migrations").fetchall())
        for version, text in migration_files():
            checksum = hashlib.sha256(text.encode()).hexdigest()
            if version in done:
                if done[version] != checksum:
                    raise MigrationChecksumMismatch(version, done[version], checksum)
                continue
            conn.execute(text)
            conn.execute(
                "INSERT INTO sophos.schema_migrations (version, checksum) VALUES (%s, %s)", (version, checksum)
            )
            applied_now.append(version)
    if applied_now:
        log.info("applied migrations: %s", ", ".join(applied_now))
    else:
        log.info("schema is up to date (%d migrations)", len(migration_files()))
    return applied_now


def copy_table(conn: psycopg.Connection, table: str, columns: Sequence[str], data: "pyarrow.Table") -> int:
    """COPY an Arrow table (its columns in `columns` order) into schema.table; returns the row count.

    Arrow writes the CSV in C++, batch by batch, straight into COPY: a million stage rows go in seconds,
    where a Python tuple per row through write_row takes most of a minute. Arrow's CSV quotes every
    string ("" is the empty string) and leaves null unquoted and empty, which is how PostgreSQL's CSV
    reads NULL.
    """
    import pyarrow.csv  # here, not at the top: DAG parsing imports this module

    schema, name = table.split(".")
    statement = pgsql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        pgsql.Identifier(schema, name), pgsql.SQL(", ").join(map(pgsql.Identifier, columns))
    )
    with conn.cursor() as cur, cur.copy(statement) as copy:
        sink = _CopySink(copy)
        with pyarrow.csv.CSVWriter(sink, data.schema, write_options=pyarrow.csv.WriteOptions(include_header=False)) \
                as writer:
            writer.write_table(data)
    return data.num_rows


class StreamedCopy:
    """One COPY into schema.table fed Arrow tables (same columns, `columns` order) from a thread of its own:
    the caller judges its next chunk while PostgreSQL ingests the last one, on the other core.

        with StreamedCopy(conn, "sophos.stage_billing_lines", columns) as copy:
            copy.put(table)            # blocks while two tables wait

    The connection belongs to the thread until the block ends. An error of the COPY is raised by the next
    put() or at the end; an error in the block aborts the COPY (the caller's transaction rolls back).
    """

    _DONE, _ABORT = object(), object()

    def __init__(self, conn: psycopg.Connection, table: str, columns: Sequence[str], depth: int = 2):
        schema, name = table.split(".")
        self._statement = pgsql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
            pgsql.Identifier(schema, name), pgsql.SQL(", ").join(map(pgsql.Identifier, columns))
        )
        self._conn = conn
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"copy-{name}", daemon=True)
        self.rows = 0

    def __enter__(self) -> StreamedCopy:
        self._thread.start()
        return self

    def put(self, table: "pyarrow.Table") -> None:
        while True:
            if self._error is not None:
                raise self._error
            try:
                self._queue.put(table, timeout=0.5)
                return
            except queue.Full:
                continue

    def __exit__(self, exc_type, exc, tb) -> None:
        self._queue.put(self._ABORT if exc_type else self._DONE)
        self._thread.join()
        if exc_type is None and self._error is not None:
            raise self._error

    def _run(self) -> None:
        import pyarrow.csv

        ended = aborting = False  # the block's end (DONE or ABORT) taken from the queue; which one
        try:
            with self._conn.cursor() as cur, cur.copy(self._statement) as copy:
                writer = schema = None
                while True:
                    table = self._queue.get()
                    ended, aborting = table is self._DONE or table is self._ABORT, table is self._ABORT
                    if aborting:
                        raise _CopyAborted
                    if ended:
                        break
                    if writer is None:
                        schema = table.schema
                        writer = pyarrow.csv.CSVWriter(
                            _CopySink(copy), schema, write_options=pyarrow.csv.WriteOptions(include_header=False))
                    writer.write_table(table.cast(schema))
                    self.rows += table.num_rows
                if writer is not None:
                    writer.close()
        except BaseException as exc:  # raised in the caller's thread
            if aborting:
                return  # however psycopg words the cancelled COPY: the caller's own error is the one to raise
            self._error = exc
            while not ended:  # let a blocked put() return, and wait for the block's end
                ended = self._queue.get() in (self._DONE, self._ABORT)


class _CopyAborted(Exception):
    """The caller's block failed: the COPY is cancelled, and nothing of it stays."""


class _CopySink:
    """The file Arrow's CSV writer writes to: every piece goes on to COPY."""

    closed = False

    def __init__(self, copy: psycopg.Copy):
        self._copy = copy

    def write(self, data) -> int:
        self._copy.write(data)
        return len(data)

    def flush(self) -> None:
        """COPY sends as it goes."""


def copy_rows(
    conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]
) -> int:
    """COPY rows into schema.table (names are code constants, quoted here); returns the row count."""
    schema, name = table.split(".")
    statement = pgsql.SQL("COPY {} ({}) FROM STDIN").format(
        pgsql.Identifier(schema, name), pgsql.SQL(", ").join(map(pgsql.Identifier, columns))
    )
    count = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count

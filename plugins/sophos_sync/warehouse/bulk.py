"""COPY into PostgreSQL: Arrow tables (one at a time, or streamed from a thread of their own) and Python rows."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql as pgsql

if TYPE_CHECKING:
    import pyarrow


def copy_table(conn: psycopg.Connection, table: str, columns: Sequence[str], data: pyarrow.Table) -> int:
    """COPY an Arrow table (its columns in `columns` order) into schema.table; returns the row count.

    Arrow writes the CSV in C++, batch by batch, straight into COPY: a million stage rows go in seconds,
    where a Python tuple per row through write_row takes most of a minute. Arrow's CSV quotes every
    string ("" is the empty string) and leaves null unquoted and empty, which is how PostgreSQL's CSV
    reads NULL.
    """
    import pyarrow.csv  # when a COPY of Arrow tables runs: the CLI imports this module without needing it

    schema, name = table.split(".")
    statement = pgsql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        pgsql.Identifier(schema, name), pgsql.SQL(", ").join(map(pgsql.Identifier, columns))
    )
    with conn.cursor() as cur, cur.copy(statement) as copy:
        sink = _CopySink(copy)
        with pyarrow.csv.CSVWriter(
            sink, data.schema, write_options=pyarrow.csv.WriteOptions(include_header=False)
        ) as writer:
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

    def put(self, table: pyarrow.Table) -> None:
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
                            _CopySink(copy), schema, write_options=pyarrow.csv.WriteOptions(include_header=False)
                        )
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


def copy_rows(conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
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

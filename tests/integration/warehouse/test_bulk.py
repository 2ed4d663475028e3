"""db.StreamedCopy on the real PostgreSQL: tables fed from one thread are COPYed by another, as one COPY;
its errors reach the caller, and the caller's errors cancel it."""

from __future__ import annotations

import psycopg
import pyarrow
import pytest

from sophos_sync.warehouse import bulk


@pytest.fixture
def target(db_conn):
    db_conn.execute("CREATE TEMP TABLE streamed (n bigint NOT NULL, label text)")
    db_conn.commit()
    return db_conn


def chunk(first: int, count: int, label: str | None = "x") -> pyarrow.Table:
    return pyarrow.table(
        {
            "n": pyarrow.array(range(first, first + count), pyarrow.int64()),
            "label": pyarrow.array([label] * count, pyarrow.string()),
        }
    )


def test_every_table_put_lands_in_one_copy(target):
    with bulk.StreamedCopy(target, "pg_temp.streamed", ["n", "label"]) as copy:
        for first in range(0, 50_000, 10_000):
            copy.put(chunk(first, 10_000, label=None if first == 20_000 else f"from {first}"))
    assert copy.rows == 50_000
    assert target.execute("SELECT count(*), count(DISTINCT n), count(label) FROM streamed").fetchone() == (
        50_000,
        50_000,
        40_000,
    )


def test_an_error_of_the_copy_reaches_the_caller(target):
    with (
        pytest.raises(psycopg.errors.NotNullViolation),
        bulk.StreamedCopy(target, "pg_temp.streamed", ["n", "label"]) as copy,
    ):
        copy.put(chunk(0, 10))
        copy.put(pyarrow.table({"n": pyarrow.array([None], pyarrow.int64()), "label": pyarrow.array(["no number"])}))
        for first in range(10, 1_000, 10):  # the caller goes on until a put() or the end says so
            copy.put(chunk(first, 10))
    target.rollback()
    assert target.execute("SELECT count(*) FROM streamed").fetchone() == (0,)


def test_an_error_of_the_caller_cancels_the_copy_and_stays_the_error_raised(target):
    with target.transaction():
        target.execute("INSERT INTO streamed VALUES (-1, 'before')")
    with (
        pytest.raises(ValueError, match="the caller's own"),
        target.transaction(),
        bulk.StreamedCopy(target, "pg_temp.streamed", ["n", "label"]) as copy,
    ):
        copy.put(chunk(0, 1_000))
        raise ValueError("the caller's own")
    assert target.execute("SELECT n, label FROM streamed").fetchall() == [(-1, "before")]

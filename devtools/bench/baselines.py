"""The baselines, on the same rows in the same run once the month is loaded:
raw COPY      psql \\copy of the month's invoice lines (exported with COPY TO) into an empty clone of
              sophos.invoice_lines: the physical limit of getting those rows into that table here;
to_sql        pandas.DataFrame.to_sql(method="multi", chunksize=1000) through SQLAlchemy on a subset
              of the same lines: what a typical hand-written Airflow ETL does;
sequential    the licences of a subset of the tenants fetched with concurrency 1, same client
              (fetch_licenses, which bench/bench_licenses.py times too).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg

from devtools.bench.measurement import MB
from devtools.bench.postgres import clone_table, export_csv, insertable_columns, timed_copy
from devtools.databases import database_url

# The rows/s a hand-written ETL gets depends on the batch: 1,000 rows per INSERT is the usual choice and
# keeps the bind parameters (rows x 30 columns) under PostgreSQL's limit of 65,535.
TO_SQL_CHUNKSIZE = 1000
BENCH_SCHEMA = "bench"


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


def raw_copy(dsn: str, billing_month: date, workdir: Path) -> dict:
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
    return {
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds, 1),
        "csv_mb": round(size_mb, 1),
    }


def to_sql(dsn: str, billing_month: date, rows_wanted: int) -> dict:
    import pandas as pd
    import sqlalchemy

    engine = sqlalchemy.create_engine(database_url(dsn, "postgresql+psycopg"))
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            columns = insertable_columns(conn, "sophos.invoice_lines")
            clone_table(conn, "sophos.invoice_lines", f"{BENCH_SCHEMA}.invoice_lines_to_sql")
        # The target's own column types: pandas would otherwise send the UUIDs as VARCHAR, which PostgreSQL
        # refuses for a uuid column; this is what a hand-written ETL ends up passing.
        target = sqlalchemy.Table(
            "invoice_lines_to_sql", sqlalchemy.MetaData(), schema=BENCH_SCHEMA, autoload_with=engine
        )
        frame = pd.read_sql_query(
            sqlalchemy.text(
                f"SELECT {', '.join(columns)} FROM sophos.invoice_lines WHERE billing_month = :month LIMIT :n"
            ),
            engine,
            params={"month": billing_month, "n": rows_wanted},
        )
        started = time.perf_counter()
        frame.to_sql(
            "invoice_lines_to_sql",
            engine,
            schema=BENCH_SCHEMA,
            if_exists="append",
            index=False,
            method="multi",
            chunksize=TO_SQL_CHUNKSIZE,
            dtype={c.name: c.type for c in target.columns if c.name in frame.columns},
        )
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    rows = len(frame)
    return {
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds, 1),
        "chunksize": TO_SQL_CHUNKSIZE,
    }


def sequential_licenses(subset: Mapping[str, Sequence[str]]) -> dict:
    from sophos_sync.sophos.hook import SophosHook

    fetched = fetch_licenses(lambda account, c: SophosHook(account, concurrency=c).get_client(), subset, 1)
    return {
        "tenants": fetched.tenants,
        "licenses": fetched.licenses,
        "seconds": round(fetched.seconds, 3),
        "tenants_per_s": round(fetched.tenants_per_s, 1),
    }

"""Validation's database side: the run's landed records of an entity judged (judge.py) into its stage table,
and the rejected ones into sophos.rejected_records. Runs inside the caller's transaction."""

from __future__ import annotations

import numpy as np
import psycopg
import pyarrow
from psycopg import sql as pgsql

from sophos_sync.entities import Entity, Landing
from sophos_sync.entities import entity as declared
from sophos_sync.extract import landing
from sophos_sync.validation.judge import STAGE_COLUMNS, STAGE_KEYS, ValidationResult, validate, validate_pages
from sophos_sync.warehouse import bulk


def stage_entity(
    conn: psycopg.Connection, reader: psycopg.Connection, sync_run_id: int, entity: Entity
) -> ValidationResult:
    """The run's landed records of `entity` (read through `reader`) judged; its stage rows, replacing the
    run's rows there, written through `conn`."""
    if entity.landing is Landing.PAGES:
        return stage_pages(conn, reader, sync_run_id, entity)
    result = validate(
        entity.name,
        landing.records(reader, sync_run_id, entity.name),
        contract_currencies(conn, sync_run_id, entity),
    )
    write_stage(conn, sync_run_id, result)
    return result


def _delete_run_rows(conn: psycopg.Connection, sync_run_id: int, entity: Entity) -> None:
    schema, name = entity.stage_table.split(".")
    conn.execute(
        pgsql.SQL("DELETE FROM {} WHERE sync_run_id = %s").format(pgsql.Identifier(schema, name)), (sync_run_id,)
    )


def write_stage(conn: psycopg.Connection, sync_run_id: int, result: ValidationResult) -> None:
    """An in-memory ValidationResult's rows into its stage table (replacing the run's rows there)."""
    entity = declared(result.entity)
    columns = STAGE_COLUMNS[entity.name]
    _delete_run_rows(conn, sync_run_id, entity)
    staged = pyarrow.Table.from_pandas(result.valid[columns], preserve_index=False)
    run = pyarrow.array(np.full(staged.num_rows, sync_run_id, dtype=np.int64))
    bulk.copy_table(conn, entity.stage_table, ["sync_run_id", *columns], staged.add_column(0, "sync_run_id", run))


def contract_currencies(conn: psycopg.Connection, sync_run_id: int, entity: Entity) -> dict[str, str | None]:
    """Each Sophos connection's contract currency, as its extract of `entity` recorded it."""
    rows = conn.execute(
        "SELECT account, contract_currency FROM sophos.landing_batches WHERE sync_run_id = %s AND entity = %s",
        (sync_run_id, entity.name),
    ).fetchall()
    return {account: currency.strip() if currency else None for account, currency in rows}


def stage_pages(
    conn: psycopg.Connection, reader: psycopg.Connection, sync_run_id: int, entity: Entity
) -> ValidationResult:
    """validate_pages on the run's landed pages (read through `reader`), each chunk's stage rows COPYed by
    `conn` while the next is judged (replacing the run's rows there); the ValidationResult."""
    columns = STAGE_COLUMNS[entity.name]
    currencies = contract_currencies(conn, sync_run_id, entity)  # before the COPY takes the connection
    _delete_run_rows(conn, sync_run_id, entity)
    with bulk.StreamedCopy(conn, entity.stage_table, ["sync_run_id", *columns]) as copy:

        def stage(rows: pyarrow.Table) -> None:
            run = pyarrow.array(np.full(rows.num_rows, sync_run_id, dtype=np.int64))
            copy.put(rows.select(columns).add_column(0, "sync_run_id", run))

        # pages are read ahead in a thread while a chunk is judged, as the stage rows are written behind it
        pages = landing.prefetched(landing.pages(reader, sync_run_id, entity.name))
        result = validate_pages(entity.name, pages, stage=stage, contract_currencies=currencies)
    if result.unstage:
        schema, name = entity.stage_table.split(".")
        conn.execute(
            pgsql.SQL("DELETE FROM {} WHERE sync_run_id = %s AND {} = ANY(%s)").format(
                pgsql.Identifier(schema, name), pgsql.Identifier(STAGE_KEYS[entity.name])
            ),
            (sync_run_id, result.unstage),
        )
    return result


def write_rejected(conn: psycopg.Connection, sync_run_id: int, result: ValidationResult) -> None:
    rejected = result.rejected
    bulk.copy_rows(
        conn,
        "sophos.rejected_records",
        ["sync_run_id", "entity", "source_key", "check_name", "column_name", "failure_case", "raw"],
        (
            (sync_run_id, result.entity, key, check, column, failure, raw)
            for key, check, column, failure, raw in zip(
                rejected["source_key"],
                rejected["check_name"],
                rejected["column_name"],
                rejected["failure_case"],
                rejected["raw"],
                strict=True,
            )
        )
        if len(rejected)
        else (),
    )

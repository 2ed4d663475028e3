"""PostgreSQL: where the database is (an explicit DSN, $SOPHOS_SYNC_DB_DSN or the Airflow connection), a
connection to it, and the SQL files of include/sql/ by name."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import cache

import psycopg

from sophos_sync.errors import ConfigurationError
from sophos_sync.masking import mask_password
from sophos_sync.settings import settings

EXAMPLE_DSN = "postgresql://user:password@host:5432/dbname"


def resolve_dsn(dsn: str | None = None, conn_id: str | None = None) -> str:
    """The database to use: an explicit DSN, else $SOPHOS_SYNC_DB_DSN, else the Airflow connection."""
    if dsn:
        return _checked_dsn(dsn, "the DSN given (--dsn)")
    from_environment = settings.DB_DSN
    if from_environment:
        return _checked_dsn(from_environment, "$SOPHOS_SYNC_DB_DSN")
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
        name: str(value)
        for name, value in conn.extra_dejson.items()
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


def one(conn: psycopg.Connection, name: str, params: Mapping[str, object] | Sequence[object] | None = None) -> tuple:
    """The row answered by include/sql/<name>.sql, a statement that always answers exactly one."""
    row = conn.execute(sql(name), params).fetchone()
    if row is None:
        raise LookupError(f"include/sql/{name}.sql answered no row")
    return row


def one_by_name(conn: psycopg.Connection, name: str, params: Mapping[str, object]) -> dict:
    """one(), its values by column name."""
    cur = conn.execute(sql(name), params)
    row = cur.fetchone()
    if row is None or cur.description is None:
        raise LookupError(f"include/sql/{name}.sql answered no row")
    return dict(zip((column.name for column in cur.description), row, strict=True))

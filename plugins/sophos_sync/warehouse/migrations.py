"""Migrations: include/sql/migrations/NNNN_*.sql applied in order, once each; then the current definition of
each view and SQL function (include/sql/functions/, include/sql/views/) applied again whenever one changed.

Numbered migrations hold tables and data and are append-only: one whose file changed after it was applied
stops everything (MigrationChecksumMismatch). Views and functions are defined once, in a file named after
the object (`views/finance.invoice_lines.sql`), like Flyway's repeatable migrations: a change is an edit of
that file, and `migrate` re-applies the definitions (functions first, then views, each in file-name order,
so a view that reads another sorts after it) when any checksum differs from the one recorded in
sophos.schema_repeatables, and after any numbered migration (which may drop a view to change a table under
it). Views are replaced in place (CREATE OR REPLACE); a change PostgreSQL cannot make in place (a column
dropped, renamed or retyped) drops our views, in reverse order and never with CASCADE, and creates them
again, so an object of someone else's that depends on them stops the migration by name instead of vanishing.
All of it runs in one transaction under an advisory lock.
"""

from __future__ import annotations

import hashlib
import logging

import psycopg
from psycopg import sql as pgsql

from sophos_sync.errors import ConfigurationError, MigrationChecksumMismatch
from sophos_sync.settings import settings

log = logging.getLogger(__name__)

MIGRATION_LOCK = "sophos_sync.migrate"
REPEATABLE_KINDS = ("functions", "views")


def _checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def migration_files() -> list[tuple[str, str]]:
    folder = settings.SQL_DIR / "migrations"
    return [(p.stem, p.read_text(encoding="utf-8")) for p in sorted(folder.glob("[0-9]*.sql"))]


def repeatable_files() -> list[tuple[str, str]]:
    """(kind/object, text) of every view and function definition, in the order they are applied."""
    return [
        (f"{kind}/{p.stem}", p.read_text(encoding="utf-8"))
        for kind in REPEATABLE_KINDS
        for p in sorted((settings.SQL_DIR / kind).glob("*.sql"))
    ]


def migrate(conn: psycopg.Connection) -> list[str]:
    """Apply the migrations not applied yet, in order, then the view and function definitions if any changed;
    concurrent callers wait on an advisory lock. Returns the versions applied (the definitions are logged)."""
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
        done: dict[str, str] = dict(conn.execute("SELECT version, checksum FROM sophos.schema_migrations").fetchall())
        for version, text in migration_files():
            checksum = _checksum(text)
            if version in done:
                if done[version] != checksum:
                    raise MigrationChecksumMismatch(version, done[version], checksum)
                continue
            conn.execute(text)
            conn.execute(
                "INSERT INTO sophos.schema_migrations (version, checksum) VALUES (%s, %s)", (version, checksum)
            )
            applied_now.append(version)
        redefined = _apply_repeatables(conn, after_migrations=bool(applied_now))
    if applied_now:
        log.info("applied migrations: %s", ", ".join(applied_now))
    else:
        log.info("schema is up to date (%d migrations)", len(migration_files()))
    if redefined:
        log.info("applied the current definitions of %s", ", ".join(redefined))
    return applied_now


def _apply_repeatables(conn: psycopg.Connection, after_migrations: bool) -> list[str]:
    """Every view and function definition, when any of them changed or numbered migrations were just applied
    (one may have dropped a view to change a table under it); the names of the changed ones."""
    conn.execute(
        """CREATE TABLE IF NOT EXISTS sophos.schema_repeatables (
               name text PRIMARY KEY,
               checksum text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )
    files = repeatable_files()
    done: dict[str, str] = dict(conn.execute("SELECT name, checksum FROM sophos.schema_repeatables").fetchall())
    changed = [name for name, text in files if done.get(name) != _checksum(text)]
    if not changed and not after_migrations:
        return []
    try:
        with conn.transaction():
            for _, text in files:
                conn.execute(text)
    except psycopg.errors.InvalidTableDefinition as exc:
        log.info(
            "a view changed in a way CREATE OR REPLACE cannot apply (%s); dropping and creating our views",
            exc.diag.message_primary,
        )
        with conn.transaction():
            for name, _ in reversed(files):
                kind, qualified = name.split("/", 1)
                if kind == "views":
                    _drop_view(conn, qualified)
            for _, text in files:
                conn.execute(text)
    for name, text in files:
        conn.execute(
            """INSERT INTO sophos.schema_repeatables (name, checksum) VALUES (%s, %s)
               ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()""",
            (name, _checksum(text)),
        )
    return changed


def _drop_view(conn: psycopg.Connection, qualified: str) -> None:
    schema, view = qualified.split(".", 1)
    try:
        with conn.transaction():
            conn.execute(pgsql.SQL("DROP VIEW IF EXISTS {}").format(pgsql.Identifier(schema, view)))
    except psycopg.errors.DependentObjectsStillExist as exc:
        raise ConfigurationError(
            f"view {qualified} must be created anew (include/sql/views/{qualified}.sql changed a column), but "
            f"{exc.diag.message_detail or 'other objects depend on it'}. Drop those objects, migrate, and create "
            "them again; nothing was migrated"
        ) from None

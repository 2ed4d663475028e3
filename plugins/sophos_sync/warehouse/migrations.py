"""Migrations: include/sql/migrations/NNNN_*.sql applied in order, once each, under an advisory lock."""
from __future__ import annotations

import hashlib
import logging

import psycopg

from sophos_sync.errors import MigrationChecksumMismatch
from sophos_sync.settings import settings

log = logging.getLogger(__name__)

MIGRATION_LOCK = "sophos_sync.migrate"


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

import hashlib
import shutil

import psycopg
import pytest

from sophos_sync.warehouse import migrations
from sophos_sync.settings import settings
from sophos_sync.errors import ConfigurationError, MigrationChecksumMismatch


def test_migrations_apply_once_and_are_recorded(empty_pg_dsn):
    with psycopg.connect(empty_pg_dsn) as conn:
        first = migrations.migrate(conn)
        second = migrations.migrate(conn)
        recorded = [r[0] for r in conn.execute("SELECT version FROM sophos.schema_migrations ORDER BY 1")]
    assert first == [version for version, _ in migrations.migration_files()]
    assert second == []
    assert recorded == first


def test_contract_tables_exist(db_conn):
    tables = {
        f"{s}.{t}"
        for s, t in db_conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN ('sophos', 'review', 'platform')"
        )
    }
    for table in (
        "platform.sellers",
        "platform.customer_organizations",
        "sophos.customers",
        "sophos.customer_mappings",
        "sophos.subscriptions",
        "sophos.subscription_status_history",
        "sophos.invoice_lines",
        "sophos.rejected_records",
        "sophos.sync_runs",
        "review.unmapped_customers",
    ):
        assert table in tables


def test_a_changed_applied_migration_stops_migrate_with_both_checksums(db_conn, tmp_path, monkeypatch):
    include = tmp_path / "include"
    shutil.copytree(settings.INCLUDE_DIR, include)
    migration_dir = include / "sql" / "migrations"
    changed = sorted(migration_dir.glob("[0-9]*.sql"))[0]
    applied_checksum = hashlib.sha256(changed.read_bytes()).hexdigest()
    changed.write_text(changed.read_text(encoding="utf-8") + "\n-- edited after it was applied\n", encoding="utf-8")
    edited_checksum = hashlib.sha256(changed.read_bytes()).hexdigest()
    (migration_dir / "9999_pending.sql").write_text("CREATE TABLE sophos.pending_marker (id int);\n", encoding="utf-8")
    monkeypatch.setenv("SOPHOS_SYNC_INCLUDE_DIR", str(include))

    with pytest.raises(MigrationChecksumMismatch) as refused:
        migrations.migrate(db_conn)

    message = str(refused.value)
    assert f"{changed.name} changed after it was applied" in message
    assert applied_checksum in message and edited_checksum in message
    assert isinstance(refused.value, ConfigurationError)
    assert db_conn.execute("SELECT to_regclass('sophos.pending_marker')").fetchone()[0] is None
    assert db_conn.execute("SELECT count(*) FROM sophos.schema_migrations WHERE version = '9999_pending'") \
        .fetchone()[0] == 0

import hashlib
import shutil
from decimal import Decimal

import psycopg
import pytest

from sophos_sync.errors import ConfigurationError, MigrationChecksumMismatch
from sophos_sync.settings import settings
from sophos_sync.warehouse import migrations


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
    assert (
        db_conn.execute("SELECT count(*) FROM sophos.schema_migrations WHERE version = '9999_pending'").fetchone()[0]
        == 0
    )


def _include_copy(tmp_path, monkeypatch):
    include = tmp_path / "include"
    shutil.copytree(settings.INCLUDE_DIR, include)
    monkeypatch.setenv("SOPHOS_SYNC_INCLUDE_DIR", str(include))
    return include / "sql"


def _view_columns(conn, view: str) -> list[str]:
    schema, name = view.split(".")
    return [
        column
        for (column,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
            "ORDER BY ordinal_position",
            (schema, name),
        )
    ]


def test_views_and_functions_are_defined_once_and_recorded(empty_pg_dsn):
    with psycopg.connect(empty_pg_dsn) as conn:
        migrations.migrate(conn)
        recorded = dict(conn.execute("SELECT name, checksum FROM sophos.schema_repeatables"))
        definitions = conn.execute("SELECT pg_get_viewdef('finance.invoice_lines'::regclass)").fetchone()[0]
    files = migrations.repeatable_files()
    assert sorted(recorded) == sorted(name for name, _ in files)
    assert {name: hashlib.sha256(text.encode()).hexdigest() for name, text in files} == recorded
    assert "views/finance.invoice_lines" in recorded and "functions/review.resolve_customer" in recorded
    assert "line_amount" in definitions


def test_an_edited_view_file_is_applied_by_the_next_migrate(db_conn, tmp_path, monkeypatch):
    sql_dir = _include_copy(tmp_path, monkeypatch)
    view = sql_dir / "views" / "finance.invoice_lines.sql"
    before = _view_columns(db_conn, "finance.invoice_lines")
    view.write_text(
        view.read_text(encoding="utf-8").replace(
            "\nFROM sophos.invoice_lines l", ",\n       l.account AS sophos_connection\nFROM sophos.invoice_lines l"
        ),
        encoding="utf-8",
    )

    assert migrations.migrate(db_conn) == []  # no numbered migration is pending

    assert _view_columns(db_conn, "finance.invoice_lines") == [*before, "sophos_connection"]
    assert _view_columns(db_conn, "finance.monthly_totals")  # the view over it is still there
    assert db_conn.execute(
        "SELECT has_table_privilege('finance_reader', 'finance.invoice_lines', 'SELECT')"
    ).fetchone()[0]
    recorded = db_conn.execute(
        "SELECT checksum FROM sophos.schema_repeatables WHERE name = 'views/finance.invoice_lines'"
    ).fetchone()[0]
    assert recorded == hashlib.sha256(view.read_bytes()).hexdigest()


def test_a_view_change_create_or_replace_cannot_make_recreates_our_views(db_conn, tmp_path, monkeypatch):
    sql_dir = _include_copy(tmp_path, monkeypatch)
    view = sql_dir / "views" / "finance.invoice_lines.sql"
    text = view.read_text(encoding="utf-8")
    view.write_text(text.replace("       l.sync_run_id,\n", ""), encoding="utf-8")  # a column dropped mid-view

    migrations.migrate(db_conn)

    columns = _view_columns(db_conn, "finance.invoice_lines")
    assert "sync_run_id" not in columns and "line_amount" in columns
    assert "total_amount" in _view_columns(db_conn, "finance.monthly_totals")
    assert db_conn.execute(
        "SELECT has_table_privilege('finance_reader', 'finance.monthly_totals', 'SELECT')"
    ).fetchone()[0]


def test_a_view_of_someone_elses_on_ours_stops_a_recreation_by_name(db_conn, tmp_path, monkeypatch):
    db_conn.execute("CREATE VIEW public.finance_report AS SELECT billing_month, line_amount FROM finance.invoice_lines")
    db_conn.commit()
    sql_dir = _include_copy(tmp_path, monkeypatch)
    view = sql_dir / "views" / "finance.invoice_lines.sql"
    view.write_text(view.read_text(encoding="utf-8").replace("       l.sync_run_id,\n", ""), encoding="utf-8")

    with pytest.raises(ConfigurationError, match="view finance.invoice_lines must be created anew .*finance_report"):
        migrations.migrate(db_conn)
    db_conn.rollback()

    assert "sync_run_id" in _view_columns(db_conn, "finance.invoice_lines")
    assert _view_columns(db_conn, "public.finance_report") == ["billing_month", "line_amount"]


def test_the_amount_migration_recomputes_months_loaded_before_it(empty_pg_dsn, tmp_path, monkeypatch):
    """A month loaded under the old rule (net_price x billable_quantity) is valued by unit_price x billable_quantity
    once 0009 is applied, and keeps where its price came from."""
    before = tmp_path / "before" / "sql"
    shutil.copytree(settings.SQL_DIR, before)
    for later in sorted((before / "migrations").glob("[0-9]*.sql")):
        if later.name >= "0009":
            later.unlink()
    for defined_once in ("views", "functions"):  # the release before 0009 defined them in its migrations
        shutil.rmtree(before / defined_once)
    with psycopg.connect(empty_pg_dsn) as conn:
        monkeypatch.setenv("SOPHOS_SYNC_INCLUDE_DIR", str(before.parent))
        migrations.migrate(conn)
        conn.execute(
            "INSERT INTO sophos.invoice_lines (billing_month, line_key, account, unit_price, net_price, "
            "billable_quantity, currency, sync_run_id) VALUES "
            "('2026-09-01', 'total', 'sophos_default', 1.40, 28.00, 20, 'EUR', 1), "
            "('2026-09-01', 'unpriced', 'sophos_default', NULL, NULL, 5, 'EUR', 1)"
        )
        assert conn.execute("SELECT line_amount FROM sophos.invoice_lines ORDER BY line_key").fetchall() == [
            (Decimal("560.0000"),),
            (None,),
        ]
        conn.commit()
        monkeypatch.delenv("SOPHOS_SYNC_INCLUDE_DIR")
        assert migrations.migrate(conn) == ["0009_amounts_as_sophos_means_them"]
        recomputed = conn.execute(
            "SELECT line_key, line_amount, price_source, amount_missing_reason FROM finance.invoice_lines "
            "ORDER BY line_key"
        ).fetchall()
    assert recomputed == [("total", Decimal("28.0000"), "sophos", None), ("unpriced", None, None, "no_price")]

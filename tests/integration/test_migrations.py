import psycopg

from sophos_sync import db


def test_migrations_apply_once_and_are_recorded(empty_pg_dsn):
    with psycopg.connect(empty_pg_dsn) as conn:
        first = db.migrate(conn)
        second = db.migrate(conn)
        recorded = [r[0] for r in conn.execute("SELECT version FROM sophos.schema_migrations ORDER BY 1")]
    assert first == [version for version, _ in db.migration_files()]
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

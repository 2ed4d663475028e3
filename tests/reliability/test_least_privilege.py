"""Least privilege: each role of migrations 0003 and 0004 is switched to (SET ROLE) on the real PostgreSQL
and tries what it must not do. finance_reader reads the finance views only; support_agent works the review
list and resolves through review.resolve_customer; distributor_admin hides subscriptions through
platform.set_subscription_hidden. Nothing else, and no writes but through those doors."""
from __future__ import annotations

import psycopg
import pytest

from sophos_sync import db

ACME = "00000000-0000-4000-8000-000000000001"
OTHER = "00000000-0000-4000-8000-000000000009"
PARTNER = "7b1e2a34-0000-4000-8000-000000000001"
SUBSCRIPTION = "5b0c7e9a-1d2f-4e3a-9b8c-7d6e5f4a3b2c"


@pytest.fixture
def as_role(pg_dsn):
    """An autocommit session per role, so a refused statement leaves no aborted transaction behind."""
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute("INSERT INTO platform.sellers VALUES ('seller-north', 'North IT', %s)", (PARTNER,))
        admin.execute(
            "INSERT INTO platform.customer_organizations VALUES ('org-acme', 'seller-north', 'ACME GmbH')")
        admin.execute(
            "INSERT INTO sophos.customers (sophos_customer_id, name, partner_id, first_seen_at, last_seen_at) "
            "VALUES (%s, 'Acme GmbH', %s, now(), now())",
            (ACME, PARTNER),
        )
        admin.execute(
            "INSERT INTO review.unmapped_customers (sophos_customer_id, customer_name, partner_id, seller_id, "
            "reason, first_seen_at, last_seen_at) VALUES (%s, 'Acme GmbH', %s, 'seller-north', 'no_match', "
            "now(), now())",
            (ACME, PARTNER),
        )
        admin.execute(
            "INSERT INTO sophos.invoice_lines (billing_month, line_key, account, sync_run_id) "
            "VALUES ('2026-10-01', 'k1', 'sophos_default', 1)"
        )
        admin.execute(
            "INSERT INTO sophos.subscriptions (subscription_id, sophos_customer_id, platform_org_id, status, "
            "first_seen_at, last_seen_at) VALUES (%s, %s, 'org-acme', 'active', now(), now())",
            (SUBSCRIPTION, ACME),
        )
    sessions = []

    def connect(role: str) -> psycopg.Connection:
        conn = psycopg.connect(pg_dsn, autocommit=True)
        conn.execute(f"SET ROLE {role}")  # role names are code constants of this test
        sessions.append(conn)
        return conn

    yield connect
    for conn in sessions:
        conn.close()


def refused(conn: psycopg.Connection, statement: str) -> bool:
    try:
        conn.execute(statement)
    # the finance views join tables, so a write on them is refused as not updatable, whoever tries
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectNotInPrerequisiteState):
        return True
    return False


# Support's history of mapping decisions is written by review.resolve_customer and the sync only.
FORGED_HISTORY = [
    "INSERT INTO review.mapping_changes (sophos_customer_id, event, changed_by) "
    f"VALUES ('{OTHER}', 'resolved', 'mallory')",
    "UPDATE review.mapping_changes SET changed_by = 'mallory'",
    "DELETE FROM review.mapping_changes",
]
NEW_LINE = (
    "INSERT INTO sophos.invoice_lines (billing_month, line_key, account, sync_run_id) "
    "VALUES ('2026-11-01', 'x', 'a', 1)"
)
READER_WRITES = [
    NEW_LINE,
    "UPDATE sophos.customers SET name = 'x'",
    "DELETE FROM sophos.subscriptions",
    "DELETE FROM finance.invoice_lines",
    "UPDATE finance.monthly_totals SET line_count = 0",
    "INSERT INTO platform.sellers VALUES ('s', 'n', NULL)",
    "UPDATE review.unmapped_customers SET status = 'resolved'",
    "CREATE TABLE finance.scratch (x int)",
    "CREATE TABLE public.scratch (x int)",
    "CREATE VIEW finance.scratch AS SELECT 1",
    "CREATE FUNCTION finance.scratch() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE SCHEMA scratch",
    "TRUNCATE sophos.invoice_lines",
    *FORGED_HISTORY,
    f"SELECT review.resolve_customer('{ACME}', 'org-acme', 'mallory')",
    f"SELECT platform.set_subscription_hidden('{SUBSCRIPTION}', true, 'mallory', 'why not')",
]


def test_finance_reader_reads_the_finance_views(as_role):
    reader = as_role("finance_reader")
    assert reader.execute("SELECT line_key FROM finance.invoice_lines").fetchall() == [("k1",)]
    assert reader.execute("SELECT line_count FROM finance.monthly_totals").fetchall() == [(1,)]


@pytest.mark.parametrize("table", ["review.unmapped_customers", "review.mapping_changes", "sophos.invoice_lines",
                                   "sophos.customers", "sophos.subscriptions", "sophos.sync_runs",
                                   "sophos.rejected_records", "platform.customer_organizations",
                                   "platform.seller_subscriptions", "platform.subscription_visibility_changes"])
def test_finance_reader_cannot_read_outside_finance(as_role, table):
    assert refused(as_role("finance_reader"), f"SELECT * FROM {table}")


def test_finance_reader_cannot_write_anything(as_role):
    reader = as_role("finance_reader")
    assert [s for s in READER_WRITES if not refused(reader, s)] == []


def test_support_agent_reads_review_rows_and_resolves_through_the_function(as_role, pg_dsn):
    agent = as_role("support_agent")
    assert agent.execute("SELECT customer_name FROM review.unmapped_customers").fetchall() == [("Acme GmbH",)]

    assert agent.execute("SELECT * FROM review.resolve_customer(%s, 'org-acme', 'jane.doe')", (ACME,)).fetchall() \
        == [("org-acme", "seller-north", "ACME GmbH")]

    with psycopg.connect(pg_dsn) as admin:
        assert admin.execute(
            "SELECT platform_org_id, method, mapped_by FROM sophos.customer_mappings WHERE sophos_customer_id = %s",
            (ACME,),
        ).fetchone() == ("org-acme", "manual", "jane.doe")


def test_support_agent_cannot_touch_invoice_lines_or_anything_outside_review(as_role):
    agent = as_role("support_agent")
    statements = [
        "SELECT * FROM sophos.invoice_lines",
        "UPDATE sophos.invoice_lines SET net_price = 0",
        "DELETE FROM sophos.invoice_lines",
        NEW_LINE,
        "SELECT * FROM finance.invoice_lines",
        "SELECT * FROM finance.monthly_totals",
        f"INSERT INTO sophos.customer_mappings VALUES ('{OTHER}', 'o', 'manual', now(), 'x')",
        "DELETE FROM review.unmapped_customers",
        # only review.resolve_customer changes review state: an edited row could forge a resolution or the
        # partner (and so the seller) a customer is resolved under
        "UPDATE review.unmapped_customers SET candidates = '[]'",
        f"UPDATE review.unmapped_customers SET partner_id = '{OTHER}'",
        "UPDATE review.unmapped_customers SET status = 'resolved', resolved_by = 'jane.doe', "
        "resolved_org_id = 'org-acme'",
        "INSERT INTO review.unmapped_customers (sophos_customer_id, reason, first_seen_at, last_seen_at) "
        f"VALUES ('{OTHER}', 'no_match', now(), now())",
        "CREATE TABLE review.scratch (x int)",
        "ALTER TABLE review.unmapped_customers ADD COLUMN scratch int",
        "TRUNCATE sophos.invoice_lines",
        "TRUNCATE review.unmapped_customers",
        "UPDATE sophos.customer_mappings SET platform_org_id = 'org-acme'",
        "UPDATE sophos.subscriptions SET status = 'cancelled'",
        "SELECT * FROM platform.seller_subscriptions",
        f"SELECT platform.set_subscription_hidden('{SUBSCRIPTION}', true, 'jane.doe', 'why not')",
        *FORGED_HISTORY,
    ]
    assert [s for s in statements if not refused(agent, s)] == []


def test_distributor_admin_hides_a_subscription_through_the_function(as_role, pg_dsn):
    admin = as_role("distributor_admin")
    admin.execute("SELECT platform.set_subscription_hidden(%s, true, 'ops@distributor.example', 'customer asked')",
                  (SUBSCRIPTION,))
    with psycopg.connect(pg_dsn) as owner:
        assert owner.execute(
            "SELECT hidden_by FROM sophos.subscriptions WHERE subscription_id = %s", (SUBSCRIPTION,)
        ).fetchone() == ("ops@distributor.example",)


def test_distributor_admin_cannot_touch_the_mirror_the_audit_trail_or_other_schemas(as_role):
    admin = as_role("distributor_admin")
    statements = [
        # hiding without the function would leave no audit row and skip its checks
        "UPDATE sophos.subscriptions SET hidden_at = now(), hidden_by = 'ops'",
        "UPDATE sophos.subscriptions SET status = 'cancelled'",
        "SELECT * FROM sophos.subscriptions",
        "INSERT INTO platform.subscription_visibility_changes (subscription_id, action, changed_by) "
        f"VALUES ('{SUBSCRIPTION}', 'unhidden', 'ops')",
        "DELETE FROM platform.subscription_visibility_changes",
        "UPDATE platform.customer_organizations SET seller_id = 'seller-north'",
        "INSERT INTO platform.sellers VALUES ('s', 'n', NULL)",
        "CREATE TABLE platform.scratch (x int)",
        "SELECT * FROM platform.seller_subscriptions",
        "SELECT * FROM sophos.invoice_lines",
        "DELETE FROM sophos.invoice_lines",
        "SELECT * FROM finance.invoice_lines",
        "SELECT * FROM review.unmapped_customers",
        f"SELECT review.resolve_customer('{ACME}', 'org-acme', 'ops')",
        *FORGED_HISTORY,
    ]
    assert [s for s in statements if not refused(admin, s)] == []


def test_roles_migration_runs_again_when_roles_exist(empty_pg_dsn):
    """Roles are cluster-wide, so the migrations of a second database meet them already created. Replayed on
    the schema it was written for: later migrations widen its views, which CREATE OR REPLACE cannot narrow."""
    with psycopg.connect(empty_pg_dsn) as conn:
        for version, text in db.migration_files():
            if version[:4] <= "0003":
                conn.execute(text)
        roles_migration = dict(db.migration_files())["0003_finance_and_roles"]
        conn.execute(roles_migration)
        assert conn.execute("SELECT has_schema_privilege('finance_reader', 'finance', 'USAGE')").fetchone() == (True,)


def test_roles_migration_works_without_the_resolve_function(empty_pg_dsn):
    with psycopg.connect(empty_pg_dsn) as conn:
        for version, text in db.migration_files():
            if version.startswith(("0001", "0003")):
                conn.execute(text)
        resolve = conn.execute("SELECT to_regprocedure('review.resolve_customer(uuid, text, text, boolean)')")
        assert resolve.fetchone() == (None,)
        assert conn.execute("SELECT has_schema_privilege('support_agent', 'review', 'USAGE')").fetchone() == (True,)

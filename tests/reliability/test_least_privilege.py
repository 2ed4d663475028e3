"""Least privilege: each role of migrations 0003 and 0004 is switched to (SET ROLE) on the real PostgreSQL
and tries what it must not do. finance_reader reads the finance views only; support_agent works the review
list and resolves through review.resolve_customer; distributor_admin hides subscriptions through
platform.set_subscription_hidden. Nothing else, and no writes but through those doors."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import psycopg
import pytest
from harness import OCTOBER, ROOT
from psycopg import sql as pgsql

from devtools.databases import dsn_with
from sophos_sync.platform import visibility
from sophos_sync.review import workflow
from sophos_sync.warehouse import migrations
from tests.rows import organization, seller

ACME = "00000000-0000-4000-8000-000000000001"
OTHER = "00000000-0000-4000-8000-000000000009"
PARTNER = "7b1e2a34-0000-4000-8000-000000000001"
SUBSCRIPTION = "5b0c7e9a-1d2f-4e3a-9b8c-7d6e5f4a3b2c"


@pytest.fixture
def as_role(pg_dsn):
    """An autocommit session per role, so a refused statement leaves no aborted transaction behind."""
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        seller(admin, "seller-north", "North IT", PARTNER)
        organization(admin, "org-acme", "seller-north", "ACME GmbH")
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


@pytest.mark.parametrize(
    "table",
    [
        "review.unmapped_customers",
        "review.mapping_changes",
        "sophos.invoice_lines",
        "sophos.customers",
        "sophos.subscriptions",
        "sophos.sync_runs",
        "sophos.rejected_records",
        "platform.customer_organizations",
        "platform.seller_subscriptions",
        "platform.subscription_visibility_changes",
    ],
)
def test_finance_reader_cannot_read_outside_finance(as_role, table):
    assert refused(as_role("finance_reader"), f"SELECT * FROM {table}")


def test_finance_reader_cannot_write_anything(as_role):
    reader = as_role("finance_reader")
    assert [s for s in READER_WRITES if not refused(reader, s)] == []


def test_support_agent_reads_review_rows_and_resolves_through_the_function(as_role, pg_dsn):
    agent = as_role("support_agent")
    assert agent.execute("SELECT customer_name FROM review.unmapped_customers").fetchall() == [("Acme GmbH",)]

    assert agent.execute("SELECT * FROM review.resolve_customer(%s, 'org-acme', 'jane.doe')", (ACME,)).fetchall() == [
        ("org-acme", "seller-north", "ACME GmbH")
    ]

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
    admin.execute(
        "SELECT platform.set_subscription_hidden(%s, true, 'ops@distributor.example', 'customer asked')",
        (SUBSCRIPTION,),
    )
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
        for version, text in migrations.migration_files():
            if version[:4] <= "0003":
                conn.execute(text)
        roles_migration = dict(migrations.migration_files())["0003_finance_and_roles"]
        conn.execute(roles_migration)
        assert conn.execute("SELECT has_schema_privilege('finance_reader', 'finance', 'USAGE')").fetchone() == (True,)


def test_roles_migration_works_without_the_resolve_function(empty_pg_dsn):
    with psycopg.connect(empty_pg_dsn) as conn:
        for version, text in migrations.migration_files():
            if version.startswith(("0001", "0003")):
                conn.execute(text)
        resolve = conn.execute("SELECT to_regprocedure('review.resolve_customer(uuid, text, text, boolean)')")
        assert resolve.fetchone() == (None,)
        assert conn.execute("SELECT has_schema_privilege('support_agent', 'review', 'USAGE')").fetchone() == (True,)


# --- an insider with each role, end to end (issue: least privilege that holds against an insider) --------


@pytest.fixture
def login(pg_server_dsn, pg_dsn):
    """login(group) -> DSN of a new database login (password auth) granted only `group`, on this test's
    database. The logins are dropped afterwards (roles are cluster-wide)."""
    created = []

    def make(group: str) -> str:
        name, password = f"{group}_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
        with psycopg.connect(pg_server_dsn, autocommit=True) as admin:
            admin.execute(
                pgsql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                    pgsql.Identifier(name), pgsql.Literal(password), pgsql.Identifier(group)
                )
            )
        created.append(name)
        return dsn_with(pg_dsn, user=name, password=password)

    yield make
    with psycopg.connect(pg_server_dsn, autocommit=True) as admin:
        for name in created:
            admin.execute(pgsql.SQL("DROP ROLE IF EXISTS {}").format(pgsql.Identifier(name)))


def run_cli(*args: str, dsn: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SOPHOS_SYNC_DB_DSN"}
    env["PYTHONPATH"] = str(ROOT / "plugins")
    return subprocess.run(
        [sys.executable, "-m", "sophos_sync", "--dsn", dsn, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def another_sellers_organization(conn: psycopg.Connection, seller_id: str) -> tuple[str, str, str]:
    """(org_id, its seller, that seller's Sophos partner id) of a seller other than `seller_id`."""
    return conn.execute(
        "SELECT o.org_id, s.seller_id, s.sophos_partner_id::text FROM platform.customer_organizations o "
        "JOIN platform.sellers s USING (seller_id) WHERE s.seller_id <> %s AND s.sophos_partner_id IS NOT NULL "
        "ORDER BY o.org_id LIMIT 1",
        (seller_id,),
    ).fetchone()


def test_support_cannot_map_a_new_customer_to_another_sellers_organization(sync, pg_dsn, login):
    """The attack: between record_unmapped_customers and the load (the customer is in no mirror yet), point the
    review row's partner at another seller, then resolve to that seller's organization."""
    sync_run_id = sync.start(OCTOBER)
    sync.extract(sync_run_id, OCTOBER)
    sync.prepare(sync_run_id, OCTOBER)
    with psycopg.connect(pg_dsn) as owner:
        customer, seller = owner.execute(
            "SELECT sophos_customer_id::text, seller_id FROM review.unmapped_customers "
            "WHERE status = 'open' AND seller_id IS NOT NULL ORDER BY sophos_customer_id LIMIT 1"
        ).fetchone()
        assert owner.execute("SELECT count(*) FROM sophos.customers").fetchone() == (0,)
        org, other_seller, other_partner = another_sellers_organization(owner, seller)

    with psycopg.connect(login("support_agent"), autocommit=True) as mallory:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            mallory.execute(
                "UPDATE review.unmapped_customers SET partner_id = %s, seller_id = %s WHERE sophos_customer_id = %s",
                (other_partner, other_seller, customer),
            )
        # even a row edited by someone who still could (an owner login, a grant from before) decides nothing
        with psycopg.connect(pg_dsn, autocommit=True) as owner:
            owner.execute(
                "UPDATE review.unmapped_customers SET partner_id = %s, seller_id = %s WHERE sophos_customer_id = %s",
                (other_partner, other_seller, customer),
            )
        with pytest.raises(
            workflow.ReviewError,
            match=f"organization {org} .* belongs to seller {other_seller}, "
            f"but customer {customer} .* belongs to seller {seller}",
        ):
            workflow.resolve(mallory, customer, org, "mallory")

    sync.load(sync_run_id, OCTOBER)
    sync.report(sync_run_id, OCTOBER)
    with psycopg.connect(pg_dsn) as owner:
        assert owner.execute(
            "SELECT count(*) FROM sophos.customer_mappings WHERE sophos_customer_id = %s", (customer,)
        ).fetchone() == (0,)
        assert owner.execute(
            "SELECT count(*) FROM finance.invoice_lines WHERE sophos_customer_id = %s AND platform_org_id IS NOT NULL",
            (customer,),
        ).fetchone() == (0,)


def test_a_mapping_to_another_sellers_organization_is_sent_to_review_not_imported(sync, pg_dsn):
    """However it came about (an owner's hand, a resolve from before these checks, a customer that moved to
    another partner), a mapping is used only while its organization belongs to the customer's current seller."""
    sync.run_month(OCTOBER)
    with psycopg.connect(pg_dsn) as owner:
        customer, own_org, seller = owner.execute(
            "SELECT m.sophos_customer_id::text, m.platform_org_id, o.seller_id FROM sophos.customer_mappings m "
            "JOIN platform.customer_organizations o ON o.org_id = m.platform_org_id "
            "WHERE EXISTS (SELECT 1 FROM sophos.subscriptions s WHERE s.sophos_customer_id = m.sophos_customer_id) "
            "ORDER BY 1 LIMIT 1"
        ).fetchone()
        org, other_seller, _ = another_sellers_organization(owner, seller)
        owner.execute(
            "UPDATE sophos.customer_mappings SET platform_org_id = %s, method = 'manual', "
            "mapped_by = 'mallory' WHERE sophos_customer_id = %s",
            (org, customer),
        )

    sync.run_month(OCTOBER, dag_run_id="manual__after_the_forged_mapping")

    with psycopg.connect(pg_dsn) as owner:
        assert owner.execute(
            "SELECT count(*) FROM sophos.customer_mappings WHERE sophos_customer_id = %s", (customer,)
        ).fetchone() == (0,)
        assert owner.execute(
            "SELECT reason, status, seller_id FROM review.unmapped_customers WHERE sophos_customer_id = %s", (customer,)
        ).fetchone() == ("seller_changed", "open", seller)
        assert owner.execute(
            "SELECT event, previous_org_id, previous_mapped_by FROM review.mapping_changes "
            "WHERE sophos_customer_id = %s ORDER BY change_id DESC LIMIT 1",
            (customer,),
        ).fetchone() == ("seller_changed", org, "mallory")
        shown_to = owner.execute(
            "SELECT DISTINCT seller_id FROM platform.seller_subscriptions v JOIN sophos.subscriptions s "
            "USING (subscription_id) WHERE s.sophos_customer_id = %s",
            (customer,),
        ).fetchall()
        assert (other_seller,) not in shown_to
        assert owner.execute(
            "SELECT count(*) FROM finance.invoice_lines WHERE sophos_customer_id = %s AND platform_org_id = %s",
            (customer, org),
        ).fetchone() == (0,)


HOSTILE_NAMES = {
    "blank": "   ",
    "only whitespace": " \t ",
    "tab and newline": "\t\n",
    "terminal escape": "\x1b[2J\x1b[31mjane",
    "right-to-left override": "jane\u202eeod",
    "zero-width space": "ja\u200bne",
    "too long": "j" * 201,
}


@pytest.mark.parametrize("name", HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
def test_resolve_refuses_an_unprintable_or_overlong_name_without_echoing_it(as_role, name):
    agent = as_role("support_agent")
    with pytest.raises(workflow.ReviewError) as refused:
        workflow.resolve(agent, ACME, "org-acme", name)
    expected = "must be 1 to 200 printable characters" if name.strip(" ") else "must be given"
    assert expected in str(refused.value) and "nothing was changed" in str(refused.value)
    assert not name.strip() or name.strip() not in str(refused.value)
    assert agent.execute("SELECT status FROM review.unmapped_customers").fetchone() == ("open",)


def test_the_review_trail_records_the_login_beside_the_given_name(as_role, login, pg_dsn):
    with psycopg.connect(login("support_agent"), autocommit=True) as jane:
        login_name = jane.execute("SELECT session_user").fetchone()[0]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            jane.execute(
                "UPDATE review.unmapped_customers SET status = 'resolved', resolved_by = 'bob', "
                "resolved_org_id = 'org-acme'"
            )
        workflow.resolve(jane, ACME, "org-acme", "  bob the builder ")
    with psycopg.connect(pg_dsn) as owner:
        assert owner.execute("SELECT event, changed_by, changed_by_login FROM review.mapping_changes").fetchall() == [
            ("resolved", "bob the builder", login_name)
        ]


def test_hiding_refuses_an_unbounded_or_unprintable_reason_and_records_the_login(login, pg_dsn, as_role):
    with psycopg.connect(login("distributor_admin"), autocommit=True) as ops:
        login_name = ops.execute("SELECT session_user").fetchone()[0]
        for reason in ("x" * 1_000_000, "customer asked\x1b]0;pwned\x07", "fine\u202e"):
            with pytest.raises(visibility.VisibilityError, match="the reason .* must be 1 to 500 printable"):
                visibility.set_hidden(ops, SUBSCRIPTION, True, "ops", reason)
        with pytest.raises(visibility.VisibilityError, match=r"the name .* \(--by\) must be 1 to 200 printable"):
            visibility.set_hidden(ops, SUBSCRIPTION, True, "ops\u200b", "customer asked")
        visibility.set_hidden(ops, SUBSCRIPTION, True, "ops", "customer asked")
    with psycopg.connect(pg_dsn) as owner:
        assert owner.execute(
            "SELECT action, changed_by, reason, changed_by_login FROM platform.subscription_visibility_changes"
        ).fetchall() == [("hidden", "ops", "customer asked", login_name)]


def test_the_cli_resolves_and_hides_to_completion_as_the_least_privileged_logins(as_role, login):
    resolved = run_cli("review", "resolve", ACME, "org-acme", "--by", "jane.doe", dsn=login("support_agent"))
    assert (resolved.returncode, resolved.stderr) == (0, "")
    assert resolved.stdout.startswith(
        f"resolved: Sophos customer {ACME} -> organization org-acme (ACME GmbH, seller seller-north), by jane.doe."
    )

    hidden = run_cli(
        "subscriptions",
        "hide",
        SUBSCRIPTION,
        "--by",
        "ops",
        "--reason",
        "customer asked",
        dsn=login("distributor_admin"),
    )
    assert (hidden.returncode, hidden.stderr) == (0, "")
    assert hidden.stdout.startswith(f"hidden: subscription {SUBSCRIPTION} no longer shows")

    refused = run_cli("review", "resolve", ACME, "org-acme", "--by", "jane.doe", dsn=login("distributor_admin"))
    assert refused.returncode == 1
    assert "only Support may resolve customers" in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.parametrize("role", ["support_agent", "distributor_admin", "finance_reader"])
def test_migrations_refuse_to_adopt_an_existing_role_with_other_powers(pg_server_dsn, empty_pg_dsn, role):
    """Roles are cluster-wide: one of the same name made by someone else (here LOGIN CREATEDB) would receive
    every grant of the migrations."""
    with psycopg.connect(pg_server_dsn, autocommit=True) as admin:
        admin.execute(pgsql.SQL("ALTER ROLE {} LOGIN CREATEDB").format(pgsql.Identifier(role)))
        try:
            with psycopg.connect(empty_pg_dsn) as conn:
                with pytest.raises(
                    psycopg.errors.RaiseException, match=f"role {role} already exists with LOGIN, CREATEDB"
                ) as refused:
                    migrations.migrate(conn)
                assert "ALTER ROLE" in refused.value.diag.message_hint
                conn.rollback()
                assert conn.execute("SELECT to_regclass('sophos.schema_migrations')").fetchone() == (None,)
        finally:
            admin.execute(pgsql.SQL("ALTER ROLE {} NOLOGIN NOCREATEDB").format(pgsql.Identifier(role)))


def test_the_compose_owner_migrates_and_owns_every_security_definer_function(pg_server_dsn):
    """docker/warehouse-init.sh run as the warehouse's superuser, then the migrations as the login it made: the
    functions Support and the Distributor Admin call run with a non-superuser's rights."""
    server = psycopg.conninfo.conninfo_to_dict(pg_server_dsn)
    database, owner, password = f"w_{uuid.uuid4().hex[:10]}", f"owner_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with psycopg.connect(pg_server_dsn, autocommit=True) as admin:
        admin.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(database)))
    try:
        env = {
            **os.environ,
            "PGHOST": server["host"],
            "PGPORT": str(server["port"]),
            "PGPASSWORD": server["password"],
            "POSTGRES_USER": server["user"],
            "POSTGRES_DB": database,
            "SOPHOS_OWNER_USER": owner,
            "SOPHOS_OWNER_PASSWORD": password,
        }
        done = subprocess.run(
            ["bash", str(ROOT / "docker" / "warehouse-init.sh")], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        as_owner = dsn_with(pg_server_dsn, dbname=database, user=owner, password=password)
        with psycopg.connect(as_owner) as conn:
            assert "0007_least_privilege" in migrations.migrate(conn)
            owners = conn.execute(
                "SELECT p.oid::regprocedure::text, r.rolname, r.rolsuper FROM pg_proc p "
                "JOIN pg_roles r ON r.oid = p.proowner WHERE p.prosecdef ORDER BY 1"
            ).fetchall()
        assert owners == [
            ("platform.set_subscription_hidden(uuid,boolean,text,text)", owner, False),
            ("review.resolve_customer(uuid,text,text,boolean)", owner, False),
        ]
    finally:
        with psycopg.connect(pg_server_dsn, autocommit=True) as admin:
            admin.execute(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(database)))
            admin.execute(pgsql.SQL("DROP ROLE IF EXISTS {}").format(pgsql.Identifier(owner)))

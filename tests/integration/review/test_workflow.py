"""Mapping and Support's review workflow against the real PostgreSQL: stage tables in, decisions,
review rows, mappings and their history out."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import psycopg
import pytest

from sophos_sync.mapping import customers
from sophos_sync.review import workflow
from sophos_sync.review.workflow import ReviewError
from tests.rows import (
    customer_mapping,
    open_run,
    organization,
    platform,
    stage_billing_line,
    stage_license,
    stage_tenant,
)

PARTNER_A = "aaaaaaaa-0000-4000-8000-000000000001"
PARTNER_B = "bbbbbbbb-0000-4000-8000-000000000002"
PARTNER_UNKNOWN = "99999999-0000-4000-8000-000000000009"
OCTOBER = date(2026, 10, 1)
SEPTEMBER = date(2026, 9, 1)


def customer_id() -> str:
    return str(uuid.uuid4())


def seed_platform(conn) -> None:
    platform(
        conn,
        [("seller-a", "Seller A", PARTNER_A), ("seller-b", "Seller B", PARTNER_B)],
        [
            ("org-a-baker", "seller-a", "Backerei Muller"),
            ("org-a-twin1", "seller-a", "Twin Corp"),
            ("org-a-twin2", "seller-a", "TWIN Corporation"),
            ("org-a-alpine", "seller-a", "Alpine Ski School"),
            ("org-a-harbour", "seller-a", "Harbour Logistics Ltd"),
            ("org-b-baker", "seller-b", "Bäckerei Müller AG"),
            ("org-b-delta", "seller-b", "Delta Dental"),
        ],
    )


def add_tenant(conn, run: int, cid: str, name: str, partner: str | None = PARTNER_A, show_as: str | None = None):
    stage_tenant(conn, run, cid, name, partner, show_as=show_as if show_as is not None else name)


def add_licenses(conn, run: int, cid: str, count: int) -> None:
    for _ in range(count):
        stage_license(conn, run, str(uuid.uuid4()), cid, product_code="CIXA", type="term", quantity=10)


def add_billing_line(conn, run: int, cid: str | None, unit_price: str, quantity: int, currency: str = "EUR") -> None:
    stage_billing_line(
        conn,
        run,
        uuid.uuid4().hex,
        cid,
        sku="SKU1",
        unit_price=Decimal(unit_price),
        billable_quantity=quantity,
        currency=currency,
    )


def add_mapping(conn, cid: str, org: str, method: str = "manual", by: str = "alice") -> None:
    customer_mapping(conn, cid, org, method, by)


def decisions(conn, run: int) -> dict[str, dict]:
    rows = conn.execute(
        "SELECT sophos_customer_id::text, outcome, platform_org_id, reason, seller_id, candidates "
        "FROM sophos.stage_customer_decisions WHERE sync_run_id = %s",
        (run,),
    ).fetchall()
    return {r[0]: {"outcome": r[1], "org": r[2], "reason": r[3], "seller": r[4], "candidates": r[5]} for r in rows}


def review_row(conn, cid: str) -> dict | None:
    row = conn.execute(
        "SELECT customer_name, reason, status, resolved_org_id, resolved_by, resolved_at, subscription_count, "
        "billed_amount, currency, first_seen_at, last_seen_at, candidates, seller_id "
        "FROM review.unmapped_customers WHERE sophos_customer_id = %s",
        (cid,),
    ).fetchone()
    keys = (
        "name",
        "reason",
        "status",
        "resolved_org_id",
        "resolved_by",
        "resolved_at",
        "subscription_count",
        "billed_amount",
        "currency",
        "first_seen_at",
        "last_seen_at",
        "candidates",
        "seller_id",
    )
    return dict(zip(keys, row, strict=True)) if row else None


def mapping_of(conn, cid: str) -> tuple | None:
    return conn.execute(
        "SELECT platform_org_id, method, mapped_by FROM sophos.customer_mappings WHERE sophos_customer_id = %s",
        (cid,),
    ).fetchone()


def changes(conn, cid: str) -> list[tuple]:
    return conn.execute(
        "SELECT event, previous_org_id, platform_org_id, changed_by FROM review.mapping_changes "
        "WHERE sophos_customer_id = %s ORDER BY change_id",
        (cid,),
    ).fetchall()


@pytest.fixture
def conn(db_conn):
    seed_platform(db_conn)
    return db_conn


# --- map_customers: the seed's mapping table, row by row -------------------------------------------------


def test_every_row_of_the_mapping_table_and_every_reason(conn):
    run = open_run(conn, OCTOBER)
    already, auto, no_match, ambiguous, unknown, moved = (customer_id() for _ in range(6))
    add_tenant(conn, run, already, "Delta Dental", partner=PARTNER_A)  # name would not match its org
    add_mapping(conn, already, "org-a-harbour")
    add_tenant(conn, run, auto, "BÄCKEREI MÜLLER G.m.b.H.")
    add_tenant(conn, run, no_match, "Alpine Skiing")
    add_tenant(conn, run, ambiguous, "Twin Inc.")
    add_tenant(conn, run, unknown, "Backerei Muller", partner=PARTNER_UNKNOWN)
    add_tenant(conn, run, moved, "Delta Dental", partner=PARTNER_A)  # seller A's customer now
    add_mapping(conn, moved, "org-b-delta")

    counts = customers.map_customers(conn, run)

    assert counts == {
        "mapped": 1,
        "auto_matched": 1,
        "unmapped": 4,
        "no_match": 1,
        "ambiguous": 1,
        "unknown_seller": 1,
        "seller_changed": 1,
    }
    got = decisions(conn, run)
    assert (got[already]["outcome"], got[already]["org"]) == ("mapped", "org-a-harbour")
    assert (got[moved]["outcome"], got[moved]["reason"], got[moved]["seller"]) == (
        "unmapped",
        "seller_changed",
        "seller-a",
    )
    assert (got[auto]["outcome"], got[auto]["org"], got[auto]["seller"]) == ("auto_matched", "org-a-baker", "seller-a")
    assert (got[no_match]["outcome"], got[no_match]["reason"]) == ("unmapped", "no_match")
    assert got[no_match]["candidates"][0]["org_id"] == "org-a-alpine"
    assert (got[ambiguous]["reason"], {c["org_id"] for c in got[ambiguous]["candidates"][:2]}) == (
        "ambiguous",
        {"org-a-twin1", "org-a-twin2"},
    )
    assert (got[unknown]["reason"], got[unknown]["seller"], got[unknown]["candidates"]) == (
        "unknown_seller",
        None,
        [],
    )


def test_candidates_come_only_from_the_customers_seller(conn):
    run = open_run(conn, OCTOBER)
    cid = customer_id()
    add_tenant(conn, run, cid, "Baeckerei Mueller", partner=PARTNER_B)  # seller A has an equally similar org
    customers.map_customers(conn, run)
    decision = decisions(conn, run)[cid]
    assert decision["reason"] == "no_match"
    assert [c["org_id"] for c in decision["candidates"]] == ["org-b-baker"]


def test_rerun_of_mapping_replaces_the_runs_decisions(conn):
    run = open_run(conn, OCTOBER)
    cid = customer_id()
    add_tenant(conn, run, cid, "Alpine Skiing")
    assert customers.map_customers(conn, run)["no_match"] == 1
    add_mapping(conn, cid, "org-a-alpine")

    counts = customers.map_customers(conn, run)

    assert (counts["mapped"], counts["unmapped"]) == (1, 0)
    assert decisions(conn, run) == {
        cid: {"outcome": "mapped", "org": "org-a-alpine", "reason": None, "seller": "seller-a", "candidates": []}
    }


def test_manual_mapping_is_never_overwritten_by_automation(conn):
    run = open_run(conn, OCTOBER)
    cid = customer_id()
    add_tenant(conn, run, cid, "Backerei Muller")  # would auto-match org-a-baker
    add_mapping(conn, cid, "org-a-alpine", by="support.bob")

    customers.map_customers(conn, run)
    workflow.record_unmapped_customers(conn, run, OCTOBER)
    workflow.close_resolved(conn, run)

    assert decisions(conn, run)[cid]["outcome"] == "mapped"
    assert decisions(conn, run)[cid]["org"] == "org-a-alpine"
    assert mapping_of(conn, cid) == ("org-a-alpine", "manual", "support.bob")


def test_no_tenants_writes_no_decisions(conn):
    run = open_run(conn, OCTOBER)
    assert customers.map_customers(conn, run) == dict.fromkeys(
        ("mapped", "auto_matched", "unmapped", "no_match", "ambiguous", "unknown_seller", "seller_changed"), 0
    )
    assert decisions(conn, run) == {}


# --- record_unmapped_customers --------------------------------------------------------------------------


def test_unmapped_customer_is_recorded_with_its_figures_in_its_main_currency(conn):
    run = open_run(conn, OCTOBER)
    cid, other = customer_id(), customer_id()
    add_tenant(conn, run, cid, "Alpine Skiing")
    add_tenant(conn, run, other, "Backerei Muller")  # auto-matched: not recorded
    add_licenses(conn, run, cid, 3)
    add_licenses(conn, run, other, 2)
    add_billing_line(conn, run, cid, "1.40", 10)
    add_billing_line(conn, run, cid, "2.05", 4)
    add_billing_line(conn, run, cid, "100.00", 1, currency="USD")  # fewer lines: not the main currency
    add_billing_line(conn, run, other, "9.99", 1)
    customers.map_customers(conn, run)

    counts = workflow.record_unmapped_customers(conn, run, OCTOBER)

    assert counts == {"inserted": 1, "updated": 0, "reopened": 0}
    row = review_row(conn, cid)
    assert (row["name"], row["reason"], row["status"], row["seller_id"]) == (
        "Alpine Skiing",
        "no_match",
        "open",
        "seller-a",
    )
    assert (row["subscription_count"], row["billed_amount"], row["currency"]) == (3, Decimal("22.2000"), "EUR")
    assert row["candidates"][0]["org_id"] == "org-a-alpine"
    assert review_row(conn, other) is None


def test_unmapped_customer_without_lines_or_licenses_has_zero_subscriptions_and_no_amount(conn):
    run = open_run(conn, OCTOBER)
    cid = customer_id()
    add_tenant(conn, run, cid, "Backerei Muller", partner=PARTNER_UNKNOWN)
    customers.map_customers(conn, run)
    workflow.record_unmapped_customers(conn, run, OCTOBER)
    row = review_row(conn, cid)
    assert (row["reason"], row["subscription_count"], row["billed_amount"], row["currency"]) == (
        "unknown_seller",
        0,
        None,
        None,
    )


def test_next_run_updates_the_row_keeping_first_seen(conn):
    first = open_run(conn, OCTOBER)
    cid = customer_id()
    add_tenant(conn, first, cid, "Alpine Skiing", partner=PARTNER_UNKNOWN)
    add_billing_line(conn, first, cid, "1.00", 5)
    customers.map_customers(conn, first)
    workflow.record_unmapped_customers(conn, first, SEPTEMBER)
    conn.commit()  # the next run is a later transaction: now() moves on
    before = review_row(conn, cid)

    second = open_run(conn, OCTOBER)
    add_tenant(conn, second, cid, "Alpine Skiing")  # the seller is known now: the reason changes
    add_billing_line(conn, second, cid, "1.00", 7)
    customers.map_customers(conn, second)
    counts = workflow.record_unmapped_customers(conn, second, OCTOBER)

    after = review_row(conn, cid)
    assert counts == {"inserted": 0, "updated": 1, "reopened": 0}
    assert after["first_seen_at"] == before["first_seen_at"]
    assert after["last_seen_at"] > before["last_seen_at"]
    assert (after["reason"], after["billed_amount"], after["seller_id"]) == ("no_match", Decimal("7.0000"), "seller-a")
    assert conn.execute("SELECT count(*) FROM review.unmapped_customers").fetchone()[0] == 1


def test_backfill_of_an_older_month_keeps_the_newer_months_figures(conn):
    october = open_run(conn, OCTOBER)
    cid = customer_id()
    add_tenant(conn, october, cid, "Alpine Skiing")
    add_billing_line(conn, october, cid, "10.00", 3)
    customers.map_customers(conn, october)
    workflow.record_unmapped_customers(conn, october, OCTOBER)

    september = open_run(conn, SEPTEMBER)
    add_tenant(conn, september, cid, "Alpine Skiing")
    add_billing_line(conn, september, cid, "1.00", 1, currency="GBP")
    customers.map_customers(conn, september)
    workflow.record_unmapped_customers(conn, september, SEPTEMBER)

    row = review_row(conn, cid)
    assert (row["billed_amount"], row["currency"]) == (Decimal("30.0000"), "EUR")


def test_name_containing_sql_is_stored_verbatim_and_nothing_is_executed(conn):
    run = open_run(conn, OCTOBER)
    cid = customer_id()
    evil = "Robert'); DROP TABLE sophos.customer_mappings; --\" $$ \\x"
    add_tenant(conn, run, cid, evil)
    customers.map_customers(conn, run)
    workflow.record_unmapped_customers(conn, run, OCTOBER)

    assert review_row(conn, cid)["name"] == evil
    assert conn.execute("SELECT to_regclass('sophos.customer_mappings') IS NOT NULL").fetchone()[0]
    assert workflow.list_open(conn)[0]["customer_name"] == evil


def test_decision_made_stale_by_a_mapping_is_not_recorded(conn):
    run = open_run(conn, OCTOBER)
    cid = customer_id()
    add_tenant(conn, run, cid, "Alpine Skiing")
    customers.map_customers(conn, run)
    add_mapping(conn, cid, "org-a-alpine")  # Support resolved between mapping and recording
    assert workflow.record_unmapped_customers(conn, run, OCTOBER)["inserted"] == 0
    assert review_row(conn, cid) is None


# --- close_resolved -------------------------------------------------------------------------------------


def test_customer_auto_matched_later_is_resolved_by_auto_match_and_its_row_stays(conn):
    first = open_run(conn, OCTOBER)
    cid = customer_id()
    add_tenant(conn, first, cid, "Echo Foods GmbH")
    customers.map_customers(conn, first)
    workflow.record_unmapped_customers(conn, first, SEPTEMBER)
    organization(conn, "org-a-echo", "seller-a", "Echo Foods")

    second = open_run(conn, OCTOBER)
    add_tenant(conn, second, cid, "Echo Foods GmbH")
    assert customers.map_customers(conn, second)["auto_matched"] == 1
    assert workflow.close_resolved(conn, second) == 1

    row = review_row(conn, cid)
    assert (row["status"], row["resolved_org_id"], row["resolved_by"]) == ("resolved", "org-a-echo", "auto-match")
    assert row["resolved_at"] is not None and row["reason"] == "no_match"
    assert changes(conn, cid) == [("auto_resolved", None, "org-a-echo", "auto-match")]


def test_manual_mapping_made_outside_review_closes_the_row_with_its_mapper(conn):
    run = open_run(conn, OCTOBER)
    cid = customer_id()
    add_tenant(conn, run, cid, "Alpine Skiing")
    customers.map_customers(conn, run)
    workflow.record_unmapped_customers(conn, run, OCTOBER)
    add_mapping(conn, cid, "org-a-alpine", by="carol")

    assert workflow.close_resolved(conn, run) == 1
    assert workflow.close_resolved(conn, run) == 0
    row = review_row(conn, cid)
    assert (row["status"], row["resolved_org_id"], row["resolved_by"]) == ("resolved", "org-a-alpine", "carol")


def test_resolved_customer_unmapped_again_is_reopened_with_history(conn):
    run = open_run(conn, OCTOBER)
    cid = customer_id()
    add_tenant(conn, run, cid, "Alpine Skiing")
    customers.map_customers(conn, run)
    workflow.record_unmapped_customers(conn, run, OCTOBER)
    workflow.resolve(conn, cid, "org-a-alpine", "dave")
    conn.execute("DELETE FROM sophos.customer_mappings WHERE sophos_customer_id = %s", (cid,))

    rerun = open_run(conn, OCTOBER)
    add_tenant(conn, rerun, cid, "Alpine Skiing")
    customers.map_customers(conn, rerun)
    counts = workflow.record_unmapped_customers(conn, rerun, OCTOBER)

    assert counts == {"inserted": 0, "updated": 1, "reopened": 1}
    row = review_row(conn, cid)
    assert (row["status"], row["resolved_org_id"], row["resolved_by"]) == ("open", None, None)
    assert [c[:3] for c in changes(conn, cid)] == [
        ("resolved", None, "org-a-alpine"),
        ("reopened", "org-a-alpine", None),
    ]


# --- list_open ------------------------------------------------------------------------------------------


def test_open_rows_are_listed_biggest_amount_first_with_candidates(conn):
    run = open_run(conn, OCTOBER)
    small, big, none, done = customer_id(), customer_id(), customer_id(), customer_id()
    for cid, name in ((small, "Alpine Skiing"), (big, "Harbor Logistic"), (none, "Twin Inc"), (done, "Zulu")):
        add_tenant(conn, run, cid, name)
    add_billing_line(conn, run, small, "5.00", 2)
    add_billing_line(conn, run, big, "500.00", 2)
    add_billing_line(conn, run, done, "9000.00", 2)
    customers.map_customers(conn, run)
    workflow.record_unmapped_customers(conn, run, OCTOBER)
    workflow.resolve(conn, done, "org-a-alpine", "erin")

    rows = workflow.list_open(conn)

    assert [r["sophos_customer_id"] for r in rows] == [big, small, none]
    assert rows[0]["candidates"][0]["org_id"] == "org-a-harbour"
    assert rows[0]["billed_amount"] == Decimal("1000.0000")
    assert [r["sophos_customer_id"] for r in workflow.list_open(conn, limit=1)] == [big]


# --- resolve (review.resolve_customer) ------------------------------------------------------------------


@pytest.fixture
def unmapped(conn) -> str:
    """A customer of seller A recorded as unmapped (no_match)."""
    run = open_run(conn, OCTOBER)
    cid = customer_id()
    add_tenant(conn, run, cid, "Alpine Skiing")
    add_licenses(conn, run, cid, 2)
    customers.map_customers(conn, run)
    workflow.record_unmapped_customers(conn, run, OCTOBER)
    conn.commit()
    return cid


def state(conn) -> tuple:
    return (
        conn.execute("SELECT * FROM sophos.customer_mappings ORDER BY 1").fetchall(),
        conn.execute("SELECT * FROM review.unmapped_customers ORDER BY 1").fetchall(),
        conn.execute("SELECT * FROM review.mapping_changes ORDER BY 1").fetchall(),
    )


def assert_refused(conn, expected_message: str, *args, **kwargs) -> str:
    before = state(conn)
    with pytest.raises(ReviewError) as refused:
        workflow.resolve(conn, *args, **kwargs)
    conn.rollback()
    assert expected_message in str(refused.value)
    assert "nothing was changed" in str(refused.value).lower()
    assert state(conn) == before
    return str(refused.value)


def test_resolve_maps_the_customer_manually_and_resolves_its_row(conn, unmapped):
    org = workflow.resolve(conn, unmapped, "org-a-alpine", "frank")
    assert org == {"org_id": "org-a-alpine", "seller_id": "seller-a", "name": "Alpine Ski School"}
    assert mapping_of(conn, unmapped) == ("org-a-alpine", "manual", "frank")
    row = review_row(conn, unmapped)
    assert (row["status"], row["resolved_org_id"], row["resolved_by"]) == ("resolved", "org-a-alpine", "frank")
    assert changes(conn, unmapped) == [("resolved", None, "org-a-alpine", "frank")]


def test_resolved_customer_is_mapped_on_the_next_run(conn, unmapped):
    workflow.resolve(conn, unmapped, "org-a-alpine", "frank")
    run = open_run(conn, OCTOBER)
    add_tenant(conn, run, unmapped, "Alpine Skiing")
    counts = customers.map_customers(conn, run)
    assert (counts["mapped"], counts["unmapped"]) == (1, 0)
    assert decisions(conn, run)[unmapped]["org"] == "org-a-alpine"
    assert workflow.close_resolved(conn, run) == 0
    assert review_row(conn, unmapped)["resolved_by"] == "frank"


def test_resolve_refuses_an_organization_of_another_seller(conn, unmapped):
    message = assert_refused(conn, "belongs to seller seller-b", unmapped, "org-b-delta", "gina")
    assert "Pick an organization of seller seller-a" in message


def test_resolve_refuses_an_unknown_customer_id(conn, unmapped):
    assert_refused(conn, "unknown Sophos customer id", customer_id(), "org-a-alpine", "gina")


def test_resolve_refuses_a_customer_id_that_is_not_a_uuid(conn, unmapped):
    assert_refused(conn, "is not a Sophos customer id", "'; DROP TABLE x; --", "org-a-alpine", "gina")


def test_resolve_refuses_an_unknown_organization(conn, unmapped):
    assert_refused(conn, "unknown organization org-nope", unmapped, "org-nope", "gina")


def test_resolve_refuses_without_a_name(conn, unmapped):
    assert_refused(conn, "must be given", unmapped, "org-a-alpine", "   ")


def test_resolve_refuses_a_customer_whose_seller_is_unknown(conn):
    run = open_run(conn, OCTOBER)
    cid = customer_id()
    add_tenant(conn, run, cid, "Backerei Muller", partner=PARTNER_UNKNOWN)
    customers.map_customers(conn, run)
    workflow.record_unmapped_customers(conn, run, OCTOBER)
    conn.commit()
    message = assert_refused(conn, f"Sophos partner {PARTNER_UNKNOWN}", cid, "org-a-baker", "gina")
    assert "Partner Tenant ID" in message


def test_resolve_refuses_a_customer_already_mapped_elsewhere(conn, unmapped):
    workflow.resolve(conn, unmapped, "org-a-alpine", "frank")
    conn.commit()
    message = assert_refused(conn, "already mapped to organization org-a-alpine", unmapped, "org-a-harbour", "gina")
    assert "--force" in message


def test_resolve_with_force_replaces_the_mapping_and_records_the_previous_one(conn, unmapped):
    workflow.resolve(conn, unmapped, "org-a-alpine", "frank")
    workflow.resolve(conn, unmapped, "org-a-harbour", "gina", force=True)
    assert mapping_of(conn, unmapped) == ("org-a-harbour", "manual", "gina")
    assert review_row(conn, unmapped)["resolved_org_id"] == "org-a-harbour"
    assert changes(conn, unmapped) == [
        ("resolved", None, "org-a-alpine", "frank"),
        ("remapped", "org-a-alpine", "org-a-harbour", "gina"),
    ]
    previous = conn.execute(
        "SELECT previous_method, previous_mapped_by FROM review.mapping_changes WHERE event = 'remapped'"
    ).fetchone()
    assert previous == ("manual", "frank")


def test_resolve_turns_an_auto_mapping_to_the_same_org_into_a_manual_one(conn):
    cid = customer_id()
    run = open_run(conn, OCTOBER)
    add_tenant(conn, run, cid, "Backerei Muller")
    conn.execute(
        "INSERT INTO sophos.customers (sophos_customer_id, name, partner_id, first_seen_at, last_seen_at) "
        "VALUES (%s, 'Backerei Muller', %s, now(), now())",
        (cid, PARTNER_A),
    )
    add_mapping(conn, cid, "org-a-baker", method="auto", by="auto-match")
    workflow.resolve(conn, cid, "org-a-baker", "hana")
    assert mapping_of(conn, cid) == ("org-a-baker", "manual", "hana")


# --- the function's privileges --------------------------------------------------------------------------


@pytest.fixture
def limited_role(conn):
    """A login-less role that may use the review schema and, once granted, the function: like support_agent."""
    name = f"test_support_{uuid.uuid4().hex[:8]}"
    conn.execute(f'CREATE ROLE "{name}" NOLOGIN')
    conn.execute(f'GRANT USAGE ON SCHEMA review TO "{name}"')
    conn.commit()
    yield name
    conn.rollback()
    conn.execute(f'DROP OWNED BY "{name}"')
    conn.execute(f'DROP ROLE "{name}"')
    conn.commit()


def test_function_is_not_executable_by_roles_not_granted_it(conn, unmapped, limited_role):
    conn.execute(f'SET ROLE "{limited_role}"')
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT review.resolve_customer(%s, 'org-a-alpine', 'ivan')", (unmapped,))


def test_role_granted_only_the_function_can_resolve_without_rights_on_sophos(conn, unmapped, limited_role):
    conn.execute(f'GRANT EXECUTE ON FUNCTION review.resolve_customer(uuid, text, text, boolean) TO "{limited_role}"')
    conn.commit()
    conn.execute(f'SET ROLE "{limited_role}"')
    conn.execute("SELECT review.resolve_customer(%s, 'org-a-alpine', 'ivan')", (unmapped,))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT count(*) FROM sophos.customer_mappings")
    conn.rollback()
    conn.execute("SELECT review.resolve_customer(%s, 'org-a-alpine', 'ivan')", (unmapped,))
    conn.execute("RESET ROLE")
    assert mapping_of(conn, unmapped) == ("org-a-alpine", "manual", "ivan")

"""validate() against the real PostgreSQL stage tables and the simulator's messy generated data."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from simulator import generator
from sophos_sync.entities import BY_NAME as ENTITIES
from sophos_sync.validation import stage
from sophos_sync.validation.judge import STAGE_COLUMNS, validate
from sophos_sync.validation.keys import line_key
from tests.unit.validation.test_contracts import billing_line, rows

ROOT = Path(__file__).resolve().parents[3]
STAGE_TABLES = {
    "tenant": "sophos.stage_tenants",
    "license": "sophos.stage_licenses",
    "billing_usage": "sophos.stage_billing_lines",
}
MONTHS = [f"2026-{m:02d}" for m in range(2, 13)]  # with seed 1, enough months to meet every defect kind
# What each of the generator's defect kinds must become.
EXPECTED_CHECK = {
    "duplicate_conflict": "conflicting_duplicate",
    "invalid_date": "iso_date",
    "non_numeric_price": "decimal_string",
    "missing_quantity": "required",
    "unknown_enum": "allowed_values",
}


def new_run(conn: psycopg.Connection) -> int:
    return conn.execute(
        "INSERT INTO sophos.sync_runs (dag_run_id, billing_month) VALUES ('test', '2026-10-01') RETURNING sync_run_id"
    ).fetchone()[0]


def test_stage_columns_are_the_stage_tables_columns_in_order(db_conn):
    for entity in ENTITIES:
        schema, table = STAGE_TABLES[entity].split(".")
        columns = [
            name
            for (name,) in db_conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
                "ORDER BY ordinal_position",
                (schema, table),
            )
        ]
        assert STAGE_COLUMNS[entity] == [c for c in columns if c != "sync_run_id"]


def test_ten_thousand_lines_of_ten_cents_sum_to_exactly_one_thousand(db_conn):
    items = [billing_line(orderNumber=f"SO{n:05d}", netPrice="0.10", billableQuantity=1) for n in range(10_000)]
    result = validate("billing_usage", rows(*items))
    assert len(result.valid) == 10_000
    run = new_run(db_conn)
    stage.write_stage(db_conn, run, result)
    (total,) = db_conn.execute(
        "SELECT sum(net_price) FROM sophos.stage_billing_lines WHERE sync_run_id = %s", (run,)
    ).fetchone()
    assert total == Decimal("1000.00") and str(total) == "1000.0000"


def test_rejected_rows_are_stored_with_their_raw_record(db_conn):
    bad = billing_line(orderNumber="X", partnerAccountName="N\x01" * 6_000, netPrice="1,40")
    result = validate("billing_usage", rows(billing_line(), bad, ("sophos_default", None, "{oops")))
    run = new_run(db_conn)
    stage.write_rejected(db_conn, run, result)
    stored = db_conn.execute(
        "SELECT check_name, column_name, failure_case, raw->>'netPrice', source_key FROM sophos.rejected_records "
        "WHERE sync_run_id = %s ORDER BY check_name",
        (run,),
    ).fetchall()
    assert [(c, col) for c, col, *_ in stored] == [
        ("decimal_string", "netPrice"),
        ("invalid_json", None),
        ("max_chars", "partnerAccountName"),
        ("no_control_characters", "partnerAccountName"),
    ]
    assert stored[0][2] == "1,40" and stored[0][3] == "1,40" and stored[0][4] == line_key(bad)
    assert len(stored[2][2]) == 201  # cut short; the raw record keeps the whole value


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict:
    """The small dataset exactly as `python -m simulator generate --scale small` writes it."""
    out = tmp_path_factory.mktemp("sim") / "small.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "simulator",
            "generate",
            "--scale",
            "small",
            "--seed",
            "1",
            "--months",
            ",".join(MONTHS),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return json.loads(out.read_text(encoding="utf-8"))


def landing(dataset: dict, entity: str, month: str = MONTHS[-1]) -> list[tuple[str, str | None, str]]:
    """The dataset as landing rows, one account per credential (what extract stores)."""
    out = []
    for n, partner in enumerate(dataset["partners"]):
        account = f"sophos_{n}"
        if entity == "tenant":
            out += [(account, None, json.dumps(t)) for t in partner["tenants"]]
        elif entity == "license":
            out += [(account, tid, json.dumps(item)) for tid, items in partner["licenses"].items() for item in items]
        else:
            out += [(account, None, json.dumps(item)) for item in partner["billing"][month]]
    return out


def test_generated_tenants_and_licenses_are_all_valid(generated, db_conn):
    run = new_run(db_conn)
    for entity in ("tenant", "license"):
        result = validate(entity, landing(generated, entity))
        assert result.received > 0 and result.rejected.empty and result.unknown_fields == []
        assert len(result.valid) == result.received
        stage.write_stage(db_conn, run, result)
    assert db_conn.execute(
        "SELECT count(*) FROM sophos.stage_licenses l JOIN sophos.stage_tenants t "
        "USING (sync_run_id, sophos_customer_id)"
    ).fetchone()[0] == sum(len(items) for p in generated["partners"] for items in p["licenses"].values())


@pytest.mark.parametrize("month", MONTHS)
def test_generated_billing_defects_land_as_rejected_rows(generated, db_conn, month):
    world = generator.build_world("small", 1)
    year, number = generator.parse_month(month)
    defects = [kind for p in world.partners for kind in world.billing(p.index, year, number).defects.values()]
    result = validate("billing_usage", landing(generated, "billing_usage", month))

    expected = Counter()
    for kind in defects:
        if kind in EXPECTED_CHECK:  # a conflicting copy also takes its original down with it
            expected[EXPECTED_CHECK[kind]] += 2 if kind == "duplicate_conflict" else 1
    assert result.rejected_by_check == dict(expected)
    assert result.collapsed_duplicates == defects.count("duplicate_identical")
    assert result.received == len(result.valid) + result.rejected_rows + result.collapsed_duplicates
    assert result.valid["sophos_customer_id"].isna().any(), "device lines without accountId stay valid"

    run = new_run(db_conn)
    stage.write_stage(db_conn, run, result)
    loaded, amount = db_conn.execute(
        "SELECT count(*), sum(unit_price * billable_quantity) FROM sophos.stage_billing_lines WHERE sync_run_id = %s",
        (run,),
    ).fetchone()
    assert loaded == len(result.valid)
    assert amount == sum(
        Decimal(p) * q for p, q in zip(result.valid["unit_price"], result.valid["billable_quantity"], strict=True)
    )


def test_generated_months_meet_every_defect_kind():
    world = generator.build_world("small", 1)
    kinds = {
        kind
        for month in MONTHS
        for p in world.partners
        for kind in world.billing(p.index, *generator.parse_month(month)).defects.values()
    }
    assert kinds == set(generator.DEFECT_KINDS)

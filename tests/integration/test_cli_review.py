"""`python -m sophos_sync migrate | review list | review resolve` end to end: a real subprocess, the DSN from
SOPHOS_SYNC_DB_DSN (or --dsn), a real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import psycopg
import pytest

from devtools.databases import dsn_with

pytestmark = pytest.mark.slow  # each test runs the CLI in a subprocess, an Airflow import apiece

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_cli(*args: str, dsn: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SOPHOS_SYNC_DB_DSN"}
    env["PYTHONPATH"] = os.path.join(ROOT, "plugins")
    if dsn:
        env["SOPHOS_SYNC_DB_DSN"] = dsn
    return subprocess.run(
        [sys.executable, "-m", "sophos_sync", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def mapping_of(dsn: str, cid: str):
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT platform_org_id, method, mapped_by FROM sophos.customer_mappings WHERE sophos_customer_id = %s",
            (cid,),
        ).fetchone()


def test_review_list_shows_open_rows_biggest_amount_first_with_candidates(pg_dsn, unmapped):
    result = run_cli("review", "list", dsn=pg_dsn)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.index(unmapped["big"]) < out.index(unmapped["small"]) < out.index(unmapped["ambiguous"])
    assert "1,400.00  EUR" in out
    big_block = out[out.index(unmapped["big"]) : out.index(unmapped["small"])]
    first_candidate = next(line for line in big_block.splitlines() if "candidate" in line)
    assert "org-a-harbour" in first_candidate and "Harbour Logistics Ltd" in first_candidate
    assert "ambiguous" in out and "no_match" in out
    assert "3 open" in out


def test_review_list_with_limit_and_explicit_dsn(pg_dsn, unmapped):
    result = run_cli("--dsn", pg_dsn, "review", "list", "--limit", "1")
    assert result.returncode == 0, result.stderr
    assert unmapped["big"] in result.stdout
    assert unmapped["small"] not in result.stdout


def test_review_resolve_maps_the_customer_and_closes_its_row(pg_dsn, unmapped):
    result = run_cli("review", "resolve", unmapped["small"], "org-a-alpine", "--by", "jane.doe", dsn=pg_dsn)
    assert result.returncode == 0, result.stderr
    assert "org-a-alpine (Alpine Ski School" in result.stdout
    assert mapping_of(pg_dsn, unmapped["small"]) == ("org-a-alpine", "manual", "jane.doe")
    listed = run_cli("review", "list", dsn=pg_dsn).stdout
    assert unmapped["small"] not in listed and "2 open" in listed


def test_review_resolve_refusal_exits_non_zero_with_the_reason_and_changes_nothing(pg_dsn, unmapped):
    result = run_cli("review", "resolve", unmapped["big"], "org-b-delta", "--by", "jane.doe", dsn=pg_dsn)
    assert result.returncode == 1
    assert "belongs to seller seller-b" in result.stderr
    assert "Traceback" not in result.stderr
    assert mapping_of(pg_dsn, unmapped["big"]) is None
    assert unmapped["big"] in run_cli("review", "list", dsn=pg_dsn).stdout


def test_review_resolve_refuses_an_unknown_id(pg_dsn, unmapped):
    result = run_cli("review", "resolve", str(uuid.uuid4()), "org-a-alpine", "--by", "jane.doe", dsn=pg_dsn)
    assert result.returncode == 1
    assert "unknown Sophos customer id" in result.stderr


def test_review_resolve_needs_force_to_replace_a_mapping(pg_dsn, unmapped):
    cid = unmapped["ambiguous"]
    assert run_cli("review", "resolve", cid, "org-a-twin1", "--by", "ann", dsn=pg_dsn).returncode == 0

    refused = run_cli("review", "resolve", cid, "org-a-twin2", "--by", "ben", dsn=pg_dsn)
    assert refused.returncode == 1
    assert "already mapped to organization org-a-twin1" in refused.stderr and "--force" in refused.stderr
    assert mapping_of(pg_dsn, cid) == ("org-a-twin1", "manual", "ann")

    forced = run_cli("review", "resolve", cid, "org-a-twin2", "--by", "ben", "--force", dsn=pg_dsn)
    assert forced.returncode == 0, forced.stderr
    assert mapping_of(pg_dsn, cid) == ("org-a-twin2", "manual", "ben")
    with psycopg.connect(pg_dsn) as conn:
        history = conn.execute(
            "SELECT event, previous_org_id, platform_org_id FROM review.mapping_changes "
            "WHERE sophos_customer_id = %s ORDER BY change_id",
            (cid,),
        ).fetchall()
    assert history == [("resolved", None, "org-a-twin1"), ("remapped", "org-a-twin1", "org-a-twin2")]


def test_review_resolve_requires_by(pg_dsn, unmapped):
    result = run_cli("review", "resolve", unmapped["small"], "org-a-alpine", dsn=pg_dsn)
    assert result.returncode == 2
    assert "--by" in result.stderr


def test_migrate_applies_the_migrations_then_reports_up_to_date(empty_pg_dsn):
    first = run_cli("migrate", dsn=empty_pg_dsn)
    assert first.returncode == 0, first.stderr
    assert "0001_core" in first.stdout and "0002_review" in first.stdout
    second = run_cli("migrate", dsn=empty_pg_dsn)
    assert (second.returncode, second.stdout.strip()) == (0, "schema is up to date")


def test_empty_work_list_says_so(pg_dsn):
    result = run_cli("review", "list", dsn=pg_dsn)
    assert (result.returncode, result.stdout.strip()) == (0, "No open unmapped customers.")


def test_unreachable_database_is_a_clear_error_without_the_password(pg_server_dsn):
    dsn = dsn_with(pg_server_dsn, port="1", password="s3cret-pw", connect_timeout="3")
    result = run_cli("review", "list", dsn=dsn)
    assert result.returncode == 1
    assert "cannot reach PostgreSQL" in result.stderr and "Traceback" not in result.stderr
    assert "s3cret-pw" not in result.stderr


def open_rows(dsn: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT sophos_customer_id, status, resolved_org_id FROM review.unmapped_customers ORDER BY 1"
        ).fetchall()


def assert_one_line_error(result: subprocess.CompletedProcess, code: int, says: str) -> None:
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_review_list_with_limit_says_how_many_are_open_in_all(pg_dsn, unmapped):
    result = run_cli("review", "list", "--limit", "2", dsn=pg_dsn)
    assert result.returncode == 0, result.stderr
    assert "showing 2 of 3 open;" in result.stdout


@pytest.mark.parametrize(
    ("limit", "says"), [("-1", "must be 1 or more, not -1"), ("0", "must be 1 or more, not 0"), ("x", "'x' is not")]
)
def test_a_limit_that_is_not_a_positive_number_is_refused_in_one_line(pg_dsn, unmapped, limit, says):
    before = open_rows(pg_dsn)
    assert_one_line_error(run_cli("review", "list", "--limit", limit, dsn=pg_dsn), 2, f"--limit: {says}")
    assert open_rows(pg_dsn) == before


@pytest.mark.parametrize("where", ["--dsn", "SOPHOS_SYNC_DB_DSN"])
def test_a_malformed_dsn_is_refused_in_one_line_without_quoting_it(pg_dsn, unmapped, where):
    before = open_rows(pg_dsn)
    command = ("review", "resolve", unmapped["small"], "org-a-alpine", "--by", "jane.doe")
    if where == "--dsn":
        result = run_cli("--dsn", "not a dsn s3cret-pw", *command)
    else:
        result = run_cli(*command, dsn="not a dsn s3cret-pw")
    assert_one_line_error(result, 1, "is not a PostgreSQL connection string")
    assert where in result.stderr and "s3cret-pw" not in result.stderr
    assert open_rows(pg_dsn) == before


def test_a_malformed_airflow_connection_is_not_a_connection_uri(pg_dsn, unmapped, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SOPHOS_DB", "garbage-s3cret-pw")
    before = open_rows(pg_dsn)
    result = run_cli("review", "resolve", unmapped["small"], "org-a-alpine", "--by", "jane.doe")
    assert_one_line_error(result, 1, "AIRFLOW_CONN_SOPHOS_DB is not a connection URI")
    assert "s3cret-pw" not in result.stderr
    assert open_rows(pg_dsn) == before
